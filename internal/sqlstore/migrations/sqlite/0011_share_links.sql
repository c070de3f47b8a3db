-- Tracked share links and the client-credentials tokens apps read their
-- share reports with.
--
-- Each member of a thread a share card goes into has a link of their own,
-- /s/{token}; share_links keeps it by the SHA-256 of its token, with what a
-- report counts: the app, the sender, the member it is for, when the share
-- was sent and when that member first clicked it. A row holds no content:
-- it stays when the message is deleted, so that a report, once its period
-- has ended, never changes.
--
-- client_tokens are access tokens an app got for itself with the OAuth 2.0
-- client-credentials grant (RFC 6749 section 4.4), by their ID's SHA-256:
-- they stand for no member and reach only the app's own reports.

-- +goose Up
CREATE TABLE share_links (
    token_hash   BLOB PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES messages (id),
    client_id    TEXT REFERENCES apps (client_id), -- NULL for a card a member sent themself
    sender_id    TEXT NOT NULL REFERENCES users (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    sent_at      BIGINT NOT NULL,
    clicked_at   BIGINT,
    UNIQUE (message_id, user_id)
);
CREATE INDEX share_links_report ON share_links (client_id, sent_at);

CREATE TABLE client_tokens (
    token_hash BLOB PRIMARY KEY,
    client_id  TEXT NOT NULL REFERENCES apps (client_id),
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX client_tokens_expiry ON client_tokens (expires_at);

-- +goose Down
DROP TABLE client_tokens;
DROP TABLE share_links;
