-- A member's export lists the share links made for them, a page at a
-- time in the order of their cards' messages: an index of the links by
-- member, which the export reads as a range.

-- +goose Up
CREATE INDEX share_links_user ON share_links (user_id, message_id);

-- +goose Down
DROP INDEX share_links_user;
