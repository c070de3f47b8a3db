-- Webhooks: apps' endpoints and the outbox of their deliveries.
--
-- An endpoint's signing secret is kept sealed with the server's key (the
-- server must sign with it, so it cannot be a hash); during a rotation the
-- secret replaced keeps signing until old_secret_until. webhook_subscriptions
-- holds one row per endpoint and event it subscribes to, so that a write
-- learns in one index lookup whether a change has anyone to tell. A
-- subscription counts from active_from, a few seconds after it is made: by
-- then every server has learned, by its once-a-second look at which events
-- have subscriptions, that the event has one, and the servers skip even
-- that lookup for events that have none.
--
-- webhook_deliveries is the outbox: a delivery is inserted in the
-- transaction of the change that causes it, and is due while
-- next_attempt_at is set. Taking a delivery moves next_attempt_at to the end
-- of a lease, so that of several servers one takes it, and an attempt whose
-- server died is made again. webhook_attempts keeps every attempt, for the
-- app's owner.

-- +goose Up
CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES apps (client_id),
    url              TEXT NOT NULL,
    events           TEXT NOT NULL, -- space-separated
    secret           BYTEA NOT NULL, -- sealed
    old_secret       BYTEA, -- sealed, signing beside secret until old_secret_until
    old_secret_until BIGINT,
    created_at       BIGINT NOT NULL,
    active_from      BIGINT NOT NULL,
    failing_since    BIGINT,
    disabled_at      BIGINT,
    disabled_reason  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhook_endpoints_client ON webhook_endpoints (client_id, created_at);

CREATE TABLE webhook_subscriptions (
    event       TEXT NOT NULL,
    client_id   TEXT NOT NULL,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    active_from BIGINT NOT NULL,
    PRIMARY KEY (event, client_id, endpoint_id)
);
CREATE INDEX webhook_subscriptions_endpoint ON webhook_subscriptions (endpoint_id);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY, -- the webhook-id header
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id),
    event           TEXT NOT NULL,
    payload         BYTEA NOT NULL,
    grant_id        TEXT NOT NULL DEFAULT '',
    thread_id       TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL DEFAULT '',
    seq             BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0, -- of the current schedule
    next_attempt_at BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id),
    n           INTEGER NOT NULL, -- 1, 2, … over the delivery's life
    at          BIGINT NOT NULL,
    status_code INTEGER NOT NULL,
    latency_us  BIGINT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    succeeded   BOOLEAN NOT NULL,
    PRIMARY KEY (delivery_id, n)
);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscriptions;
DROP TABLE webhook_endpoints;
