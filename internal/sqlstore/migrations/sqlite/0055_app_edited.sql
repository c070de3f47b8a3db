-- A message written through an app may be edited by that app or by its
-- sender. app_edited is TRUE while its text is the app's latest edit, NULL
-- once its sender edits it (or never edited): the sender's own words,
-- which the app may not rewrite. Edits made before this column are
-- counted as the sender's. A deletion clears it with the text.

-- +goose Up
ALTER TABLE messages ADD COLUMN app_edited BOOLEAN;

-- +goose Down
ALTER TABLE messages DROP COLUMN app_edited;
