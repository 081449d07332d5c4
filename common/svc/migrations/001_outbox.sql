-- The kit's tables, applied in every service's database before the service's own migrations
-- (recorded in kit_schema_migrations).
--
-- Events written in the same transaction as the change, relayed to the service's Redis stream by
-- common/svc/outbox.c (aggregate_id is the changed entity's id: a ticket, an escalation...).
CREATE TABLE IF NOT EXISTS outbox (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  aggregate_id BIGINT NOT NULL,
  event_type VARCHAR(64) NOT NULL,
  payload TEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  published_at_us BIGINT NULL,
  PRIMARY KEY (id),
  KEY ix_outbox_unpublished (published_at_us, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
