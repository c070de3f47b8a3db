package sqlstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parleyhq/parley"
)

// A request whose caller a node took from its cache carries a
// parley.CallerCheck: before the request's first statement takes effect,
// the store confirms that a member's session still lasts, or that an app's
// token is still in force with its grant and app, the grant's scopes and
// thread scope as they were found, and fails with parley.ErrInvalidToken
// or parley.ErrAccessChanged if not (Store's contract). An app's check
// looks at its own token's rows only: a change to any other grant, app or
// thread leaves it be. (The access version the realtime streams compare
// moves with every such change anywhere; a check of it, the first form of
// this one, failed every cached token of every node at each.)
//
// On SQLite that is a query of its own: before a read, on the read pool;
// for a write, in the writer's transaction just before the write runs,
// where the writer's connection finds the rows' pages in its cache (a read
// connection drops its cache whenever the database changed since its last
// read, as it does between any two sends). Neither costs a round trip. On
// PostgreSQL, where a round trip costs the server more CPU than a short
// statement does, the confirmation is queued before the first statement
// and sent with it; it raises an error when the caller no longer holds
// (migrations 0020 and 0032), and PostgreSQL then runs nothing more of
// what was sent with it.

// The confirmations on SQLite: a row when the caller holds.
const (
	confirmSessionSQLite  = `SELECT 1 FROM sessions WHERE token_hash = $1 AND expires_at > $2`
	confirmAppTokenSQLite = `
		SELECT 1 FROM oauth_tokens t
		JOIN grants g ON g.id = t.grant_id
		JOIN apps a ON a.client_id = t.client_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND g.id = $2 AND g.revoked_at IS NULL
		  AND g.scopes = $3 AND g.thread_scope = $4 AND a.state = $5`
)

// The confirmations on PostgreSQL raise an error (sessionEndedCode,
// accessChangedCode) when the caller no longer holds.
const (
	confirmSessionPG      = `SELECT parley_confirm_session($1, $2)`
	confirmAppTokenPG     = `SELECT parley_confirm_app_token($1, $2, $3, $4, $5)`
	confirmAppTokenHeldPG = `SELECT parley_confirm_app_token_held($1, $2, $3, $4, $5)`
)

// The SQLSTATEs the confirmations on PostgreSQL raise.
const (
	sessionEndedCode  = "PY401"
	accessChangedCode = "PY409"
)

// confirmCaller confirms on SQLite the caller of ctx if it is pending, on
// the read pool.
func (db *DB) confirmCaller(ctx context.Context) error {
	return confirmIn(ctx, &txn{stmts: &db.readStmts, detached: true}, parley.PendingCheck(ctx))
}

// confirmIn confirms check's caller, if any and, but for an app's,
// not yet confirmed, by a query in t: parley.ErrInvalidToken or
// parley.ErrAccessChanged when it no longer holds. The query changes
// nothing, so a transaction it fails in may go on. A member's session
// confirmed once stays so, also when the writer runs its batch again: the
// request is then as one that came a moment before the change. An app's
// token is confirmed at each write (writeCheck).
func confirmIn(ctx context.Context, t *txn, check *parley.CallerCheck) error {
	if check == nil || check.Confirmed() && check.Grant == nil {
		return nil
	}
	query, args := confirmSessionSQLite, []any{check.TokenHash, micros(check.At)}
	if check.Grant != nil {
		query, args = confirmAppTokenSQLite, appTokenArgs(check)
	}
	var one int
	err := t.queryRow(ctx, "caller", query, args, &one)
	if parley.ErrorCode(err) == parley.ENOTFOUND {
		return checkFailed(check)
	} else if err != nil {
		return mapError("confirm caller", err)
	}
	check.Confirm()
	return nil
}

// checkFailed is the error of check's confirmation when its caller no
// longer holds.
func checkFailed(check *parley.CallerCheck) error {
	if check.Grant != nil {
		return parley.ErrAccessChanged
	}
	return parley.ErrInvalidToken
}

// appTokenArgs are the arguments of an app's token's confirmation.
func appTokenArgs(check *parley.CallerCheck) []any {
	g := check.Grant
	return []any{check.TokenHash, g.ID, g.Scopes.String(), g.ThreadScope, parley.AppActive}
}

// queueConfirmation queues, on PostgreSQL, the confirmation of check's
// caller in b, if check is pending.
func queueConfirmation(b *pgx.Batch, check *parley.CallerCheck) {
	switch {
	case check == nil || check.Confirmed():
	case check.Grant != nil:
		b.Queue(confirmAppTokenPG, appTokenArgs(check)...)
	default:
		b.Queue(confirmSessionPG, check.TokenHash, micros(check.At))
	}
}

// writeCheck returns the check a write on SQLite confirms in the writer's
// transaction: its caller's if pending, and an app's always, as its
// token, grant and app are held on PostgreSQL (appCheck). The writer runs
// one write at a time, so a write that finds them as they were is never
// told done after a revocation, a narrowing or a suspension that was,
// even when an earlier statement of its request confirmed them before the
// change.
func writeCheck(ctx context.Context) *parley.CallerCheck {
	if check := appCheck(ctx); check != nil {
		return check
	}
	return parley.PendingCheck(ctx)
}

// appCheck returns the check of ctx's caller if an app's, confirmed or
// not: in a write on PostgreSQL, the app's token, grant and app are held
// as confirmed until the write ends, so that a revocation, a narrowing or
// a suspension on another node waits for the write, or, made first, is
// seen by it, never told done while the write goes on to commit
// (migration 0049). Each run of the write holds them again: a run after a
// deadlock is a transaction of its own.
func appCheck(ctx context.Context) *parley.CallerCheck {
	if c := parley.CallerFromContext(ctx); c != nil && c.Check != nil && c.Check.Grant != nil {
		return c.Check
	}
	return nil
}

// sendFirst sends, in one batch on conn, the confirmation of check's
// caller if pending and a statement; it reads the results before the
// statement's and returns the batch at the statement's. A caller that no
// longer holds is checkError's error, and PostgreSQL has run nothing sent
// after its confirmation.
func sendFirst(ctx context.Context, conn *pgxpool.Conn, check *parley.CallerCheck, query string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	queueConfirmation(b, check)
	b.Queue(query, args...)
	return sendQueued(ctx, conn, b, check)
}

// sendQueued sends b on conn and reads the results of all its statements
// but the last, at whose it returns the batch, as sendFirst says.
func sendQueued(ctx context.Context, conn *pgxpool.Conn, b *pgx.Batch, check *parley.CallerCheck) (pgx.BatchResults, error) {
	br := conn.SendBatch(ctx, b)
	for range b.Len() - 1 {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, checkError(err)
		}
	}
	if check != nil {
		check.Confirm()
	}
	return br, nil
}

// checkError turns the errors the confirmations raise into
// parley.ErrInvalidToken and parley.ErrAccessChanged; it leaves any other
// as it is.
func checkError(err error) error {
	if e, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch e.Code {
		case sessionEndedCode:
			return parley.ErrInvalidToken
		case accessChangedCode:
			return parley.ErrAccessChanged
		}
	}
	return err
}

// isCheckFailure reports whether err is a confirmation's failure: then
// the confirmation changed nothing.
func isCheckFailure(err error) bool {
	return errors.Is(err, parley.ErrInvalidToken) || errors.Is(err, parley.ErrAccessChanged)
}

// pgCheckedReads runs a read's statements on the pool, the first of them
// sent with the confirmation of the caller.
type pgCheckedReads struct {
	pool  *pgxpool.Pool
	check *parley.CallerCheck
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
	br, err := sendFirst(ctx, conn, r.check, query, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	return execAndClose(br)
}

// execAndClose reads the result of br's statement, the last it holds, and
// closes it.
func execAndClose(br pgx.BatchResults) (pgconn.CommandTag, error) {
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
	br, err := sendFirst(ctx, conn, r.check, query, args)
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
