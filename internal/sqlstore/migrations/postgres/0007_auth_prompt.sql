-- What an authorization request asks of the member's sign-in, and when it
-- was approved.
--
-- prompt holds the app's prompt values, space-separated (OpenID Connect
-- Core section 3.1.2.1); max_age is in seconds, NULL when the app set none.
-- auth_time is now when the member entered their password (the ID token's
-- auth_time), and approved_at when the request was approved, from which its
-- code lives; requests approved before took both from the approval.

-- +goose Up
ALTER TABLE auth_requests ADD COLUMN prompt TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_requests ADD COLUMN max_age BIGINT;
ALTER TABLE auth_requests ADD COLUMN approved_at BIGINT;
UPDATE auth_requests SET approved_at = auth_time;

-- +goose Down
ALTER TABLE auth_requests DROP COLUMN approved_at;
ALTER TABLE auth_requests DROP COLUMN max_age;
ALTER TABLE auth_requests DROP COLUMN prompt;
