-- PostgreSQL's migration 0049 holds an app's token, grant and app for a
-- write that confirmed them; SQLite's writes run one at a time, each
-- confirming its caller in its own transaction (callercheck.go).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
