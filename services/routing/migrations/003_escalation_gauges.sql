-- The escalation gauges (routing_escalations_gauges, every 2 s) count the escalations not yet
-- resolved or bounced per department, and the overdue among them, across tenants: this index
-- covers that read, so it touches only open escalations, never the resolved history.
ALTER TABLE escalations ADD INDEX IF NOT EXISTS ix_escalations_open (status, to_department, overdue);
