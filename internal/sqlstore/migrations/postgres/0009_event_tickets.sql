-- Realtime streams: tickets to open one, and a version of who may still
-- reach what.
--
-- A browser cannot set headers on a WebSocket, so it trades its token for a
-- ticket (POST /api/v1/events/tickets) and opens the stream with the ticket
-- in the URL: single-use, short-lived, stored as its SHA-256. The ticket
-- stands for the credential that made it, a session or an app's access
-- token, named by that credential's hash.
--
-- access_version.version grows whenever access may have ended: a grant
-- ended, an app's state changed, a token revoked, a thread closed to apps.
-- Triggers keep it, so a change made by any node counts; each server reads
-- the one row every second and has its app streams check their token only
-- when it moved.

-- +goose Up
CREATE TABLE event_tickets (
    ticket_hash  BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    session_hash BYTEA, -- the session that made it, or
    token_hash   BYTEA, -- the app's access token that made it
    expires_at   BIGINT NOT NULL,
    CHECK ((session_hash IS NULL) <> (token_hash IS NULL))
);
CREATE INDEX event_tickets_expires ON event_tickets (expires_at);

CREATE TABLE access_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO access_version (id, version) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION access_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE access_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER access_version_grant_ended AFTER UPDATE OF revoked_at ON grants
FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
EXECUTE FUNCTION access_version_bump();

CREATE TRIGGER access_version_app_state AFTER UPDATE OF state ON apps
FOR EACH ROW WHEN (OLD.state <> NEW.state)
EXECUTE FUNCTION access_version_bump();

CREATE TRIGGER access_version_token_revoked AFTER UPDATE OF revoked_at ON oauth_tokens
FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
EXECUTE FUNCTION access_version_bump();

CREATE TRIGGER access_version_thread_closed AFTER INSERT ON thread_app_closures
FOR EACH ROW EXECUTE FUNCTION access_version_bump();

-- +goose Down
DROP TRIGGER access_version_thread_closed ON thread_app_closures;
DROP TRIGGER access_version_token_revoked ON oauth_tokens;
DROP TRIGGER access_version_app_state ON apps;
DROP TRIGGER access_version_grant_ended ON grants;
DROP FUNCTION access_version_bump();
DROP TABLE access_version;
DROP TABLE event_tickets;
