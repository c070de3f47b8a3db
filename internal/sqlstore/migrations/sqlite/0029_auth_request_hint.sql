-- An authorization request keeps the member its app named with an ID
-- token of theirs (id_token_hint): a session of another member, from
-- before the request, must sign in again, and with prompt=none the app is
-- told login_required (OpenID Connect Core section 3.1.2.1).

-- +goose Up
ALTER TABLE auth_requests ADD COLUMN hint_user_id TEXT;

-- +goose Down
ALTER TABLE auth_requests DROP COLUMN hint_user_id;
