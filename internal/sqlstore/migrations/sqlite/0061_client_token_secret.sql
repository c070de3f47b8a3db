-- The secret an app got each of its own tokens with (client_tokens), by
-- its hash as apps keeps it: a token ends with its secret, when a rotation
-- or the app's owner ends the secret a rotation replaced. A token got
-- before this is taken to be the replaced secret's, when the app has one,
-- so that stopping it ends every token it may have got.

-- +goose Up
ALTER TABLE client_tokens ADD COLUMN secret_hash BLOB;
UPDATE client_tokens SET secret_hash = (
	SELECT COALESCE(a.old_secret_hash, a.secret_hash) FROM apps a WHERE a.client_id = client_tokens.client_id);

-- +goose Down
ALTER TABLE client_tokens DROP COLUMN secret_hash;
