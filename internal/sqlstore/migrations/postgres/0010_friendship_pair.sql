-- One friendship per pair of members, whichever of them asked: two members
-- who ask each other at the same moment, on two servers, make one request;
-- the second ask meets the unique violation, runs again (postgres.go) and
-- then finds the first request and accepts it.

-- +goose Up
CREATE UNIQUE INDEX friendships_pair ON friendships (LEAST(requester_id, addressee_id), GREATEST(requester_id, addressee_id));

-- +goose Down
DROP INDEX friendships_pair;
