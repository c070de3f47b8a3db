package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/parleyhq/parley"
)

// An app's read of a thread's messages needs, beside the page, the
// grant's reach of the thread (which decides whether the thread exists for
// the app and from which message) and the thread's participants (whose
// access log records the read). On PostgreSQL each statement is a round
// trip, which costs this server more than the statement itself, so the
// three are one statement there: its subqueries share its snapshot, and
// the page's first message is the reach's, as read in that snapshot
// (reachedFrom), NULL, selecting no row, when the reach lets the grant
// read nothing. No reading of grant_threads or thread_app_closures but the
// one returned decides the page: a thread taken out of the grant, or
// closed to apps, while the statement runs is either in its snapshot, and
// in the reach it returns, or not at all.
//
// On SQLite, where a statement costs no round trip, the reach is read
// first, the page then from the reach's first message, and the
// participants last (readReached): the page may be of a later moment than
// the reach, as any two statements of a read may be, but it is never wider
// than the reach returned allows.

// FindReachedMessages reads an app's page of a thread with the grant's
// reach of it and its participants (findReachedPG on PostgreSQL).
func (t *txn) FindReachedMessages(ctx context.Context, g *parley.Grant, f parley.MessageFilter) (*parley.ReachedThread, []*parley.Message, error) {
	const op = "find reached messages"
	if t.pg == nil {
		return readReached(ctx, t, g, f.ThreadID, func(from int64) ([]*parley.Message, error) {
			f.FromSeq = from
			return t.FindMessages(ctx, f)
		})
	}
	where, args, size := pageQueryFrom(f, reachedFrom)
	list := make([]*parley.Message, 0, size)
	s := t.newMessageScanner(f.ThreadID, make([]any, reachColumns)...)
	reached, err := t.findReachedPG(ctx, op, g, messagePostgres.columns+where, pgMessageColumns, args, func(rows rows) error {
		m, err := s.scan(rows)
		if err == nil {
			list = append(list, m)
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	// SQL promises no order of the rows out of a union.
	order := func(a, b *parley.Message) int { return cmp.Compare(b.Seq, a.Seq) }
	if f.After != nil || len(f.Seqs) > 0 {
		order = func(a, b *parley.Message) int { return cmp.Compare(a.Seq, b.Seq) }
	}
	slices.SortFunc(list, order)
	return reached, list, nil
}

// FindReachedMessageChanges reads an app's page of a thread's changes as
// FindReachedMessages reads a page of its messages.
func (t *txn) FindReachedMessageChanges(ctx context.Context, g *parley.Grant, f parley.ChangeFilter) (*parley.ReachedThread, []parley.MessageChange, error) {
	const op = "find reached message changes"
	if t.pg == nil {
		return readReached(ctx, t, g, f.ThreadID, func(from int64) ([]parley.MessageChange, error) {
			f.FromSeq = from
			return t.FindMessageChanges(ctx, f)
		})
	}
	list := make([]parley.MessageChange, 0, max(0, min(f.Limit, parley.MaxMessageLimit+1)))
	s := t.newMessageScanner(f.ThreadID, make([]any, reachColumns)...)
	page := changesQuery(messagePostgres.columns, readableWhereFrom(reachedFrom))
	args := []any{f.ThreadID, f.MemberID, nil, f.After, max(0, f.Limit)}
	reached, err := t.findReachedPG(ctx, op, g, page, pgMessageColumns, args, func(rows rows) error {
		m, err := s.scan(rows)
		if err == nil {
			list = append(list, messageChange(m))
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(list, func(a, b parley.MessageChange) int { return cmp.Compare(a.Number, b.Number) })
	return reached, list, nil
}

// readReached reads, on SQLite, the grant's reach of the thread, then the
// page from the first message the reach allows (page(from); none when it
// allows none), then the thread's participants: after the page, so that a
// member who joins the thread and writes while the page is read, in
// another statement, is among those the read's record names.
func readReached[T any](ctx context.Context, t *txn, g *parley.Grant, threadID string, page func(from int64) ([]T, error)) (*parley.ReachedThread, []T, error) {
	r, err := t.FindThreadReach(ctx, g.ID, threadID)
	if err != nil {
		return nil, nil, err
	}
	reached := &parley.ReachedThread{Reach: *r}
	var list []T
	if from, ok := r.From(g.ThreadScope); ok {
		if list, err = page(from); err != nil {
			return nil, nil, err
		}
	}
	if reached.Participants, err = t.FindParticipantIDs(ctx, threadID); err != nil {
		return nil, nil, err
	}
	return reached, list, nil
}

// reachedFrom is, in findReachedPG's statement, the first message of the
// thread the grant may read: ThreadReach.From of the reach read in the
// same statement, NULL where From is false.
const reachedFrom = `(SELECT from_seq FROM allowed)`

// reachColumns is how many columns of findReachedPG's statement are the
// reach's, NULL in a page's rows, which a page's scanner skips.
const reachColumns = 4

// pgMessageColumns is how many columns messagePostgres.columns selects.
const pgMessageColumns = 9

// findReachedPG runs, on PostgreSQL, one statement of a row of grant g's
// reach of thread $1 and its participants, and the rows of page: columns
// columns and the condition after them, which takes its first message
// from reachedFrom and, as $3, the grant's ID, in place of args[2]. It
// calls row for each row of page, in no particular order.
//
// The reach's row and the page's are a UNION ALL, the reach's columns
// NULL in the page's rows and the page's in the reach's: a join would
// repeat the participants on every row of the page.
func (t *txn) findReachedPG(ctx context.Context, op string, g *parley.Grant, page string, columns int, args []any, row func(rows) error) (*parley.ReachedThread, error) {
	query, args := reachedSQL(g, page, columns, args)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapError(op, err)
	}
	defer rows.Close()
	raw, _ := rows.(interface{ RawValues() [][]byte })
	if raw == nil {
		return nil, mapError(op, errors.New("rows without their raw values"))
	}
	var reached *parley.ReachedThread
	for rows.Next() {
		if raw.RawValues()[0] == nil {
			if err := row(rows); err != nil {
				return nil, mapError(op, err)
			}
			continue
		}
		reached = &parley.ReachedThread{}
		var from *int64
		dest := append([]any{&reached.Reach.ClosedToApps, &from, &reached.Reach.AppsFromSeq, &reached.Participants}, make([]any, columns)...)
		if err := rows.Scan(dest...); err != nil {
			return nil, mapError(op, err)
		}
		if from != nil {
			reached.Reach.InGrant, reached.Reach.VisibleFromSeq = true, *from
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(op, err)
	}
	if reached == nil {
		return nil, mapError(op, errors.New("no row of the reach"))
	}
	return reached, nil
}

// reachedSQL returns findReachedPG's statement and its arguments. Its
// allowed.from_seq is ThreadReach.From in SQL: NULL when a participant
// closed the thread to apps; the thread's apps_from_seq under thread scope
// all; otherwise the later of the grant thread's visible_from_seq and
// that, NULL when the grant does not list the thread, never taken as 0 (as
// greatest would): a NULL first message selects no row of any page.
func reachedSQL(g *parley.Grant, page string, columns int, args []any) (string, []any) {
	args[2] = g.ID
	args = append(args, g.ThreadScope == parley.ThreadScopeAll)
	all := "$" + strconv.Itoa(len(args))
	return `
		WITH reach AS (
			SELECT EXISTS (SELECT 1 FROM thread_app_closures WHERE thread_id = $1) AS closed,
				(SELECT visible_from_seq FROM grant_threads WHERE grant_id = $3 AND thread_id = $1) AS granted_from,
				coalesce((SELECT apps_from_seq FROM threads WHERE id = $1), 0) AS apps_from
		), allowed AS (
			SELECT CASE WHEN closed THEN NULL WHEN ` + all + `::boolean THEN apps_from
				WHEN granted_from IS NULL THEN NULL ELSE greatest(granted_from, apps_from) END AS from_seq FROM reach
		)
		SELECT closed, granted_from, apps_from,
			(SELECT coalesce(array_agg(user_id ORDER BY user_id), '{}') FROM participants WHERE thread_id = $1 AND left_at IS NULL)` +
		strings.Repeat(", NULL", columns) + `
		FROM reach
		UNION ALL (SELECT ` + strings.Repeat("NULL, ", reachColumns) + page + `)`, args
}
