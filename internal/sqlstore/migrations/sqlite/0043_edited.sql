-- A message's sender may change its text: the row keeps its place and
-- says when (microseconds since 1970, as created_at), NULL if never. A
-- deletion clears it with the text.

-- +goose Up
ALTER TABLE messages ADD COLUMN edited_at BIGINT;

-- +goose Down
ALTER TABLE messages DROP COLUMN edited_at;
