-- Access may also end when a member narrows a grant: it loses scopes, or
-- threads. An app's realtime stream holds what its grant reaches between
-- events and reads it again when the access version moves, so a narrowed
-- grant moves it too, and the stream stops delivering what the grant no
-- longer reaches at its very next event, on every node. (A change of a
-- grant's scopes moves it whether they narrow or widen: a stream that
-- reads again what it may see loses nothing.)

-- +goose Up
-- +goose StatementBegin
CREATE TRIGGER access_version_grant_changed AFTER UPDATE OF scopes, thread_scope ON grants
WHEN OLD.scopes <> NEW.scopes OR OLD.thread_scope <> NEW.thread_scope
BEGIN
    UPDATE access_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER access_version_grant_thread_removed AFTER DELETE ON grant_threads
BEGIN
    UPDATE access_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER access_version_grant_thread_removed;
DROP TRIGGER access_version_grant_changed;
