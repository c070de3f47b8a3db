package sqlstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parleyhq/parley"
)

// A WriteOne write is one statement (a send's), which may commit on its own.
// Sent one by one, concurrent sends each cost PostgreSQL a transaction and a
// commit, and the server and PostgreSQL a round trip each: on a small
// machine, most of a send's cost. So, as SQLite's writer does, a node sends
// the statements of the WriteOne writes that arrive while another group is
// in flight as one group: BEGIN, each statement (after the confirmation of
// its caller, if pending), COMMIT, in one round trip on one
// connection, and each caller learns its row once the group has committed.
//
// If any statement of a group fails, PostgreSQL runs nothing more of it and
// rolls it back; each of its statements then runs again on its own, as it
// would have without the group, so that one failure is its caller's alone.
// A statement alone in the queue is sent alone, as before: grouping adds no
// wait to a lone send. Groups from several nodes may lock the same threads
// in different orders; PostgreSQL then breaks the deadlock by failing one
// group, whose statements run again on their own.

// maxGroup bounds the statements of one group.
const maxGroup = 128

// pgGroup sends the statements of WriteOne writes in groups, one group at a
// time. (Two at a time, each on a connection of its own, sent fewer sends
// a second in W1, at more CPU a send: the groups only got smaller. So did
// two pipelined on one connection: bench/README.md, "Two groups in
// flight".)
//
// A group's statements run in the order of their first argument, the row
// each one locks (a send's thread): groups of several nodes then take the
// locks they share in the same order, and do not deadlock on them.
type pgGroup struct {
	pool  *pgxpool.Pool
	queue chan *groupedRow
	// closeMu is held, shared, while a statement is queued, and alone
	// while the group closes: nothing is queued once closed is set.
	closeMu sync.RWMutex
	closed  bool
	stop    chan struct{}
	done    chan struct{}
}

// groupedRow is a statement of a WriteOne write that returns one row, and
// where its caller wants the row.
type groupedRow struct {
	what  string
	query string
	args  []any
	dest  []any
	check *parley.CallerCheck
	// result receives the statement's outcome once its group is durable.
	result chan error
	// mu guards dest, which the row is scanned into only while the caller
	// waits for it: abandoned, the caller has gone (queryRow).
	mu        sync.Mutex
	abandoned bool
}

func newPGGroup(pool *pgxpool.Pool) *pgGroup {
	g := &pgGroup{pool: pool, queue: make(chan *groupedRow, maxGroup), stop: make(chan struct{}), done: make(chan struct{})}
	go g.run()
	return g
}

// close stops the group's goroutine once its group in flight is done;
// statements still queued, and any queued after, fail with ErrClosed.
func (g *pgGroup) close() {
	g.closeMu.Lock()
	already := g.closed
	g.closed = true
	g.closeMu.Unlock()
	if !already {
		close(g.stop)
	}
	<-g.done
}

// queryRow runs the statement in the next group and scans its one row into
// dest, ENOTFOUND (of what) when it returns none. It waits for the group
// until ctx, its write's (detachedWrite), ends: then the statement may
// run or not.
func (g *pgGroup) queryRow(ctx context.Context, what, query string, args, dest []any) error {
	r := &groupedRow{what: what, query: query, args: args, dest: dest, check: parley.PendingCheck(ctx), result: make(chan error, 1)}
	g.closeMu.RLock()
	if g.closed {
		g.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case g.queue <- r:
	case <-ctx.Done():
		g.closeMu.RUnlock()
		return silenced(ctx, ctx.Err())
	}
	g.closeMu.RUnlock()
	select {
	case err := <-r.result:
		return err
	case <-ctx.Done():
		r.mu.Lock()
		r.abandoned = true
		r.mu.Unlock()
		return silenced(ctx, ctx.Err())
	}
}

func (g *pgGroup) run() {
	defer close(g.done)
	for {
		var first *groupedRow
		select {
		case first = <-g.queue:
		case <-g.stop:
			g.drain()
			return
		}
		group := []*groupedRow{first}
	collect:
		for len(group) < maxGroup {
			select {
			case r := <-g.queue:
				group = append(group, r)
			default:
				break collect
			}
		}
		g.send(group)
	}
}

// drain fails what is queued when the group stops: all that ever will be,
// since close let no statement be queued after it.
func (g *pgGroup) drain() {
	for {
		select {
		case r := <-g.queue:
			r.result <- ErrClosed
		default:
			return
		}
	}
}

// send runs a group: together if it has several statements and they all
// succeed, each on its own otherwise.
func (g *pgGroup) send(group []*groupedRow) {
	slices.SortStableFunc(group, func(a, b *groupedRow) int { return compareFirst(a.args, b.args) })
	// A write, once queued, is no longer cancelled by its caller, but by
	// PostgreSQL's silence (detachedWrite).
	ctx, cancel := detachedWrite(context.Background())
	defer cancel()
	conn, err := g.pool.Acquire(ctx)
	if err != nil {
		for _, r := range group {
			r.result <- silenced(ctx, err)
		}
		return
	}
	defer conn.Release()
	if len(group) > 1 {
		err := g.together(ctx, conn, group)
		if err == nil {
			return
		}
		if conn.Conn().IsClosed() {
			// Lost: each runs again on a new connection if PostgreSQL ran
			// nothing of the group's COMMIT (a lostError), none if it may
			// have.
			g.pool.Reset()
			for _, r := range group {
				r.result <- silenced(ctx, err)
			}
			return
		}
	}
	for _, r := range group {
		r.result <- silenced(ctx, g.alone(ctx, conn, r))
	}
}

// compareFirst orders statements by their first arguments, when both are
// strings.
func compareFirst(a, b []any) int {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	x, okX := a[0].(string)
	y, okY := b[0].(string)
	if !okX || !okY {
		return 0
	}
	return strings.Compare(x, y)
}

// together sends the group in one transaction and, if it commits, hands
// each statement its row. If any statement or the commit failed, it hands
// out nothing and returns the error, a lostError if PostgreSQL ran nothing
// after a statement before the COMMIT (pglost.go).
func (g *pgGroup) together(ctx context.Context, conn *pgxpool.Conn, group []*groupedRow) error {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	for _, r := range group {
		queueConfirmation(b, r.check)
		b.Queue(r.query, r.args...)
	}
	b.Queue("COMMIT")
	br := conn.SendBatch(ctx, b)
	err, committing := readGroup(br, group)
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		for _, r := range group {
			r.result <- nil
		}
		return nil
	}
	if !committing && pgStoppedBefore(err) {
		return &lostError{err}
	}
	if conn.Conn().PgConn().TxStatus() != 'I' {
		// The connection is left in a failed transaction: end it.
		conn.Exec(ctx, "ROLLBACK")
	}
	return err
}

// errGroupRolledBack is a group's COMMIT that rolled back, a statement of
// the group having failed.
var errGroupRolledBack = errors.New("sqlstore: a group of sends rolled back")

// readGroup reads a group's results into its statements' destinations, and
// returns the first failure of a statement or of the commit, and whether
// it came in place of the COMMIT's answer. A caller's confirmation that
// succeeded counts, whatever becomes of the group: a commit whose answer
// is lost must not look like a request that took no effect (httpapi serves
// those again).
func readGroup(br pgx.BatchResults, group []*groupedRow) (err error, committing bool) {
	if _, err := br.Exec(); err != nil { // BEGIN
		return err, false
	}
	// Confirmed once every result is read, as they were queued.
	var confirmed []*parley.CallerCheck
	defer func() {
		for _, check := range confirmed {
			check.Confirm()
		}
	}()
	for _, r := range group {
		if r.check != nil && !r.check.Confirmed() {
			if _, err := br.Exec(); err != nil {
				return err, false
			}
			confirmed = append(confirmed, r.check)
		}
		if err := scanOne(br, r); err != nil {
			return err, false
		}
	}
	tag, err := br.Exec()
	if err == nil && tag.String() != "COMMIT" {
		err = errGroupRolledBack
	}
	return err, true
}

// scanOne reads a statement's one row into its destination, or, its
// caller gone, reads it and drops it (pgx skips a nil destination).
func scanOne(br pgx.BatchResults, r *groupedRow) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	dest := r.dest
	if r.abandoned {
		dest = make([]any, len(r.dest))
	}
	if err := scanFirst(rows, r.what, dest); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// alone runs a statement as its own transaction, after the confirmation of
// its caller if pending. Its error is a lostError if PostgreSQL ran nothing
// after a statement, its transaction's Sync included (pglost.go).
func (g *pgGroup) alone(ctx context.Context, conn *pgxpool.Conn, r *groupedRow) error {
	br, err := sendFirst(ctx, conn, r.check, r.query, r.args)
	if err == nil {
		err = scanOne(br, r)
		if closeErr := br.Close(); err == nil {
			return closeErr
		}
	}
	if pgStoppedBefore(err) {
		g.pool.Reset()
		return &lostError{err}
	}
	return err
}

// pgGrouped is the pgQuerier of a WriteOne write, whose one statement goes
// through queryRow to the node's group. Exec and Query are refused: a
// WriteOne write runs one statement of one row.
type pgGrouped struct {
	group *pgGroup
	ran   bool
}

// queryRow runs the write's statement in the node's next group.
func (x *pgGrouped) queryRow(ctx context.Context, what, query string, args, dest []any) error {
	if x.ran {
		return errSecondStatement
	}
	x.ran = true
	return x.group.queryRow(ctx, what, query, args, dest)
}

// errNotGrouped is a WriteOne write's statement that is not of one row.
var errNotGrouped = errors.New("sqlstore: a write of one statement ran one that does not return one row")

func (*pgGrouped) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errNotGrouped
}

func (*pgGrouped) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errNotGrouped
}
