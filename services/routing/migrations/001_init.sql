-- The routing schema: departments and routing rules (data), agents, what routing keeps of the
-- tickets (from the ticket events), claims and fences, escalations, customer estimates,
-- hand-overs, settings and an audit of every change. The outbox, idempotency keys and the
-- consumer's tables are the kit's (common/svc/migrations), applied before this file.
-- Times are BIGINT microseconds since the epoch, UTC (*_us); durations are seconds (*_s).
-- Enum-like columns hold the short names of the contract's enum values ('BILLING', 'OFF_DUTY').
-- Lists of enum names are comma-separated text ('PRICING,INVOICE'; '' = none).
-- Every text column compares byte for byte (utf8mb4_nopad_bin, the tables' default too).
-- tenant '' holds the built-in catalog every tenant shares; a tenant's row of the same name
-- replaces it for that tenant (services/routing/departments.c, routing_rules.c).

CREATE TABLE IF NOT EXISTS departments (
  tenant VARCHAR(64) NOT NULL,
  name VARCHAR(64) NOT NULL,
  level INT NOT NULL,
  response_window_s BIGINT NOT NULL,
  default_capacity INT NOT NULL,
  description VARCHAR(500) NOT NULL DEFAULT '',
  version BIGINT NOT NULL DEFAULT 1,
  updated_by VARCHAR(128) NOT NULL DEFAULT '',
  created_at_us BIGINT NOT NULL DEFAULT 0,
  updated_at_us BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, name),
  CONSTRAINT ck_departments_level CHECK (level BETWEEN 1 AND 9),
  CONSTRAINT ck_departments_window CHECK (response_window_s BETWEEN 60 AND 2592000),
  CONSTRAINT ck_departments_capacity CHECK (default_capacity BETWEEN 1 AND 1000),
  CONSTRAINT ck_departments_version CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

INSERT IGNORE INTO departments (tenant, name, level, response_window_s, default_capacity,
  description) VALUES
  ('', 'TECHNICAL', 1, 14400, 10, 'Level 1 technical support: the default team'),
  ('', 'ESCALATED', 2, 14400, 10, 'Level 2 support: tickets escalated from Level 1 with an internal note'),
  ('', 'BILLING', 1, 14400, 10, 'Billing team: pricing, invoices, payments, renewals, upgrades, refunds'),
  ('', 'RETENTION', 1, 14400, 10, 'Retention team: flagged with Billing on an imminent renewal or a dispute'),
  ('', 'CANCELLATION', 1, 14400, 10, 'The cancellation queue: subscription cancellations, at once'),
  ('', 'DOMAIN', 1, 14400, 10, 'Domain team: registrar errors'),
  ('', 'INFRASTRUCTURE', 1, 14400, 10, 'System administrators: server and VPS deployment, failed restores'),
  ('', 'ACCOUNT', 1, 14400, 10, 'Account team: login, contact details, verification'),
  ('', 'PAYMENT', 1, 14400, 10, 'Payment team: payment methods, card binding and verification');

-- Rules as data, tried by descending priority then name; the first enabled one that matches
-- decides (routing_rules.c). Built-in priorities stay within 0..1000.
CREATE TABLE IF NOT EXISTS routing_rules (
  tenant VARCHAR(64) NOT NULL,
  name VARCHAR(64) NOT NULL,
  priority INT NOT NULL,
  enabled TINYINT(1) NOT NULL DEFAULT 1,
  issue_types VARCHAR(400) NOT NULL DEFAULT '',
  service_types VARCHAR(400) NOT NULL DEFAULT '',
  all_facts VARCHAR(600) NOT NULL DEFAULT '',
  any_facts VARCHAR(600) NOT NULL DEFAULT '',
  none_facts VARCHAR(600) NOT NULL DEFAULT '',
  action VARCHAR(24) NOT NULL,
  department VARCHAR(64) NOT NULL DEFAULT '',
  urgent TINYINT(1) NOT NULL DEFAULT 0,
  flag_departments VARCHAR(600) NOT NULL DEFAULT '',
  customer_request VARCHAR(500) NOT NULL DEFAULT '',
  estimate_required TINYINT(1) NOT NULL DEFAULT 0,
  reason VARCHAR(500) NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  updated_by VARCHAR(128) NOT NULL DEFAULT '',
  created_at_us BIGINT NOT NULL DEFAULT 0,
  updated_at_us BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, name),
  KEY ix_routing_rules_order (tenant, priority, name),
  CONSTRAINT ck_routing_rules_priority CHECK (priority BETWEEN 0 AND 1000000),
  CONSTRAINT ck_routing_rules_action CHECK (action IN ('ROUTE', 'ASK_CUSTOMER_FIRST', 'RETURN_TO_CUSTOMER')),
  CONSTRAINT ck_routing_rules_version CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The SOP's defaults (seeds 002: 5.3 billing and cancellation, 6.3 restores; 000 answer 3 and
-- the account and payment teams).
INSERT IGNORE INTO routing_rules (tenant, name, priority, issue_types, service_types, all_facts,
  any_facts, none_facts, action, department, urgent, flag_departments, customer_request,
  estimate_required, reason) VALUES
  ('', 'cancellation', 900, '', '', '', 'CANCELLATION', '', 'ROUTE', 'CANCELLATION', 0, '', '', 0,
   'SOP 5.3.4: any inquiry about cancelling a subscription moves to the cancellation queue at once'),
  ('', 'cancellation-issue', 890, 'CANCELLATION', '', '', '', '', 'ROUTE', 'CANCELLATION', 0, '', '', 0,
   'SOP 5.3.4: a cancellation ticket moves to the cancellation queue at once'),
  ('', 'billing-urgent', 800, '', '', '', 'IMMINENT_RENEWAL,DISPUTE', '', 'ROUTE', 'BILLING', 1,
   'BILLING,RETENTION', '', 0,
   'SOP 5.3: an imminent renewal or a dispute is urgent: flag the Billing and Retention team'),
  ('', 'payment-error-ask-first', 750, '', '', 'PAYMENT_ERROR', '', 'ERROR_MESSAGE_GIVEN',
   'ASK_CUSTOMER_FIRST', 'BILLING', 0, '', 'the exact error message the customer sees when paying', 0,
   'SOP 5.3.2: when a client meets an error while paying, ask for the exact error message first, then pass the ticket to Billing'),
  ('', 'billing', 700, '', '', '',
   'PRICING,INVOICE,BILLING_SYSTEM_ERROR,DUE_DATE_EXTENSION,RENEWAL,REACTIVATION,SERVICE_UPGRADE,REFUND,PAYMENT_ERROR',
   '', 'ROUTE', 'BILLING', 0, '', '', 0,
   'SOP 5.3.2-5.3.9: pricing, invoices, billing system errors, due-date extensions, renewals and reactivations, upgrades and refunds go to Billing at once, without verification'),
  ('', 'billing-issue', 690, 'BILLING', '', '', '', '', 'ROUTE', 'BILLING', 0, '', '', 0,
   'SOP 5.3: billing tickets go to the Billing team'),
  ('', 'domain-incomplete-data', 600, '', '', '', 'INCOMPLETE_DOMAIN_DATA', '', 'RETURN_TO_CUSTOMER', '',
   0, '', 'the missing domain registration data', 0,
   'SOP 5.3.3 Domain: an error from incomplete information goes back to the customer to complete the data'),
  ('', 'domain-registrar-error', 590, '', '', '', 'REGISTRAR_ERROR', '', 'ROUTE', 'DOMAIN', 0, '', '', 0,
   'SOP 5.3.3 Domain: a registrar error is escalated to the Domain team'),
  ('', 'server-activation-no-hostname', 500, 'ACTIVATION', 'MANAGED,UNMANAGED,VPS', 'HOSTNAME_MISSING', '',
   '', 'ASK_CUSTOMER_FIRST', 'INFRASTRUCTURE', 0, '', 'confirmation of the server''s hostname (FQDN)', 1,
   'SOP 5.3.3 Server/VPS: without a hostname (FQDN) confirm with the customer, then escalate to the System Administrator (Infrastructure) team and give an activation time estimate'),
  ('', 'restore-failed', 490, '', '', '', 'RESTORE_FAILED', '', 'ROUTE', 'INFRASTRUCTURE', 0, '', '', 0,
   'SOP 6.3: an error during a restore is escalated to the System Administrator (Infrastructure) team'),
  ('', 'account', 400, 'ACCOUNT', '', '', '', '', 'ROUTE', 'ACCOUNT', 0, '', '', 0,
   'Hand-over (000, answer 3): account issues go to the account team'),
  ('', 'payment', 390, '', '', '', 'PAYMENT_METHOD', '', 'ROUTE', 'PAYMENT', 0, '', '', 0,
   'Hand-over (000, answer 3): payment-method issues go to the payment team'),
  ('', 'otherwise', 0, '', '', '', '', '', 'ROUTE', 'TECHNICAL', 0, '', '', 0,
   'SOP 1.3: everything else is handled by Level 1 technical support');

-- Agents: home department first (agent_departments.position 0), level, capacity (0 = the home
-- department's default), presence.
CREATE TABLE IF NOT EXISTS agents (
  tenant VARCHAR(64) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  display_name VARCHAR(100) NOT NULL DEFAULT '',
  level VARCHAR(4) NOT NULL,
  capacity INT NOT NULL DEFAULT 0,
  presence VARCHAR(12) NOT NULL DEFAULT 'OFF_DUTY',
  presence_at_us BIGINT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  updated_by VARCHAR(128) NOT NULL,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, agent_id),
  KEY ix_agents_presence (tenant, presence, agent_id),
  CONSTRAINT ck_agents_level CHECK (level IN ('L1', 'L2')),
  CONSTRAINT ck_agents_capacity CHECK (capacity BETWEEN 0 AND 1000),
  CONSTRAINT ck_agents_presence CHECK (presence IN ('AVAILABLE', 'AWAY', 'OFF_DUTY')),
  CONSTRAINT ck_agents_version CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS agent_departments (
  tenant VARCHAR(64) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  department VARCHAR(64) NOT NULL,
  position INT NOT NULL,
  PRIMARY KEY (tenant, agent_id, department),
  UNIQUE KEY uq_agent_departments_position (tenant, agent_id, position),
  KEY ix_agent_departments_department (tenant, department, agent_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- What routing keeps of each ticket, from the ticket events (the consumer, slice 2): enough for
-- the queues (unowned open tickets of a department, oldest first: rebuilt into Redis from here)
-- and agents' load (open tickets owned, by weight). version is the ticket's version last applied
-- (older events are skipped). queued_department is the queue it waits in ('' while it waits in
-- none: owned, closed, or back with the customer).
CREATE TABLE IF NOT EXISTS routing_tickets (
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  department VARCHAR(64) NOT NULL DEFAULT '',
  status VARCHAR(20) NOT NULL,
  owner_id VARCHAR(128) NOT NULL DEFAULT '',
  customer_id VARCHAR(128) NOT NULL DEFAULT '',
  issue_type VARCHAR(16) NOT NULL DEFAULT '',
  service_type VARCHAR(16) NOT NULL DEFAULT '',
  category VARCHAR(8) NOT NULL DEFAULT '',
  weight INT NOT NULL DEFAULT 1,
  level INT NOT NULL DEFAULT 1,
  created_at_us BIGINT NOT NULL,
  version BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (ticket_id),
  KEY ix_routing_tickets_queue (tenant, department, owner_id, status, created_at_us, ticket_id),
  KEY ix_routing_tickets_owner (tenant, owner_id, status, created_at_us, ticket_id),
  CONSTRAINT ck_routing_tickets_weight CHECK (weight >= 0),
  CONSTRAINT ck_routing_tickets_version CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The current claim of a ticket: its holder, fence and lease. The row goes when the claim ends
-- (released, expired: the timer on expires_at_us returns the ticket to its queue).
CREATE TABLE IF NOT EXISTS claims (
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  department VARCHAR(64) NOT NULL,
  fence BIGINT NOT NULL,
  idempotency_key VARCHAR(128) NOT NULL DEFAULT '',
  claimed_at_us BIGINT NOT NULL,
  expires_at_us BIGINT NULL,
  PRIMARY KEY (ticket_id),
  KEY ix_claims_agent (tenant, agent_id, ticket_id),
  KEY ix_claims_expiry (expires_at_us, ticket_id),
  CONSTRAINT ck_claims_fence CHECK (fence >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The highest fence issued per tenant: the floor Redis's counter is seeded from when it is
-- missing, so fences only grow, also after a wipe.
CREATE TABLE IF NOT EXISTS claim_fences (
  tenant VARCHAR(64) NOT NULL,
  highest_fence BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Escalations to departments and to Level 2. due_at_us: when an update is due (NULL once
-- resolved or bounced), the timer that marks it overdue.
CREATE TABLE IF NOT EXISTS escalations (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  kind VARCHAR(12) NOT NULL,
  mode VARCHAR(8) NOT NULL,
  from_department VARCHAR(64) NOT NULL DEFAULT '',
  to_department VARCHAR(64) NOT NULL,
  status VARCHAR(14) NOT NULL,
  product VARCHAR(100) NOT NULL DEFAULT '',
  brand VARCHAR(100) NOT NULL DEFAULT '',
  context MEDIUMTEXT NOT NULL,
  thread_link VARCHAR(500) NOT NULL DEFAULT '',
  created_by VARCHAR(128) NOT NULL,
  created_by_role VARCHAR(32) NOT NULL,
  response_window_s BIGINT NOT NULL,
  due_at_us BIGINT NULL,
  overdue TINYINT(1) NOT NULL DEFAULT 0,
  last_update_at_us BIGINT NOT NULL,
  acknowledged_by VARCHAR(128) NOT NULL DEFAULT '',
  acknowledged_at_us BIGINT NULL,
  resolved_by VARCHAR(128) NOT NULL DEFAULT '',
  resolution TEXT NULL,
  resolved_at_us BIGINT NULL,
  assign_comment_id BIGINT NOT NULL DEFAULT 0,
  resolve_comment_id BIGINT NOT NULL DEFAULT 0,
  internal_record_id BIGINT NOT NULL DEFAULT 0,
  version BIGINT NOT NULL DEFAULT 1,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_escalations_ticket (tenant, ticket_id, id),
  KEY ix_escalations_department (tenant, to_department, status, created_at_us, id),
  KEY ix_escalations_status (tenant, status, created_at_us, id),
  KEY ix_escalations_overdue (tenant, overdue, due_at_us, id),
  KEY ix_escalations_due (due_at_us, id),
  CONSTRAINT ck_escalations_kind CHECK (kind IN ('DEPARTMENT', 'LEVEL2')),
  CONSTRAINT ck_escalations_mode CHECK (mode IN ('ASSIGN', 'CONSULT')),
  CONSTRAINT ck_escalations_status CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED', 'BOUNCED')),
  CONSTRAINT ck_escalations_version CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The escalation time promised to the customer, one per ticket. due_at_us is the timer (the
-- estimate while PENDING, NULL after).
CREATE TABLE IF NOT EXISTS customer_estimates (
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  owner_id VARCHAR(128) NOT NULL DEFAULT '',
  estimate_at_us BIGINT NOT NULL,
  promise TEXT NOT NULL,
  status VARCHAR(8) NOT NULL,
  set_by VARCHAR(128) NOT NULL,
  due_at_us BIGINT NULL,
  due_since_us BIGINT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  created_at_us BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (ticket_id),
  KEY ix_customer_estimates_due_list (tenant, status, owner_id, estimate_at_us, ticket_id),
  KEY ix_customer_estimates_due (due_at_us, ticket_id),
  CONSTRAINT ck_customer_estimates_status CHECK (status IN ('PENDING', 'DUE', 'CLEARED')),
  CONSTRAINT ck_customer_estimates_version CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Shift hand-overs and their tickets.
CREATE TABLE IF NOT EXISTS hand_overs (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  handed_over_by VARCHAR(128) NOT NULL,
  ticket_count INT NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_hand_overs_agent (tenant, agent_id, created_at_us, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

CREATE TABLE IF NOT EXISTS hand_over_items (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  hand_over_id BIGINT NOT NULL,
  ticket_id BIGINT NOT NULL,
  from_agent_id VARCHAR(128) NOT NULL,
  department VARCHAR(64) NOT NULL,
  rule_name VARCHAR(64) NOT NULL,
  note MEDIUMTEXT NOT NULL,
  status_at_hand_over VARCHAR(20) NOT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_hand_over_items_hand_over (tenant, hand_over_id, ticket_id),
  KEY ix_hand_over_items_time (tenant, created_at_us, id),
  KEY ix_hand_over_items_department (tenant, department, created_at_us, id),
  KEY ix_hand_over_items_agent (tenant, from_agent_id, created_at_us, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- A tenant's routing settings (the customer-visible wording of escalations); no row = defaults.
CREATE TABLE IF NOT EXISTS routing_settings (
  tenant VARCHAR(64) NOT NULL,
  escalation_assigned_template TEXT NOT NULL,
  escalation_resolved_template TEXT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1,
  updated_by VARCHAR(128) NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Every change made through routing's RPCs: who, as which role, what (entity kind and key), the
-- values before and after (JSON; NULL for a creation). Append-only.
CREATE TABLE IF NOT EXISTS routing_audit (
  id BIGINT NOT NULL AUTO_INCREMENT,
  tenant VARCHAR(64) NOT NULL,
  actor_id VARCHAR(128) NOT NULL,
  actor_role VARCHAR(32) NOT NULL,
  action VARCHAR(64) NOT NULL,
  entity VARCHAR(32) NOT NULL,
  entity_key VARCHAR(200) NOT NULL,
  from_value MEDIUMTEXT NULL,
  to_value MEDIUMTEXT NULL,
  created_at_us BIGINT NOT NULL,
  PRIMARY KEY (id),
  KEY ix_routing_audit_entity (tenant, entity, entity_key, id),
  KEY ix_routing_audit_time (tenant, created_at_us, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
