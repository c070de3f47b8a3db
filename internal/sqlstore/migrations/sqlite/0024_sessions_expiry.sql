-- Sessions are deleted once they expired longer ago than Parley keeps
-- them (parley.ExpiredSessionKept), at each sign-in: this index finds
-- them, or that there are none, without reading the others.

-- +goose Up
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP INDEX sessions_expires;
