-- Share reports sent by webhook: one row per app and fortnight whose
-- report.shares event was enqueued, written in the same transaction as the
-- event. Every server runs the job that sends them; of servers claiming one
-- app's fortnight at once, the primary key lets exactly one insert its row,
-- and only that one enqueues the event.

-- +goose Up
CREATE TABLE report_sends (
    client_id    TEXT NOT NULL REFERENCES apps (client_id),
    period_start BIGINT NOT NULL, -- the fortnight's first day, at 00:00 UTC
    sent_at      BIGINT NOT NULL,
    PRIMARY KEY (client_id, period_start)
);

-- +goose Down
DROP TABLE report_sends;
