-- PostgreSQL's migration 0031 creates the function that confirms an app's
-- cached token with a request's first statement; SQLite confirms it with a
-- query of its own (callercheck.go).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
