-- The work loop's writes, as the service sends them to MariaDB (bench/run_all.py's floor, on copies
-- of its tables): on a random ticket of tenant slap (ids {LO} to {LO}+{N}-1, loaded by create.sql),
-- ACKNOWLEDGE, FINAL_ANSWER and CloseTicket, each one transaction: the ticket read FOR UPDATE, the
-- comment, the ticket's UPDATE, its history rows in one INSERT, its outbox event. Statements end
-- with ';' (mariadb-slap --delimiter); no ';' inside a value. The events are written already
-- published, as in create.sql.
SET @id = {LO} + FLOOR(RAND() * {N});
START TRANSACTION;
SELECT t.id, t.tenant, t.customer_id, t.subject, t.title, t.description, t.product, t.brand, t.service_type, t.issue_type, t.status, t.suspended_from, t.owner_id, t.department, t.level, t.category, t.version, t.fence, t.follow_up_count, t.resolved, t.merged_into_id, t.timer_kind, t.timer_due_us, t.last_customer_reply_us, t.created_at_us, t.updated_at_us, t.closed_at_us, t.associated_count FROM tickets t WHERE t.tenant = 'slap' AND t.id = @id FOR UPDATE;
INSERT INTO comments (tenant, ticket_id, author_id, author_role, body, created_at_us) VALUES ('slap', @id, 'slap-agent', 'agent', 'Thanks, I am looking into it now.', {NOW});
SET @c = LAST_INSERT_ID();
UPDATE tickets SET status = 'PROCESSING', owner_id = 'slap-agent', resolved = 0, timer_kind = NULL, timer_due_us = NULL, closed_at_us = NULL, version = version + 1, updated_at_us = updated_at_us + 1 WHERE tenant = 'slap' AND id = @id;
INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, from_value, to_value, created_at_us) VALUES ('slap', @id, 'slap-agent', 'agent', 'ACKNOWLEDGE', 'comment', NULL, @c, {NOW}), ('slap', @id, 'slap-agent', 'agent', 'ACKNOWLEDGE', 'status', 'PENDING_RESPONSE', 'PROCESSING', {NOW});
INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us, published_at_us) VALUES ('slap', @id, 'ticket.replied', '{"event":"ticket.replied","tenant":"slap","ticket_id":1,"actor_id":"slap-agent","actor_role":"agent","time_us":1796175275006343,"version":3,"action":"ACKNOWLEDGE","ticket":{"status":"PROCESSING","owner_id":"slap-agent","department":null,"customer_id":"bench-customer","category":null,"level":1,"service_type":"SHARED","issue_type":"TECHNICAL"},"changes":{"status":{"from":"PENDING_RESPONSE","to":"PROCESSING"}},"intent":"ACKNOWLEDGE","comment_id":1}', {NOW}, {NOW});
COMMIT;
START TRANSACTION;
SELECT t.id, t.tenant, t.customer_id, t.subject, t.title, t.description, t.product, t.brand, t.service_type, t.issue_type, t.status, t.suspended_from, t.owner_id, t.department, t.level, t.category, t.version, t.fence, t.follow_up_count, t.resolved, t.merged_into_id, t.timer_kind, t.timer_due_us, t.last_customer_reply_us, t.created_at_us, t.updated_at_us, t.closed_at_us, t.associated_count FROM tickets t WHERE t.tenant = 'slap' AND t.id = @id FOR UPDATE;
SELECT reminder_channel, reminder_target, review_link, account_verification_optional FROM tenant_settings WHERE tenant = 'slap';
INSERT INTO comments (tenant, ticket_id, author_id, author_role, body, created_at_us) VALUES ('slap', @id, 'slap-agent', 'agent', 'The PHP version was reset by the deploy and I set it back: the shop answers again.', {NOW});
SET @c = LAST_INSERT_ID();
UPDATE tickets SET status = 'TO_BE_CONFIRMED', resolved = 1, timer_kind = 'AUTO_CLOSE', timer_due_us = {NOW} + 259200000000, version = version + 1, updated_at_us = updated_at_us + 1 WHERE tenant = 'slap' AND id = @id;
INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, from_value, to_value, created_at_us) VALUES ('slap', @id, 'slap-agent', 'agent', 'FINAL_ANSWER', 'comment', NULL, @c, {NOW}), ('slap', @id, 'slap-agent', 'agent', 'FINAL_ANSWER', 'status', 'PROCESSING', 'TO_BE_CONFIRMED', {NOW}), ('slap', @id, 'slap-agent', 'agent', 'FINAL_ANSWER', 'resolved', 'false', 'true', {NOW});
INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us, published_at_us) VALUES ('slap', @id, 'ticket.replied', '{"event":"ticket.replied","tenant":"slap","ticket_id":1,"actor_id":"slap-agent","actor_role":"agent","time_us":1796175275006343,"version":3,"action":"ACKNOWLEDGE","ticket":{"status":"PROCESSING","owner_id":"slap-agent","department":null,"customer_id":"bench-customer","category":null,"level":1,"service_type":"SHARED","issue_type":"TECHNICAL"},"changes":{"status":{"from":"PENDING_RESPONSE","to":"PROCESSING"}},"intent":"ACKNOWLEDGE","comment_id":1}', {NOW}, {NOW});
COMMIT;
START TRANSACTION;
SELECT t.id, t.tenant, t.customer_id, t.subject, t.title, t.description, t.product, t.brand, t.service_type, t.issue_type, t.status, t.suspended_from, t.owner_id, t.department, t.level, t.category, t.version, t.fence, t.follow_up_count, t.resolved, t.merged_into_id, t.timer_kind, t.timer_due_us, t.last_customer_reply_us, t.created_at_us, t.updated_at_us, t.closed_at_us, t.associated_count FROM tickets t WHERE t.tenant = 'slap' AND t.id = @id FOR UPDATE;
UPDATE tickets SET status = 'CLOSED', timer_kind = NULL, timer_due_us = NULL, closed_at_us = {NOW}, version = version + 1, updated_at_us = updated_at_us + 1 WHERE tenant = 'slap' AND id = @id;
INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, from_value, to_value, created_at_us) VALUES ('slap', @id, 'slap-agent', 'agent', 'CLOSE', 'status', 'TO_BE_CONFIRMED', 'CLOSED', {NOW});
INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us, published_at_us) VALUES ('slap', @id, 'ticket.closed', '{"event":"ticket.replied","tenant":"slap","ticket_id":1,"actor_id":"slap-agent","actor_role":"agent","time_us":1796175275006343,"version":3,"action":"ACKNOWLEDGE","ticket":{"status":"PROCESSING","owner_id":"slap-agent","department":null,"customer_id":"bench-customer","category":null,"level":1,"service_type":"SHARED","issue_type":"TECHNICAL"},"changes":{"status":{"from":"PENDING_RESPONSE","to":"PROCESSING"}},"intent":"ACKNOWLEDGE","comment_id":1}', {NOW}, {NOW});
COMMIT;
