-- Tokens are deleted a day after they expire, in the write that issues
-- new ones: an index of them by expiry, which that delete reads as a
-- range, finding nothing most of the time.

-- +goose Up
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);

-- +goose Down
DROP INDEX oauth_tokens_expires;
