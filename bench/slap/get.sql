-- GetTicket's read, as the service sends it to MariaDB (bench/run_all.py's floor, on copies of its
-- tables): one ticket of tenant slap (the newest create.sql wrote) by primary key; nobody follows
-- it (follower_count 0), so the service reads no follows row.
SELECT t.id, t.tenant, t.customer_id, t.subject, t.title, t.description, t.product, t.brand, t.service_type, t.issue_type, t.status, t.suspended_from, t.owner_id, t.department, t.level, t.category, t.version, t.fence, t.follow_up_count, t.resolved, t.merged_into_id, t.timer_kind, t.timer_due_us, t.last_customer_reply_us, t.created_at_us, t.updated_at_us, t.closed_at_us, t.associated_count, t.follower_count, 0 AS followed FROM tickets t WHERE t.tenant = 'slap' AND t.id = {LO} + {N} - 1;
