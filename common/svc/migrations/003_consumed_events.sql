-- The event consumers' tables (common/svc/consumer.c), per consumer group, in the consuming
-- service's database.
--
-- The events a group has applied, written in the same transaction as the event's effect: a
-- second delivery finds its row and is acknowledged without being applied again. Rows older than
-- the consumer's retention (default 7 days) are deleted now and then.
CREATE TABLE IF NOT EXISTS consumed_events (
  consumer_group VARCHAR(200) NOT NULL,
  event_id VARCHAR(200) NOT NULL,
  stream VARCHAR(200) NOT NULL,
  entry_id VARCHAR(48) NOT NULL,
  applied_at_us BIGINT NOT NULL,
  PRIMARY KEY (consumer_group, event_id),
  KEY ix_consumed_events_applied (consumer_group, applied_at_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The highest version of each entity ("<stream>|<tenant>|<aggregate_id>") a group has applied:
-- an event whose version is not above it is older than what the group already has
-- (hd_consumer_version_newer). One row per entity, kept.
CREATE TABLE IF NOT EXISTS consumed_versions (
  consumer_group VARCHAR(200) NOT NULL,
  entity VARCHAR(300) NOT NULL,
  version BIGINT NOT NULL,
  event_id VARCHAR(200) NOT NULL,
  applied_at_us BIGINT NOT NULL,
  PRIMARY KEY (consumer_group, entity)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (group, stream) the service consumes: the highest stream entry id it has applied
-- in this epoch (high_ms-high_seq). A group missing from Redis while this row has a high mark,
-- or a group whose last-delivered id is below it, means Redis lost the stream: the consumer
-- runs the service's rebuild, starts a new epoch (epoch + 1, high mark 0-0) and makes the group
-- again from the stream's start, all under this row's lock.
CREATE TABLE IF NOT EXISTS consumer_groups (
  consumer_group VARCHAR(200) NOT NULL,
  stream VARCHAR(200) NOT NULL,
  epoch BIGINT NOT NULL,
  high_ms BIGINT NOT NULL,
  high_seq BIGINT NOT NULL,
  created_at_us BIGINT NOT NULL,
  rebuilt_at_us BIGINT NULL,
  PRIMARY KEY (consumer_group, stream)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
