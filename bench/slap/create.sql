-- CreateTicket's writes, as the service sends them to MariaDB (bench/run_all.py's floor, on copies
-- of its tables): one transaction of the ticket, its history row, its idempotency key with the
-- result and its outbox event, in tenant slap. Statements end with ';' (mariadb-slap --delimiter);
-- no ';' inside a value. The event is written already published: the relay's UPDATE of
-- published_at_us is the service's own cost, left out of this floor.
START TRANSACTION;
INSERT INTO tickets (tenant, customer_id, subject, title, description, product, brand, service_type, issue_type, status, department, level, version, fence, follow_up_count, resolved, created_at_us, updated_at_us) VALUES ('slap', 'bench-customer', 'Website returns 500 since the last deploy', 'Website returns 500 since the last deploy', 'Since this morning every page of the shop answers 500 and nothing changed', 'Web Hosting', 'Bench', 'SHARED', 'TECHNICAL', 'PENDING_RESPONSE', NULL, 1, 1, 0, 0, 0, {NOW}, {NOW});
SET @t = LAST_INSERT_ID();
INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, from_value, to_value, created_at_us) VALUES ('slap', @t, 'bench-agent', 'supervisor', 'CREATE', 'status', NULL, 'PENDING_RESPONSE', {NOW});
INSERT INTO idempotency_keys (tenant, caller_id, idem_key, request_hash, result_id, created_at_us) VALUES ('slap', 'bench-agent', UUID(), '702b7469de7e1d29b96889cf7d267c8d2e440cd7b05568cb78654f72badc0bdc', @t, {NOW});
INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us, published_at_us) VALUES ('slap', @t, 'ticket.created', '{"event":"ticket.created","tenant":"slap","ticket_id":579628,"actor_id":"bench-agent","actor_role":"supervisor","time_us":1796175275006343,"version":1,"action":"CREATE","ticket":{"status":"PENDING_RESPONSE","owner_id":null,"department":null,"customer_id":"bench-customer","category":null,"level":1,"service_type":"SHARED","issue_type":"TECHNICAL"},"changes":{}}', {NOW}, {NOW});
COMMIT;
