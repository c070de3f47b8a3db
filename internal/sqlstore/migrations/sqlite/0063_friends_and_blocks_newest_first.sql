-- A member's friends, and the members they block, are read a page at a
-- time, newest first, from a cursor (FindFriendPage, FindBlockPage): an
-- index in that order for each, so that a page reads its own rows only,
-- however many friends or blocks a member has. A friendship is a row
-- either member may have asked, so a page of friends reads the member's
-- rows as requester here (friendships_sent) and as addressee in
-- friendships_received, each up to the page's size, and merges the two.

-- +goose Up
CREATE INDEX friendships_sent ON friendships (requester_id, state, created_at, addressee_id);
CREATE INDEX blocks_made ON blocks (blocker_id, created_at, blocked_id);

-- +goose Down
DROP INDEX blocks_made;
DROP INDEX friendships_sent;
