-- The tickets schema: tickets and everything recorded on them (the outbox and the idempotency keys
-- are the kit's tables: common/svc/migrations).
-- Times are BIGINT microseconds since the epoch, UTC (*_us). Enum-like columns hold the short
-- names of the contract's enum values ('PENDING_RESPONSE', 'HARD'). utf8mb4_bin here, which is
-- case-sensitive but ignores trailing spaces; 003_exact_identifiers makes every column NO PAD.

CREATE TABLE IF NOT EXISTS tickets (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  customer_id VARCHAR(128) NOT NULL,
  subject VARCHAR(200) NOT NULL,
  title VARCHAR(255) NOT NULL,
  description MEDIUMTEXT NOT NULL,
  product VARCHAR(100) NOT NULL DEFAULT '',
  brand VARCHAR(100) NOT NULL DEFAULT '',
  service_type VARCHAR(16) NOT NULL,
  issue_type VARCHAR(16) NOT NULL,
  status VARCHAR(20) NOT NULL,
  suspended_from VARCHAR(20) NULL,
  owner_id VARCHAR(128) NULL,
  department VARCHAR(64) NULL,
  level INT NOT NULL DEFAULT 1,
  category VARCHAR(8) NULL,
  version BIGINT NOT NULL DEFAULT 1,
  fence BIGINT NOT NULL DEFAULT 0,
  follow_up_count INT NOT NULL DEFAULT 0,
  resolved TINYINT(1) NOT NULL DEFAULT 0,
  merged_into_id BIGINT NULL,
  timer_kind VARCHAR(12) NULL,
  timer_due_us BIGINT NULL,
  last_customer_reply_us BIGINT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  closed_at_us BIGINT NULL,
  PRIMARY KEY (id),
  KEY ix_tickets_tenant_created (tenant, created_at_us, id),
  KEY ix_tickets_status (tenant, status, created_at_us, id),
  KEY ix_tickets_owner (tenant, owner_id, created_at_us, id),
  KEY ix_tickets_customer (tenant, customer_id, created_at_us, id),
  KEY ix_tickets_department (tenant, department, created_at_us, id),
  KEY ix_tickets_merged_into (tenant, merged_into_id),
  KEY ix_tickets_timer (timer_due_us, id),
  CONSTRAINT ck_tickets_timer CHECK (timer_kind IS NULL OR timer_kind IN ('FOLLOW_UP', 'AUTO_CLOSE')),
  CONSTRAINT ck_tickets_timer_due CHECK ((timer_kind IS NULL) = (timer_due_us IS NULL)),
  CONSTRAINT ck_tickets_version CHECK (version >= 1),
  CONSTRAINT ck_tickets_level CHECK (level >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Every change of a ticket, one row per changed field (or per record added). Append-only: the
-- service never updates or deletes these rows.
CREATE TABLE IF NOT EXISTS ticket_history (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  actor_id VARCHAR(128) NOT NULL,
  actor_role VARCHAR(32) NOT NULL,
  action VARCHAR(64) NOT NULL,
  field VARCHAR(64) NOT NULL,
  from_value TEXT NULL,
  to_value TEXT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_history_ticket (tenant, ticket_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The conversation with the customer.
CREATE TABLE IF NOT EXISTS comments (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  author_id VARCHAR(128) NOT NULL,
  author_role VARCHAR(32) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_comments_ticket (tenant, ticket_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Notes for the team (owner and tenant admins only); up to 20,000 characters (80,000 bytes).
CREATE TABLE IF NOT EXISTS internal_records (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  author_id VARCHAR(128) NOT NULL,
  body MEDIUMTEXT NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_internal_records_ticket (tenant, ticket_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Files attached to a ticket, bytes included (5 MiB per ticket at most).
CREATE TABLE IF NOT EXISTS attachments (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  filename VARCHAR(255) NOT NULL,
  content_type VARCHAR(100) NOT NULL,
  size_bytes BIGINT NOT NULL,
  sha256 CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  data LONGBLOB NOT NULL,
  uploaded_by VARCHAR(128) NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_attachments_ticket (tenant, ticket_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Case tasks for department collaboration; each has its own version.
CREATE TABLE IF NOT EXISTS tasks (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  title VARCHAR(200) NOT NULL,
  department VARCHAR(64) NOT NULL,
  assignee_id VARCHAR(128) NULL,
  status VARCHAR(12) NOT NULL,
  due_time_us BIGINT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_by VARCHAR(128) NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_tasks_ticket (tenant, ticket_id, id),
  KEY ix_tasks_assignee (tenant, assignee_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Agents following a ticket.
CREATE TABLE IF NOT EXISTS follows (
  ticket_id BIGINT NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  tenant VARCHAR(64) NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (ticket_id, agent_id),
  KEY ix_follows_agent (tenant, agent_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Reminders to a ticket's owner (sent by email or SMS from the outbox event).
CREATE TABLE IF NOT EXISTS urges (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  channel VARCHAR(8) NOT NULL,
  recipient_id VARCHAR(128) NOT NULL,
  requested_by VARCHAR(128) NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_urges_ticket (tenant, ticket_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The customer's permissions before a change, a mailbox test or a restore (auditable).
CREATE TABLE IF NOT EXISTS consents (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  scope VARCHAR(16) NOT NULL,
  customer_words TEXT NOT NULL,
  recorded_by VARCHAR(128) NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_consents_ticket (tenant, ticket_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Per-tenant ticket settings (reminders, review link); a missing row means the defaults.
CREATE TABLE IF NOT EXISTS tenant_settings (
  tenant VARCHAR(64) NOT NULL,
  reminder_channel VARCHAR(8) NULL,
  reminder_target VARCHAR(200) NOT NULL DEFAULT '',
  review_link VARCHAR(500) NOT NULL DEFAULT '',
  updated_by VARCHAR(128) NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
