package sqlstore

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// A connection to PostgreSQL can be lost between two statements or during
// one: PostgreSQL restarts or fails over, an operator ends the backend
// (pg_terminate_backend), a proxy drops a connection idle too long. The
// pool hands out its idle connections without a round trip to check each
// (a ping a request would cost more than the rare loss): pgx leaves out
// one whose end it has already read, but the first statement sent on one
// lost a moment before, or while the statement runs, fails. Under load,
// as PostgreSQL restarts, that is many requests. What cannot have taken
// effect runs again, on a new connection, and its caller never learns of
// the loss:
//
//   - a read whose first statement found its connection lost
//     (postgres.read): it has read nothing, so that nothing it gathers is
//     gathered twice;
//   - a write, if its connection was lost before its COMMIT was sent
//     (postgres.try): its transaction was rolled back;
//   - a group of sends (pgGroup.together), a send alone (pgGroup.alone) or
//     a line of the journal of reads (postgres.journalLine), whose COMMIT,
//     or Sync, goes in the same batch as its statements, if
//     PostgreSQL ended the session before answering them (pgStoppedBefore):
//     it answers in order, so it ran nothing after.
//
// Any other write that lost its connection may have committed or not; it
// fails as before, and a send's caller may retry it with its
// Idempotency-Key. A connection found lost closes the pool's others too
// (pgxpool's Reset): a restart or a failover has ended them all, and each
// would otherwise fail a request of its own.

// pgConnLost reports whether err is the loss of the connection a statement
// ran on, rather than PostgreSQL's answer to the statement: PostgreSQL
// ended the session (an error of severity FATAL or PANIC), or the network
// did, or pgx found the connection closed before it sent anything. A
// failure to connect is not one: PostgreSQL is not there to run it again.
func pgConnLost(err error) bool {
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return false
	}
	if pgSessionEnded(err) || pgconn.SafeToRetry(err) {
		return true
	}
	_, network := errors.AsType[*net.OpError](err)
	return network || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// pgUnreachable reports whether err says that PostgreSQL could not be
// reached: it did not answer in time (errPGSilent), took no connection
// (refused, out of reach, starting or stopping, the database closed to
// connections), or the connection was lost (pgConnLost). The end of the
// caller's own context is none of these: it says nothing of the database.
func pgUnreachable(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, errPGSilent):
		return true
	case callerEnded(err):
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	return pgConnLost(err)
}

// callerEnded reports whether err is the end of a call's context.
func callerEnded(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// pgSessionEnded reports whether err is PostgreSQL ending the session: it
// comes in place of whatever answer was next, so the statement whose
// answer that was did not complete.
func pgSessionEnded(err error) bool {
	e, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (e.Severity == "FATAL" || e.Severity == "PANIC")
}

// pgStoppedBefore reports whether err, in place of a statement's answer,
// shows that PostgreSQL ran nothing sent after the statement: it ended the
// session instead of answering (it answers in order), or pgx sent nothing.
func pgStoppedBefore(err error) bool {
	return pgSessionEnded(err) || pgconn.SafeToRetry(err)
}

// lostError is the error of a write (a grouped send, a line of the journal
// of reads) whose connection was lost before it could commit: it may run
// again (postgres.try, postgres.logReads).
type lostError struct{ err error }

func (e *lostError) Error() string { return e.err.Error() }
func (e *lostError) Unwrap() error { return e.err }
