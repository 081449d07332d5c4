-- The database's origin: a random name drawn once, when this database is first migrated, and kept
-- with its rows (a restored backup keeps it; a database created anew draws another). Event ids are
-- "<service>-<origin>-<outbox id>" (common/svc/outbox.c), so two databases that publish to one
-- stream, or a database recreated from nothing, never reuse an id a consumer has already applied.
-- INSERT IGNORE: run again, it keeps the first origin.
CREATE TABLE IF NOT EXISTS outbox_origin (
  id TINYINT UNSIGNED NOT NULL,
  origin CHAR(12) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
INSERT IGNORE INTO outbox_origin (id, origin)
  VALUES (1, LEFT(SHA2(CONCAT(UUID(), RAND(), CONNECTION_ID()), 256), 12));
