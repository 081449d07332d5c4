-- The kit's rows for callers written in SQL: a service's stored procedure that does a whole
-- operation in one round trip (services/tickets' ticket_create) writes its outbox event and its
-- idempotency key through these, so the kit keeps the one definition of each row in SQL, beside
-- the one in C (hd_outbox_append, hd_idem_record: a CALL of its own would cost those callers a
-- procedure call per row, measured 15% slower than the INSERT alone). test_svc_idem_outbox
-- checks that both write the same row.
--
-- SQL SECURITY INVOKER: they run with the caller's privileges, not those of whoever migrated.
-- Every parameter names its character set: a procedure's text parameters otherwise take the
-- database's default, which an administrator may have created as something else.
-- CREATE OR REPLACE: run again, each is defined anew.
DELIMITER //

-- An unpublished outbox row (hd_outbox_append's): payload as hd_outbox_payload_split built it,
-- CONCAT(head, aggregate_id, tail).
CREATE OR REPLACE PROCEDURE kit_outbox_add(
  IN p_tenant VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_aggregate_id BIGINT,
  IN p_event_type VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_payload TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_now_us BIGINT)
  SQL SECURITY INVOKER
  MODIFIES SQL DATA
  INSERT INTO outbox (tenant, aggregate_id, event_type, payload, created_at_us)
    VALUES (p_tenant, p_aggregate_id, p_event_type, p_payload, p_now_us)//

-- An idempotency key with its result (hd_idem_record's): a duplicate key (1062) when the key
-- already has a row, which the caller answers by claiming it first (hd_idem_claim).
CREATE OR REPLACE PROCEDURE kit_idem_add(
  IN p_tenant VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_caller_id VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_idem_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin,
  IN p_request_hash CHAR(64) CHARACTER SET ascii COLLATE ascii_bin,
  IN p_result_id BIGINT,
  IN p_now_us BIGINT)
  SQL SECURITY INVOKER
  MODIFIES SQL DATA
  INSERT INTO idempotency_keys (tenant, caller_id, idem_key, request_hash, result_id, created_at_us)
    VALUES (p_tenant, p_caller_id, p_idem_key, p_request_hash, p_result_id, p_now_us)//

DELIMITER ;
