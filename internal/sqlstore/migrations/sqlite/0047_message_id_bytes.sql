-- A message's ID is stored as the 16 bytes it encodes, not as its 26
-- characters, in messages and in share_links, which refers to it
-- (messageids.go): 20 bytes fewer a message, in its row and its index.
-- parley_id_bytes and parley_id_text are Go's, registered with the driver;
-- an ID of another form is left as its text. Keys are checked at commit,
-- once both tables hold the new form.

-- +goose Up
PRAGMA defer_foreign_keys = ON;
UPDATE messages SET id = parley_id_bytes(id);
UPDATE share_links SET message_id = parley_id_bytes(message_id);

-- +goose Down
PRAGMA defer_foreign_keys = ON;
UPDATE messages SET id = parley_id_text(id);
UPDATE share_links SET message_id = parley_id_text(message_id);
