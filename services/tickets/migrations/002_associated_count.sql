-- How many tickets were merged into each ticket, kept with the ticket so that reading a ticket
-- or a page of them needs no subquery; the ids themselves are read only when it is not zero.
-- ticket_store_update keeps it in step with merged_into_id in the change's transaction.
ALTER TABLE tickets ADD COLUMN IF NOT EXISTS associated_count INT NOT NULL DEFAULT 0;
UPDATE tickets t
  JOIN (SELECT tenant, merged_into_id AS id, COUNT(*) AS n FROM tickets
        WHERE merged_into_id IS NOT NULL GROUP BY tenant, merged_into_id) m
    ON m.tenant = t.tenant AND m.id = t.id
  SET t.associated_count = m.n;
