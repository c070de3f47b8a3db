-- An entry that made or changed a grant (grant.created, grant.widened,
-- grant.narrowed) keeps what the member agreed to: the grant's scopes,
-- thread scope and expiry after the change, and the threads the change
-- was about (parley.GrantTerms), as JSON; '' on every other entry, and on
-- the entries logged before, whose hashes stay what they were.

-- +goose Up
ALTER TABLE access_log ADD COLUMN grant_terms TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE access_log DROP COLUMN grant_terms;
