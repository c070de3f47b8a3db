package sqlstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parleyhq/parley"
)

// A request whose caller's session a node took from its cache carries a
// parley.SessionCheck: before the request's first statement takes effect,
// the store confirms that the session still lasts, and fails with
// parley.ErrInvalidToken if it does not (Store's contract).
//
// On SQLite that is a query of its own: before a read, on the read pool;
// for a write, in the writer's transaction just before the write runs,
// where the writer's connection finds the session's pages in its cache
// (a read connection drops its cache whenever the database changed since
// its last read, as it does between any two sends). Neither costs a round
// trip. On PostgreSQL, where a round trip costs the server more CPU
// than a short statement does, the confirmation is queued before the first
// statement and sent with it; it raises an error when the session has ended
// (migration 0020), and PostgreSQL then runs nothing more of what was sent
// with it.

// confirmSessionSQLite finds a session that lasts past the request's time.
const confirmSessionSQLite = `SELECT 1 FROM sessions WHERE token_hash = $1 AND expires_at > $2`

// confirmSessionPG raises an error (sessionEndedCode) unless the session
// lasts past the request's time.
const confirmSessionPG = `SELECT parley_confirm_session($1, $2)`

// sessionEndedCode is the SQLSTATE that parley_confirm_session raises.
const sessionEndedCode = "PY401"

// confirmSession confirms on SQLite the session of ctx's caller if it is
// pending, on the read pool.
func (db *DB) confirmSession(ctx context.Context) error {
	return confirmIn(ctx, &txn{stmts: &db.readStmts, detached: true}, parley.PendingSession(ctx))
}

// confirmIn confirms check's session, if any, by a query in t:
// parley.ErrInvalidToken when it has ended. The query changes nothing, so
// a transaction it fails in may go on.
func confirmIn(ctx context.Context, t *txn, check *parley.SessionCheck) error {
	if check == nil {
		return nil
	}
	var one int
	err := t.queryRow(ctx, "session", confirmSessionSQLite, []any{check.TokenHash, micros(check.At)}, &one)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return parley.ErrInvalidToken
	} else if err != nil {
		return mapError("confirm session", err)
	}
	check.Confirm()
	return nil
}

// queueConfirmation queues, on PostgreSQL, the confirmation of check's
// session in b, if check is pending.
func queueConfirmation(b *pgx.Batch, check *parley.SessionCheck) {
	if check != nil && !check.Confirmed() {
		b.Queue(confirmSessionPG, check.TokenHash, micros(check.At))
	}
}

// sendFirst sends, in one batch on conn, the prefix statements, the
// confirmation of check's session if pending, and a statement; it reads
// the results before the statement's and returns the batch at the
// statement's. A session that has ended is parley.ErrInvalidToken, and
// PostgreSQL has run nothing sent after its confirmation.
func sendFirst(ctx context.Context, conn *pgxpool.Conn, check *parley.SessionCheck, prefix []string, query string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	for _, p := range prefix {
		b.Queue(p)
	}
	queueConfirmation(b, check)
	b.Queue(query, args...)
	br := conn.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, sessionError(err)
		}
	}
	if check != nil {
		check.Confirm()
	}
	return br, nil
}

// sessionError turns the error parley_confirm_session raises into
// parley.ErrInvalidToken; it leaves any other as it is.
func sessionError(err error) error {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok && e.Code == sessionEndedCode {
		return parley.ErrInvalidToken
	}
	return err
}

// pgCheckedReads runs a read's statements on the pool, the first of them
// sent with the confirmation of the caller's session.
type pgCheckedReads struct {
	pool  *pgxpool.Pool
	check *parley.SessionCheck
}

func (r *pgCheckedReads) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	if r.check.Confirmed() {
		return r.pool.Exec(ctx, query, args...)
	}
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	br, err := sendFirst(ctx, conn, r.check, nil, query, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if closeErr := br.Close(); err == nil {
		err = closeErr
	}
	return tag, err
}

func (r *pgCheckedReads) Query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	if r.check.Confirmed() {
		return r.pool.Query(ctx, query, args...)
	}
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	br, err := sendFirst(ctx, conn, r.check, nil, query, args)
	if err != nil {
		conn.Release()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		conn.Release()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br, release: conn.Release}, nil
}
