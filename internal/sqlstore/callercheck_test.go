package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// A request whose caller a node took from its cache has the caller
// confirmed by its first read or write: while the caller holds every kind
// of read and write runs, and the check is confirmed once; once it no
// longer does, each fails and keeps nothing, whichever of them comes first
// in the request. A member's session no longer holds once revoked or
// expired (ErrInvalidToken); an app's token once the access version moved
// (ErrAccessChanged).
func TestCallerCheck_ConfirmedByTheFirstStatement(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		token := parley.HashToken("session-token")
		now := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.CreateSession(ctx, &parley.Session{TokenHash: token, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		// asSession returns a context of a request by the cached session
		// at; asApp one by an app's token cached at the access version.
		asSession := func(at time.Time) (context.Context, *parley.CallerCheck) {
			check := &parley.CallerCheck{TokenHash: token, At: at}
			return parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref(), SessionTokenHash: token, Check: check}), check
		}
		asApp := func(version int64) (context.Context, *parley.CallerCheck) {
			check := &parley.CallerCheck{AccessVersion: version, At: now}
			return parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref(), App: &parley.AppAccess{}, Check: check}), check
		}
		post := func(ctx context.Context, text string) error {
			return db.WriteOne(ctx, func(tx parley.Tx) error {
				m := &parley.Message{ID: parley.NewID(), ThreadID: th.ID, Sender: u.Ref(), Kind: parley.MessageKindText, Text: text, CreatedAt: parley.Now()}
				_, _, err := tx.PostParticipantMessage(ctx, m)
				return err
			})
		}
		rename := func(ctx context.Context, title string) error {
			return db.Write(ctx, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, title, parley.Now()) })
		}
		renameLazily := func(ctx context.Context, title string) error {
			return db.WriteLazily(ctx, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, title, parley.Now()) })
		}
		read := func(ctx context.Context) error {
			return db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindThreadByID(ctx, th.ID); return err })
		}
		steps := map[string]func(ctx context.Context) error{
			"Read":        read,
			"Write":       func(ctx context.Context) error { return rename(ctx, "renamed") },
			"WriteLazily": func(ctx context.Context) error { return renameLazily(ctx, "renamed lazily") },
			"WriteOne":    func(ctx context.Context) error { return post(ctx, "posted") },
			// A request may read or write nothing before it acts, as
			// the opening of a realtime stream does: it is confirmed all
			// the same.
			"Read of nothing":  func(ctx context.Context) error { return db.Read(ctx, func(parley.Tx) error { return nil }) },
			"Write of nothing": func(ctx context.Context) error { return db.Write(ctx, func(parley.Tx) error { return nil }) },
		}
		version := func() int64 {
			var v int64
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { v, err = tx.FindAccessVersion(ctx); return err }); err != nil {
				t.Fatal(err)
			}
			return v
		}
		seen := version()
		for name, step := range steps {
			for kind, request := range map[string]func() (context.Context, *parley.CallerCheck){
				"a lasting session": func() (context.Context, *parley.CallerCheck) { return asSession(now) },
				"an app's token":    func() (context.Context, *parley.CallerCheck) { return asApp(seen) },
			} {
				ctx, check := request()
				if err := step(ctx); err != nil {
					t.Fatalf("%s by %s: %v", name, kind, err)
				}
				if !check.Confirmed() {
					t.Fatalf("%s did not confirm %s", name, kind)
				}
			}
		}
		before := snapshot(t, db, th.ID)

		for name, step := range steps {
			ctx, _ := asSession(now.Add(2 * time.Hour))
			if err := step(ctx); !errors.Is(err, parley.ErrInvalidToken) {
				t.Errorf("%s after the session expired: %v, want ErrInvalidToken", name, err)
			}
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteSession(ctx, token) })
		for name, step := range steps {
			ctx, check := asSession(now)
			if err := step(ctx); !errors.Is(err, parley.ErrInvalidToken) {
				t.Errorf("%s after the session was revoked: %v, want ErrInvalidToken", name, err)
			}
			if check.Confirmed() {
				t.Errorf("%s confirmed a revoked session", name)
			}
		}
		// Closing a thread to apps is one of the changes that move the
		// access version.
		mustWrite(t, db, func(tx parley.Tx) error { _, err := tx.CloseThreadToApps(ctx, th.ID, u.ID, now); return err })
		if version() == seen {
			t.Fatal("closing a thread to apps did not move the access version")
		}
		for name, step := range steps {
			ctx, check := asApp(seen)
			if err := step(ctx); !errors.Is(err, parley.ErrAccessChanged) {
				t.Errorf("%s after the access version moved: %v, want ErrAccessChanged", name, err)
			}
			if check.Confirmed() {
				t.Errorf("%s confirmed an app's token at an access version that moved", name)
			}
		}
		if after := snapshot(t, db, th.ID); after != before {
			t.Errorf("the thread changed by requests of callers that no longer hold: %+v, then %+v", before, after)
		}
	})
}

// A check confirmed once stays confirmed: a write run again (SQLite's
// writer runs its batch again when one of its writes fails, PostgreSQL's
// retries after a deadlock) does not confirm it again, so a request that
// was confirmed at its first statement is never failed afterwards as one
// that took no effect.
func TestCallerCheck_ConfirmedOnce(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		var seen int64
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { seen, err = tx.FindAccessVersion(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		check := &parley.CallerCheck{AccessVersion: seen}
		if err := sqlstore.ConfirmInWrite(ctx, db, check); err != nil || !check.Confirmed() {
			t.Fatalf("the first confirmation: %v, confirmed %v", err, check.Confirmed())
		}
		mustWrite(t, db, func(tx parley.Tx) error { _, err := tx.CloseThreadToApps(ctx, th.ID, u.ID, parley.Now()); return err })
		if err := sqlstore.ConfirmInWrite(ctx, db, check); err != nil {
			t.Errorf("the confirmed check, once the access version moved: %v, want it left confirmed", err)
		}
		if err := sqlstore.ConfirmInWrite(ctx, db, &parley.CallerCheck{AccessVersion: seen}); !errors.Is(err, parley.ErrAccessChanged) {
			t.Errorf("a new check at the version that moved: %v, want ErrAccessChanged", err)
		}
	})
}

// threadState is what the caller check's writes could change.
type threadState struct {
	Title   string
	LastSeq int64
}

func snapshot(t *testing.T, db *sqlstore.DB, threadID string) threadState {
	t.Helper()
	var th *parley.Thread
	if err := db.Read(context.Background(), func(tx parley.Tx) (err error) {
		th, err = tx.FindThreadByID(context.Background(), threadID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return threadState{th.Title, th.LastSeq}
}
