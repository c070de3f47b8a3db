-- An app's write on one node, and a revocation, a narrowing or an app's
-- suspension on another, must not both be told done with the write after
-- the change: the member was told the app's access ended. In a write,
-- the app's token, its grant and its app are confirmed as 0032 confirms
-- them, and held (FOR SHARE) until the write ends: a change to one of
-- them waits for the write, or, made first, is seen by it, PostgreSQL
-- reading the row again once the change committed.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION parley_confirm_app_token_held(p_token BYTEA, p_grant TEXT, p_scopes TEXT, p_thread_scope TEXT, p_active TEXT)
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM oauth_tokens t
		JOIN grants g ON g.id = t.grant_id
		JOIN apps a ON a.client_id = t.client_id
		WHERE t.token_hash = p_token AND t.revoked_at IS NULL AND g.id = p_grant AND g.revoked_at IS NULL
		  AND g.scopes = p_scopes AND g.thread_scope = p_thread_scope AND a.state = p_active
		FOR SHARE OF t, g, a;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the app''s token, grant or app changed' USING ERRCODE = 'PY409';
	END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION parley_confirm_app_token_held(BYTEA, TEXT, TEXT, TEXT, TEXT);
