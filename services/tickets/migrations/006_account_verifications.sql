-- VerifyTicketAccount: every answer of the accounts service about a ticket's customer account and
-- the service the ticket is about, yes or no, with who asked and when (account_verification.h).
-- The latest row of a ticket (highest id) opens or keeps closed the owner's replies other than
-- ACKNOWLEDGE. Rows are never changed; a new verification adds a row.
CREATE TABLE IF NOT EXISTS account_verifications (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  customer_id VARCHAR(128) NOT NULL,
  service_id BIGINT NOT NULL DEFAULT 0,
  domain VARCHAR(253) NOT NULL DEFAULT '',
  hostname VARCHAR(253) NOT NULL DEFAULT '',
  resource_id VARCHAR(128) NOT NULL DEFAULT '',
  verified TINYINT(1) NOT NULL,
  reason VARCHAR(48) NOT NULL,
  message VARCHAR(500) NOT NULL DEFAULT '',
  matched_service_id BIGINT NOT NULL DEFAULT 0,
  verified_by VARCHAR(128) NOT NULL,
  verified_by_role VARCHAR(16) NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_account_verifications_ticket (tenant, ticket_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The tenant's choice to let replies go out without a verification; 0 (the SOP's rule) for every
-- tenant, with or without a settings row.
ALTER TABLE tenant_settings
  ADD COLUMN IF NOT EXISTS account_verification_optional TINYINT(1) NOT NULL DEFAULT 0;
