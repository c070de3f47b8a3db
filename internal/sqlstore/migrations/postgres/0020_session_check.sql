-- A request of a member whose session a node took from its cache confirms
-- that the session still lasts in the same round trip as its first
-- statement: this function, queued before that statement, raises an error
-- (SQLSTATE PY401) when the session is gone or expired, which keeps the
-- statement after it from running.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION parley_confirm_session(token BYTEA, at BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM sessions WHERE token_hash = token AND expires_at > at) THEN
		RAISE EXCEPTION 'the session has ended' USING ERRCODE = 'PY401';
	END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION parley_confirm_session(BYTEA, BIGINT);
