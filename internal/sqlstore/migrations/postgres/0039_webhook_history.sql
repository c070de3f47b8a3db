-- Deliveries that are done, by when they were made: the server deletes
-- those kept their time (parley.WebhookHistoryKept) a batch at a time, and
-- finds each batch in this index's range. A pending delivery is not in it,
-- so that enqueuing one, in the write of the change it tells of, costs no
-- entry here.

-- +goose Up
CREATE INDEX webhook_deliveries_done ON webhook_deliveries (created_at, id) WHERE state <> 'pending';

-- +goose Down
DROP INDEX webhook_deliveries_done;
