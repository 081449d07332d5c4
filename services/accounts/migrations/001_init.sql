-- The accounts schema: accounts and what they hold, contact changes, upgrade links, the
-- risk-control catalog, card verifications and their escalations, and the audit of every change
-- (the outbox and the idempotency keys are the kit's tables: common/svc/migrations).
-- Times are BIGINT microseconds since the epoch, UTC (*_us); NULL = not happened. Enum-like
-- columns hold the short names of the contract's enum values ('PERSONAL', 'BANK_CARD').
-- Every text column is utf8mb4_nopad_bin (the tables' default): identifiers compare byte for
-- byte, 'acme' and 'acme ' are two tenants (tests/integration/test_accounts_schema.c checks it).

CREATE TABLE IF NOT EXISTS accounts (
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  region VARCHAR(2) NOT NULL,
  type VARCHAR(12) NOT NULL,
  real_name_verified TINYINT(1) NOT NULL DEFAULT 0,
  main_uid VARCHAR(128) NULL,
  bd_contact VARCHAR(128) NULL,
  partner_name VARCHAR(200) NOT NULL DEFAULT '',
  email VARCHAR(254) NOT NULL DEFAULT '',
  phone VARCHAR(16) NOT NULL DEFAULT '',
  enterprise_name VARCHAR(200) NOT NULL DEFAULT '',
  deleted_at_us BIGINT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, uid),
  KEY ix_accounts_main (tenant, main_uid),
  CONSTRAINT ck_accounts_type CHECK (type IN ('PERSONAL', 'ENTERPRISE')),
  CONSTRAINT ck_accounts_version CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Hosting services, domains, servers and VPS an account holds.
CREATE TABLE IF NOT EXISTS held_services (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  kind VARCHAR(8) NOT NULL,
  hosting_type VARCHAR(12) NULL,
  package VARCHAR(100) NOT NULL DEFAULT '',
  domain VARCHAR(253) NOT NULL DEFAULT '',
  hostname VARCHAR(253) NOT NULL DEFAULT '',
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_held_services_account (tenant, uid, id),
  KEY ix_held_services_domain (tenant, domain),
  KEY ix_held_services_hostname (tenant, hostname)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Cloud resources (a subscription ECS instance ...); released ones stay, with their time.
CREATE TABLE IF NOT EXISTS cloud_resources (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  resource_type VARCHAR(32) NOT NULL,
  resource_id VARCHAR(128) NOT NULL,
  billing VARCHAR(16) NOT NULL,
  expire_at_us BIGINT NULL,
  released_at_us BIGINT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_cloud_resources_id (tenant, resource_id),
  KEY ix_cloud_resources_account (tenant, uid, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Bills; settled_at_us NULL while unsettled.
CREATE TABLE IF NOT EXISTS bills (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  description VARCHAR(200) NOT NULL,
  amount_minor BIGINT NOT NULL,
  currency VARCHAR(3) NOT NULL,
  settled_at_us BIGINT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_bills_account (tenant, uid, id),
  CONSTRAINT ck_bills_amount CHECK (amount_minor > 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Payment methods bound to an account.
CREATE TABLE IF NOT EXISTS payment_methods (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  type VARCHAR(16) NOT NULL,
  label VARCHAR(254) NOT NULL DEFAULT '',
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_payment_methods_account (tenant, uid, id),
  CONSTRAINT ck_payment_methods_type CHECK (type <> 'PAYTM')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The verification charge of a bound card: one per BANK_CARD payment method.
CREATE TABLE IF NOT EXISTS card_verifications (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  payment_method_id BIGINT NOT NULL,
  amount_minor BIGINT NOT NULL,
  currency VARCHAR(3) NOT NULL,
  bound_at_us BIGINT NOT NULL,
  refund_due_at_us BIGINT NOT NULL,
  refunded_at_us BIGINT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_card_verifications_method (tenant, payment_method_id),
  KEY ix_card_verifications_account (tenant, uid, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The escalation of an overdue refund to the routing service: one per card verification (the
-- unique key is what makes asking twice escalate once). state REQUESTED until routing accepted
-- it (routing_escalation_id), then SENT.
CREATE TABLE IF NOT EXISTS refund_escalations (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  verification_id BIGINT NOT NULL,
  uid VARCHAR(128) NOT NULL,
  idem_key VARCHAR(128) NOT NULL,
  department VARCHAR(64) NOT NULL,
  state VARCHAR(12) NOT NULL,
  routing_escalation_id BIGINT NULL,
  attempts INT NOT NULL DEFAULT 0,
  last_error VARCHAR(500) NOT NULL DEFAULT '',
  requested_by VARCHAR(128) NOT NULL,
  requested_at_us BIGINT NOT NULL,
  sent_at_us BIGINT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_refund_escalations_verification (tenant, verification_id),
  UNIQUE KEY uq_refund_escalations_key (tenant, idem_key),
  KEY ix_refund_escalations_state (state, id),
  CONSTRAINT ck_refund_escalations_state CHECK (state IN ('REQUESTED', 'SENT'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Requests to change an account's email or phone; only an APPROVED one changed the account.
CREATE TABLE IF NOT EXISTS contact_changes (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  field VARCHAR(8) NOT NULL,
  old_value VARCHAR(254) NOT NULL DEFAULT '',
  new_value VARCHAR(254) NOT NULL,
  path VARCHAR(20) NOT NULL,
  status VARCHAR(10) NOT NULL,
  reason TEXT NOT NULL,
  ticket_id BIGINT NULL,
  requested_by VARCHAR(128) NOT NULL,
  bd_contact VARCHAR(128) NULL,
  endorsed_by VARCHAR(128) NULL,
  endorsement_note TEXT NULL,
  endorsed_at_us BIGINT NULL,
  decided_by VARCHAR(128) NULL,
  decision_note TEXT NULL,
  decided_at_us BIGINT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_contact_changes_account (tenant, uid, status, id),
  CONSTRAINT ck_contact_changes_status CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED')),
  CONSTRAINT ck_contact_changes_path CHECK (path IN ('INTERNAL_APPROVAL', 'PARTNER_APPROVAL'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Enterprise upgrade links. Only the token's SHA-256 is kept: the token itself is in the one
-- answer that made it. A link works while now < expires_at_us and it is neither used nor revoked
-- (a newer link revokes the older unused ones).
CREATE TABLE IF NOT EXISTS upgrade_links (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  token_sha256 CHAR(64) NOT NULL,
  expires_at_us BIGINT NOT NULL,
  used_at_us BIGINT NULL,
  revoked_at_us BIGINT NULL,
  created_by VARCHAR(128) NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_upgrade_links_token (token_sha256),
  KEY ix_upgrade_links_account (tenant, uid, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The risk-control catalog: tenant '' holds the seeded entries (002_risk_catalog), a tenant's
-- own row of the same code overrides it for that tenant.
CREATE TABLE IF NOT EXISTS risk_codes (
  tenant VARCHAR(64) NOT NULL,
  code VARCHAR(64) NOT NULL,
  meaning TEXT NOT NULL,
  handling TEXT NOT NULL,
  suggested_reply TEXT NOT NULL,
  updated_by VARCHAR(128) NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Risk-control codes active on an account (a cleared code's row is deleted, and audited).
CREATE TABLE IF NOT EXISTS account_risk_controls (
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL,
  code VARCHAR(64) NOT NULL,
  set_by VARCHAR(128) NOT NULL,
  set_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, uid, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Every change: who (and as which role), when, what (action, entity, its id), the values before
-- and after as JSON objects (NULL before a creation, after a removal). Append-only.
CREATE TABLE IF NOT EXISTS account_audit (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  uid VARCHAR(128) NOT NULL DEFAULT '',
  actor_id VARCHAR(128) NOT NULL,
  actor_role VARCHAR(32) NOT NULL,
  action VARCHAR(64) NOT NULL,
  entity VARCHAR(32) NOT NULL,
  entity_id VARCHAR(128) NOT NULL DEFAULT '',
  before_json TEXT NULL,
  after_json TEXT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_account_audit_account (tenant, uid, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
