-- CreateTicket's writes in one round trip (issue 19): the ticket, its CREATE history rows, its
-- ticket.created event and, for a new key, the idempotency key with the ticket as its result.
-- Sent one by one they were six round trips to MariaDB (START TRANSACTION, four INSERTs, COMMIT),
-- and MariaDB's work per statement (a wakeup, a receive, a send) was about 40% of a create's cost:
-- mariadb-slap ran 8,380-8,600 creates/s at 16 connections through this procedure against 5,110
-- through the statements (bench/NOTES.md). ticket_store.c is its only caller, and the only code
-- that creates a ticket.
--
-- With p_caller_id (the key's owner) it is a transaction of its own: START TRANSACTION, the rows,
-- the key (kit_idem_add: a duplicate key error when the key already has a row, and the caller
-- then claims the key first), COMMIT; any error rolls everything back and is passed on as it came
-- (RESIGNAL), so the client sees the server's own error number (1062, 1213...). With p_caller_id
-- NULL it writes the rows inside the caller's open transaction, which claimed the key itself.
-- Either way it answers one row: the new ticket's id.
--
-- p_event_head and p_event_tail are the event's payload around its ticket_id
-- (hd_outbox_payload_split). Text parameters name their character set (a procedure's otherwise
-- take the database's default). SQL SECURITY INVOKER: the service's own privileges. CREATE OR
-- REPLACE: run again, it is defined anew.
DELIMITER //

CREATE OR REPLACE PROCEDURE ticket_create(
  IN p_tenant VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_customer_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_subject VARCHAR(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_description MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_product VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_brand VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_service_type VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_issue_type VARCHAR(16) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_status VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_department VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_actor_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_actor_role VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_now_us BIGINT,
  IN p_event_type VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_event_head TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_event_tail TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_caller_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_idem_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin)
  SQL SECURITY INVOKER
  MODIFIES SQL DATA
BEGIN
  DECLARE v_id BIGINT;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    IF p_caller_id IS NOT NULL THEN
      ROLLBACK;
    END IF;
    RESIGNAL;
  END;
  IF p_caller_id IS NOT NULL THEN
    START TRANSACTION;
  END IF;
  INSERT INTO tickets (tenant, customer_id, subject, title, description, product, brand,
                       service_type, issue_type, status, department, level, version, fence,
                       follow_up_count, resolved, created_at_us, updated_at_us)
    VALUES (p_tenant, p_customer_id, p_subject, p_subject, p_description, p_product, p_brand,
            p_service_type, p_issue_type, p_status, p_department, 1, 1, 0, 0, 0, p_now_us,
            p_now_us);
  SET v_id = LAST_INSERT_ID();
  INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, from_value,
                              to_value, created_at_us)
    VALUES (p_tenant, v_id, p_actor_id, p_actor_role, 'CREATE', 'status', NULL, p_status, p_now_us);
  IF p_department IS NOT NULL THEN
    INSERT INTO ticket_history (tenant, ticket_id, actor_id, actor_role, action, field, from_value,
                                to_value, created_at_us)
      VALUES (p_tenant, v_id, p_actor_id, p_actor_role, 'CREATE', 'department', NULL,
              p_department, p_now_us);
  END IF;
  CALL kit_outbox_add(p_tenant, v_id, p_event_type, CONCAT(p_event_head, v_id, p_event_tail),
                      p_now_us);
  IF p_caller_id IS NOT NULL THEN
    CALL kit_idem_add(p_tenant, p_caller_id, p_idem_key, p_request_hash, v_id, p_now_us);
    COMMIT;
  END IF;
  SELECT v_id AS id;
END//

DELIMITER ;
