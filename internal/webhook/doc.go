// Package webhook sends Parley's webhooks as the Standard Webhooks
// specification has them (https://www.standardwebhooks.com): signing, an
// HTTP client that reaches only public addresses, the retry schedule, and
// the worker that delivers what the service's outbox holds.
//
// # The outbox, and why not a job queue library
//
// An event is enqueued by inserting a row into webhook_deliveries in the
// store transaction of the change that causes it: a change rolled back
// sends nothing, and a crash after its commit loses nothing. That insert
// must run inside our own transaction, and on SQLite every write runs
// inside the writer's group commit (internal/sqlstore/writer.go), one
// transaction shared by up to 512 writes on one connection that only the
// writer goroutine drives. github.com/riverqueue/river was considered: its
// InsertTx takes a transaction of its own driver (pgx, or database/sql for
// SQLite), which our writer's hand-driven transaction and our pgx
// transactions behind parley.Tx do not expose, and its workers poll and
// lock its own tables through its own connections, beside our writer on
// SQLite, where only one connection may write. It would also bring its own
// migrations and schema to keep beside ours on both engines. A small
// table of our own costs less: the enqueue is one INSERT through the
// store, and taking due deliveries is one UPDATE … RETURNING, with FOR
// UPDATE SKIP LOCKED on PostgreSQL so that each is taken by one node.
//
// # Delivery
//
// Each node runs Workers. A worker takes due deliveries in batches (which
// moves each one's due time to the end of a lease, so that a node that
// dies mid-attempt leaves it to another after the lease), posts them in
// parallel, and records every attempt in the write that takes its next
// batch. A node that stops lets the attempts under way finish, within its
// stop's time, records them, and gives back the deliveries it took but did
// not attempt to the end, due again at once. A node wakes its worker when it
// enqueues; deliveries another node enqueued are found within
// PollInterval. A delivery is retried on the specification's schedule
// (Schedule), with jitter, honouring Retry-After on 429 and 503; 410 Gone
// disables the endpoint, and so does a run of failures
// (parley.WebhookFailures) that lasts parley.WebhookDisableAfter.
package webhook
