-- The kpi schema: what the service keeps of every ticket and escalation (its facts, from the
-- ticket and routing event streams or RebuildFacts), the tenant's category weights, customer
-- satisfaction and the leads' individual scores. The kit's tables (consumed_events and the
-- like) come from common/svc/migrations, applied before this file.
-- Each fact table has an index by time (the team's month) and one by agent, then time (one
-- agent's months). Times are BIGINT microseconds since the epoch, UTC (*_us). Enum-like columns hold the short
-- names of the contract's values ('CLOSED', 'HARD', 'RESOLVED'; '' = none). Every text column
-- compares byte for byte (utf8mb4_nopad_bin, each table's default too).
--
-- Versions: events of one ticket may arrive out of order, and KPI facts are what happened, not
-- only the last state, so no event is skipped. Each column group is guarded by the version of
-- the event it came from: the state (status, owner, category, department) by state_version
-- (newest wins), the first response by first_response_version (oldest wins), the close that
-- stands by close_version (newest close wins); counted facts are ticket_marks rows keyed by the
-- event's version, so order does not matter and a replay cannot count twice. floor_version is
-- set by RebuildFacts: events at or below it are already in the rebuilt facts and are skipped.
-- A rebuild numbers the history's rows with negative seqs (below every event's version), and a
-- group without a value holds -9223372036854775807 (KPI_SEQ_NONE), below every seq.

CREATE TABLE IF NOT EXISTS ticket_facts (
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  customer_id VARCHAR(128) NOT NULL DEFAULT '',
  floor_version BIGINT NOT NULL DEFAULT 0,
  state_version BIGINT NOT NULL DEFAULT -9223372036854775807,
  status VARCHAR(32) NOT NULL DEFAULT '',
  owner_id VARCHAR(128) NOT NULL DEFAULT '',
  department VARCHAR(64) NOT NULL DEFAULT '',
  category VARCHAR(16) NOT NULL DEFAULT '',
  category_version BIGINT NOT NULL DEFAULT -9223372036854775807,
  category_by VARCHAR(128) NOT NULL DEFAULT '',
  category_at_us BIGINT NULL,
  created_at_us BIGINT NULL,
  first_response_version BIGINT NOT NULL DEFAULT -9223372036854775807,
  first_response_at_us BIGINT NULL,
  first_responder VARCHAR(128) NOT NULL DEFAULT '',
  close_version BIGINT NOT NULL DEFAULT -9223372036854775807,
  close_action VARCHAR(32) NOT NULL DEFAULT '',
  closed_at_us BIGINT NULL,
  closed_owner VARCHAR(128) NOT NULL DEFAULT '',
  -- When the ticket counts as resolved: CLOSED now, by a close (not a merge).
  resolved_at_us BIGINT AS (IF(status = 'CLOSED' AND close_action IN ('CLOSE', 'AUTO_CLOSE'),
                               closed_at_us, NULL)) STORED,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, ticket_id),
  KEY ix_ticket_facts_resolved (tenant, resolved_at_us, closed_owner),
  KEY ix_ticket_facts_first_response (tenant, first_response_at_us, first_responder),
  KEY ix_ticket_facts_owner_resolved (tenant, closed_owner, resolved_at_us),
  KEY ix_ticket_facts_responder (tenant, first_responder, first_response_at_us)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Counted facts of a ticket, one per event (seq = the event's version; negative for rows a
-- rebuild wrote from the history): RESPONSE (a staff message to the customer; agent = who sent
-- it), REOPEN (agent = the owner then), TRANSFER (agent = the owner it was taken from).
CREATE TABLE IF NOT EXISTS ticket_marks (
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  seq BIGINT NOT NULL,
  kind VARCHAR(16) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, ticket_id, seq, kind),
  KEY ix_ticket_marks_time (tenant, at_us, agent_id),
  KEY ix_ticket_marks_agent (tenant, agent_id, at_us),
  CONSTRAINT ck_ticket_marks_kind CHECK (kind IN ('RESPONSE', 'REOPEN', 'TRANSFER'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- Escalations as routing's events (or ListEscalations) told them. An escalation only moves
-- forward (OPEN, ACKNOWLEDGED, then RESOLVED or BOUNCED), so events apply in any order: the most
-- advanced status wins, and each time is the one its event gave. created_by is who escalated
-- ('' until the creation's event has arrived: such a row is not counted yet).
CREATE TABLE IF NOT EXISTS escalation_facts (
  tenant VARCHAR(64) NOT NULL,
  escalation_id BIGINT NOT NULL,
  ticket_id BIGINT NOT NULL DEFAULT 0,
  kind VARCHAR(16) NOT NULL DEFAULT '',
  status VARCHAR(16) NOT NULL,
  created_by VARCHAR(128) NOT NULL DEFAULT '',
  created_at_us BIGINT NULL,
  acknowledged_at_us BIGINT NULL,
  ended_at_us BIGINT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, escalation_id),
  KEY ix_escalation_facts_created (tenant, created_at_us, created_by),
  KEY ix_escalation_facts_creator (tenant, created_by, created_at_us),
  CONSTRAINT ck_escalation_facts_status
    CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED', 'BOUNCED'))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- A tenant's category weights (no row: the configured defaults, version 0).
CREATE TABLE IF NOT EXISTS category_weights (
  tenant VARCHAR(64) NOT NULL,
  lower_weight DOUBLE NOT NULL,
  medium_weight DOUBLE NOT NULL,
  hard_weight DOUBLE NOT NULL,
  uncategorised_weight DOUBLE NOT NULL,
  version BIGINT NOT NULL,
  updated_by VARCHAR(128) NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant),
  CONSTRAINT ck_category_weights_range CHECK (lower_weight BETWEEN 0 AND 100 AND
    medium_weight BETWEEN 0 AND 100 AND hard_weight BETWEEN 0 AND 100 AND
    uncategorised_weight BETWEEN 0 AND 100)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- One rating per ticket, credited to agent_id (the ticket's owner when it closed).
CREATE TABLE IF NOT EXISTS satisfaction (
  tenant VARCHAR(64) NOT NULL,
  ticket_id BIGINT NOT NULL,
  customer_id VARCHAR(128) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  score INT NOT NULL,
  comment TEXT NOT NULL,
  recorded_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, ticket_id),
  KEY ix_satisfaction_time (tenant, recorded_at_us, agent_id),
  KEY ix_satisfaction_agent (tenant, agent_id, recorded_at_us),
  CONSTRAINT ck_satisfaction_score CHECK (score BETWEEN 1 AND 5)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;

-- The five individual performance scores of an agent's month ("YYYY-MM").
CREATE TABLE IF NOT EXISTS individual_scores (
  tenant VARCHAR(64) NOT NULL,
  agent_id VARCHAR(128) NOT NULL,
  month VARCHAR(7) NOT NULL,
  personal_dynamic_index INT NOT NULL,
  performance_impact_service INT NOT NULL,
  adaptability INT NOT NULL,
  initiative INT NOT NULL,
  sop_compliance INT NOT NULL,
  comment TEXT NOT NULL,
  recorded_by VARCHAR(128) NOT NULL,
  version BIGINT NOT NULL,
  updated_at_us BIGINT NOT NULL,
  PRIMARY KEY (tenant, agent_id, month),
  KEY ix_individual_scores_month (tenant, month, agent_id),
  CONSTRAINT ck_individual_scores_range CHECK (personal_dynamic_index BETWEEN 0 AND 100 AND
    performance_impact_service BETWEEN 0 AND 100 AND adaptability BETWEEN 0 AND 100 AND
    initiative BETWEEN 0 AND 100 AND sop_compliance BETWEEN 0 AND 100)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin;
