-- The ticket an overdue refund's escalation was raised on: recorded with it, so that every
-- retry sends the same request under the same idempotency key.
ALTER TABLE refund_escalations ADD COLUMN IF NOT EXISTS ticket_id BIGINT NOT NULL DEFAULT 0;
