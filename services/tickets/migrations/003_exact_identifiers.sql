-- Identifiers compare byte for byte. utf8mb4_bin (001) is a PAD SPACE collation: 'acme' and
-- 'acme ' are equal in comparisons, joins and unique keys, so a tenant, user id or key with a
-- trailing space would pass for another. utf8mb4_nopad_bin compares every byte. CONVERT TO turns
-- every text column of a table to it and makes it the table's default, so that a column added
-- later is exact too: prose and the hex digests as well (nothing compares prose, and one rule for
-- every column is one a test can check: tests/integration/test_tickets_isolation.c). A database
-- made by 001 and one upgraded from it end in the same schema. Each statement is a no-op when run
-- again; IF EXISTS because idempotency_keys moves to the kit's migrations.
ALTER TABLE IF EXISTS tickets CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS ticket_history CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS idempotency_keys CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS comments CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS internal_records CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS attachments CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS tasks CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS follows CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS urges CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS consents CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
ALTER TABLE IF EXISTS tenant_settings CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin;
