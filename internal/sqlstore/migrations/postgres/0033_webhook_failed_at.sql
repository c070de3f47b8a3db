-- An endpoint's run of failures (parley.WebhookFailures) runs from
-- failing_since to failed_at, its latest failure as recorded: a failure
-- that comes long after it, when the endpoint had nothing to deliver in
-- between, starts a new run instead of extending one that ended. An
-- endpoint failing now takes its latest failed attempt.

-- +goose Up
ALTER TABLE webhook_endpoints ADD COLUMN failed_at BIGINT;
UPDATE webhook_endpoints SET failed_at = COALESCE((
    SELECT MAX(a.at) FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
    WHERE d.endpoint_id = webhook_endpoints.id AND NOT a.succeeded
), failing_since)
WHERE failing_since IS NOT NULL;

-- +goose Down
ALTER TABLE webhook_endpoints DROP COLUMN failed_at;
