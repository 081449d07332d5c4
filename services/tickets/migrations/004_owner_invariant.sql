-- A worked status always has an owner (ticket_state.h: ticket_status_needs_owner). The store's
-- change pipeline refuses a change that would break it; this migration repairs rows written
-- before that rule (a lead's ACKNOWLEDGE on an unowned ticket left PROCESSING with no owner) and
-- makes the database refuse such a row too, whatever writes it.
--
-- Repair: each such ticket goes back to PENDING_RESPONSE (the new-ticket queue), its timer
-- stops, and its history says so (actor "system", action REPAIR_NO_OWNER). Re-runnable: a second
-- run finds no rows, and the constraint is added only when missing.
INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, from_value,
                            to_value, created_at_us)
SELECT tenant, id, 'system', 'system', 'REPAIR_NO_OWNER', 'status', status, 'PENDING_RESPONSE',
       CAST(UNIX_TIMESTAMP(UTC_TIMESTAMP(6)) * 1000000 AS SIGNED)
FROM tickets
WHERE (owner_id IS NULL OR owner_id = '')
  AND status IN ('PROCESSING', 'PENDING_FEEDBACK', 'FEEDBACK', 'TO_BE_CONFIRMED');

UPDATE tickets
SET status = 'PENDING_RESPONSE', timer_kind = NULL, timer_due_us = NULL, follow_up_count = 0,
    version = version + 1
WHERE (owner_id IS NULL OR owner_id = '')
  AND status IN ('PROCESSING', 'PENDING_FEEDBACK', 'FEEDBACK', 'TO_BE_CONFIRMED');

ALTER TABLE tickets ADD CONSTRAINT IF NOT EXISTS ck_tickets_worked_has_owner CHECK (
  status NOT IN ('PROCESSING', 'PENDING_FEEDBACK', 'FEEDBACK', 'TO_BE_CONFIRMED')
  OR (owner_id IS NOT NULL AND owner_id <> ''));
