-- The server's secrets (the key that signs the pages' CSRF tokens, the key
-- that seals webhook endpoints' signing secrets, the share links' key) are
-- kept with the provider's keys (the server key oauth.keys), wrapped with
-- them when they are, where they were server keys of their own: a server
-- that loads keys kept in the database moves them in. This migration
-- changes no table. It is the schema before which a parley would not find
-- them there, and would make others, sealing with keys no other server
-- has, or rotate the keys without them: such a parley refuses a database
-- at this schema.

-- +goose Up
SELECT 1;

-- +goose Down
-- Nothing to undo in the tables; the secrets stay with the keys, where a
-- parley of schema 26 would not find them.
SELECT 1;
