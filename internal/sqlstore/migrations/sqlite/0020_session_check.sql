-- PostgreSQL's migration 0020 adds the function that confirms a cached
-- session in a request's first round trip. SQLite needs none: the store
-- confirms the session with a query of its own (sessioncheck.go), which
-- costs no round trip in the same process.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
