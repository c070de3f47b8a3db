-- An app a member registers with a key (the developer console's form
-- carries one) is registered once: the form posted again, by a double
-- click or a reload of its answer, finds the app its key registered
-- rather than registering another. NULL for apps registered without one.

-- +goose Up
ALTER TABLE apps ADD COLUMN registration_key TEXT;
CREATE UNIQUE INDEX apps_registration_key ON apps (owner_id, registration_key);

-- +goose Down
DROP INDEX apps_registration_key;
ALTER TABLE apps DROP COLUMN registration_key;
