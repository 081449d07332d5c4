-- The indexes the lists an agent works from need (ListTickets, ticket_query.c), each ending with
-- the listing's order so that a page is an ordered index range, never a sort of the table:
--   my open tickets: one range per status of an owner's tickets (owner_id NULL: unassigned);
--   updated_since:   the tenant's tickets by (update time, id), for portals that sync a copy;
--   followed:        the agent's follows in their tickets' creation order, which the follows
--                    row keeps a copy of (a ticket's creation time never changes; FollowTicket
--                    writes it), so the follows index alone gives the order and tickets are
--                    read by primary key.
ALTER TABLE tickets
  ADD INDEX IF NOT EXISTS ix_tickets_owner_status (tenant, owner_id, status, created_at_us, id),
  ADD INDEX IF NOT EXISTS ix_tickets_updated (tenant, updated_at_us, id);

ALTER TABLE follows
  ADD COLUMN IF NOT EXISTS ticket_created_at_us BIGINT NOT NULL DEFAULT 0,
  ADD INDEX IF NOT EXISTS ix_follows_agent_created (tenant, agent_id, ticket_created_at_us, ticket_id);
UPDATE follows f JOIN tickets t ON t.id = f.ticket_id
  SET f.ticket_created_at_us = t.created_at_us;
