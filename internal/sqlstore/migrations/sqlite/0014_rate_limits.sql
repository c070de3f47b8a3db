-- Rate limits on /api/v1 (internal/ratelimit): per app and per member,
-- each key's theoretical arrival time (GCRA), in microseconds. Every server
-- keeps its own buckets and adds what it let through here a few times a
-- second, in one statement, reading back what all servers used: so N
-- servers do not give N times the limit. A key whose time is past has its
-- whole allowance and may be forgotten. The throttles table (0008) is not
-- reused: it counts failures towards an exponential wait, one write per
-- attempt, where this keeps a rate shared without a write per request.

-- +goose Up
CREATE TABLE rate_limits (
    key TEXT PRIMARY KEY,
    tat BIGINT NOT NULL
);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

-- +goose Down
DROP TABLE rate_limits;
