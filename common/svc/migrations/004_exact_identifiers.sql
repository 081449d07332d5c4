-- The kit's tables compare identifiers byte for byte (tenants, consumer groups, event ids,
-- streams, idempotency keys): utf8mb4_bin, which 001 and 003 used, is PAD SPACE ('acme' equals
-- 'acme '), utf8mb4_nopad_bin is not. CONVERT TO turns every text column to it and makes it each
-- table's default, so that a column added later is exact too. IF EXISTS: idempotency_keys is
-- there only once 002 has been applied (or a service made it itself); every statement is a no-op
-- when run again.
ALTER TABLE IF EXISTS outbox CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS idempotency_keys CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS consumed_events CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS consumed_versions CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS consumer_groups CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
