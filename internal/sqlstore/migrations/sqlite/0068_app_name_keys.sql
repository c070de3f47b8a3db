-- An app's name_key is its name as parley.AppNameKey folds it, so that a
-- registration finds a live app of the same name by an index, not by
-- reading every app. The key is Go's to compute: the apps stored before
-- this column get theirs when the server opens the database
-- (fillAppNameKeys). name_claimed is set on an app a member registered
-- after a check that no live app had the name: of two such registrations
-- of one name at the same moment, the index refuses the later. Operators
-- may give an app a name a live app has, so theirs claim none.
-- apps_owner_created counts what a member registered in a day
-- (parley.MaxAppsPerDay) and lists their apps, as apps_owner did, and
-- apps_owner_live counts their live apps (parley.MaxOwnApps) without
-- reading those they deleted.

-- +goose Up
ALTER TABLE apps ADD COLUMN name_key TEXT;
ALTER TABLE apps ADD COLUMN name_claimed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX apps_live_name_key ON apps (name_key) WHERE state <> 'deleted';
CREATE UNIQUE INDEX apps_claimed_name_key ON apps (name_key) WHERE state <> 'deleted' AND name_claimed;
CREATE INDEX apps_owner_created ON apps (owner_id, created_at);
CREATE INDEX apps_owner_live ON apps (owner_id) WHERE state <> 'deleted';
DROP INDEX apps_owner;

-- +goose Down
CREATE INDEX apps_owner ON apps (owner_id);
DROP INDEX apps_owner_live;
DROP INDEX apps_owner_created;
DROP INDEX apps_claimed_name_key;
DROP INDEX apps_live_name_key;
ALTER TABLE apps DROP COLUMN name_claimed;
ALTER TABLE apps DROP COLUMN name_key;
