-- Throttles of sign-ins and account creation (parley.Throttle): failed
-- attempts per key, such as an account or a client address. Kept in the
-- store, not in a process, so that every node of a cluster counts the same
-- failures. A record whose last failure is older than a day is forgotten.

-- +goose Up
CREATE TABLE throttles (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure BIGINT NOT NULL
);
CREATE INDEX throttles_last_failure ON throttles (last_failure);

-- +goose Down
DROP TABLE throttles;
