-- Slice 2 (queues and claims): the queue a ticket waits in, kept apart from its department,
-- since a claimed ticket keeps its department but waits in no queue, and a ticket whose lease
-- expired or was released waits again although the ticket service still names its last owner.
-- queue = '' while it waits in none. The queues in Redis are rebuilt from this column
-- (services/routing/queues.c), oldest first by (created_at_us, ticket_id).
ALTER TABLE routing_tickets
  ADD COLUMN IF NOT EXISTS queue VARCHAR(64) NOT NULL DEFAULT '' AFTER department,
  ADD KEY IF NOT EXISTS ix_routing_tickets_waiting (queue, tenant, created_at_us, ticket_id);
