-- Each endpoint's due deliveries, oldest due first: while an endpoint has
-- its share of a node's delivery slots in flight, a take reads the others'
-- through this index, endpoint by endpoint, and never the deliveries
-- waiting for the full one, however many (TakeDueWebhooks).

-- +goose Up
CREATE INDEX webhook_deliveries_due_by_endpoint ON webhook_deliveries (endpoint_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- +goose Down
DROP INDEX webhook_deliveries_due_by_endpoint;
