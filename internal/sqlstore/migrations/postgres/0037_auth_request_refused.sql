-- An authorization request keeps when it went back to its app refused
-- (access_denied, login_required, consent_required): the app was told no,
-- so the request can no longer be approved, nor its code issued.

-- +goose Up
ALTER TABLE auth_requests ADD COLUMN refused_at BIGINT;

-- +goose Down
ALTER TABLE auth_requests DROP COLUMN refused_at;
