-- PostgreSQL's migration 0032 replaces the function that confirms an app's
-- cached token; SQLite confirms it with a query of its own
-- (callercheck.go).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
