package sqlstore

// QueuedWrites is how many writes wait for PostgreSQL's committer, which
// a test reads to know that writes it queued will share the next batch.
func QueuedWrites(db *DB) int {
	return len(db.pg.queue)
}
