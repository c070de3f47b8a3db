-- Access may also end when a member narrows a grant: it loses scopes, or
-- threads. An app's realtime stream holds what its grant reaches between
-- events and reads it again when the access version moves, so a narrowed
-- grant moves it too, and the stream stops delivering what the grant no
-- longer reaches at its very next event, on every node. (A change of a
-- grant's scopes moves it whether they narrow or widen: a stream that
-- reads again what it may see loses nothing.)

-- +goose Up
CREATE TRIGGER access_version_grant_changed AFTER UPDATE OF scopes, thread_scope ON grants
FOR EACH ROW WHEN (OLD.scopes <> NEW.scopes OR OLD.thread_scope <> NEW.thread_scope)
EXECUTE FUNCTION access_version_bump();

CREATE TRIGGER access_version_grant_thread_removed AFTER DELETE ON grant_threads
FOR EACH ROW EXECUTE FUNCTION access_version_bump();

-- +goose Down
DROP TRIGGER access_version_grant_thread_removed ON grant_threads;
DROP TRIGGER access_version_grant_changed ON grants;
