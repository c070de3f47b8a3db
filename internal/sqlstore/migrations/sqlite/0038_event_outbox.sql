-- Events a command publishes without NATS, for the servers of the store to
-- relay to their own realtime streams: without NATS a command has no bus
-- a server hears.

-- +goose Up
CREATE TABLE event_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event BLOB NOT NULL
);

-- +goose Down
DROP TABLE event_outbox;
