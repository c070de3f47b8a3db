-- A conversation a member takes out of an app's grant stays out for the
-- grant's life: the grant remembers it (RemoveGrantThread), and the app's
-- share, which would bring a conversation into a grant of thread scope
-- "app", is refused there (ThreadReach.TakenOut), as a grant of thread
-- scope "selected" refuses a conversation it does not list. A new grant
-- starts with none.

-- +goose Up
CREATE TABLE grant_threads_taken_out (
    grant_id  TEXT NOT NULL REFERENCES grants (id),
    thread_id TEXT NOT NULL REFERENCES threads (id),
    PRIMARY KEY (grant_id, thread_id)
);

-- +goose Down
DROP TABLE grant_threads_taken_out;
