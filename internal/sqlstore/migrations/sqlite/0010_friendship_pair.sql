-- One friendship per pair of members, whichever of them asked: two members
-- who ask each other at the same moment make one request, which the second
-- ask then finds and accepts. SQLite's single writer never interleaves the
-- two asks; the index states the rule for every engine all the same.

-- +goose Up
CREATE UNIQUE INDEX friendships_pair ON friendships (min(requester_id, addressee_id), max(requester_id, addressee_id));

-- +goose Down
DROP INDEX friendships_pair;
