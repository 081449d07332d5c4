-- Idempotency keys (common/svc/idem.h): one row per (tenant, caller, key), written in the same
-- transaction as the result it names (a ticket, an escalation, an approval: result_id). A row
-- older than the key window counts as absent and is purged by created_at_us.
--
-- A tickets database from before the kit already has this table, with ticket_id for result_id:
-- the CREATE is then a no-op and the ALTER renames the column (keeping every row), so a fresh and
-- an upgraded database end in the same schema. On a fresh one the ALTER finds no ticket_id and
-- does nothing.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  tenant VARCHAR(64) NOT NULL,
  caller_id VARCHAR(128) NOT NULL,
  idem_key VARCHAR(128) NOT NULL,
  request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  result_id BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, caller_id, idem_key),
  KEY ix_idem_created (created_at_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE idempotency_keys CHANGE COLUMN IF EXISTS ticket_id result_id BIGINT NOT NULL;
