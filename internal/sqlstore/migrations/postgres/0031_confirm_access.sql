-- A request of an app whose token a node took from its cache confirms, in
-- the same round trip as its first statement, that nothing that may end or
-- narrow an app's access changed since the token was looked up: this
-- function, queued before that statement, raises an error (SQLSTATE PY409)
-- when the access version has moved, which keeps the statement after it
-- from running.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION parley_confirm_access(seen BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM access_version WHERE id = 1 AND version = seen) THEN
		RAISE EXCEPTION 'access may have changed' USING ERRCODE = 'PY409';
	END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION parley_confirm_access(BIGINT);
