-- An app's token taken from a node's cache is confirmed by its own rows:
-- the token, its grant and its app still in force, and the grant's scopes
-- and thread scope as they were when the token was looked up. The access
-- version that 0031's function compared moves with every such change to
-- any app's access, so every cached token of every node failed its check
-- at each. parley_confirm_app_token raises PY409 when the token is no
-- longer what it was found to be, which keeps the statement queued after
-- it from running.

-- +goose Up
DROP FUNCTION parley_confirm_access(BIGINT);

-- +goose StatementBegin
CREATE FUNCTION parley_confirm_app_token(p_token BYTEA, p_grant TEXT, p_scopes TEXT, p_thread_scope TEXT, p_active TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (
		SELECT 1 FROM oauth_tokens t
		JOIN grants g ON g.id = t.grant_id
		JOIN apps a ON a.client_id = t.client_id
		WHERE t.token_hash = p_token AND t.revoked_at IS NULL AND g.id = p_grant AND g.revoked_at IS NULL
		  AND g.scopes = p_scopes AND g.thread_scope = p_thread_scope AND a.state = p_active
	) THEN
		RAISE EXCEPTION 'the app''s token, grant or app changed' USING ERRCODE = 'PY409';
	END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION parley_confirm_app_token(BYTEA, TEXT, TEXT, TEXT, TEXT);

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
