-- The requests a member received, newest first, read a page at a time
-- (FindReceivedFriendRequests) from a cursor: an index in that order, so
-- that a page reads its own rows only, however many others sent. It
-- begins with addressee_id, so it serves what the index on addressee_id
-- alone did, which it replaces.

-- +goose Up
CREATE INDEX friendships_received ON friendships (addressee_id, state, created_at, requester_id);
DROP INDEX friendships_addressee;

-- +goose Down
CREATE INDEX friendships_addressee ON friendships (addressee_id);
DROP INDEX friendships_received;
