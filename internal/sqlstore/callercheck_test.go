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
// expired (ErrInvalidToken); an app's token once it, its grant or its app
// changed (ErrAccessChanged; every such change: TestCallerCheck_AnAppsTokenAsItWas).
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
		// at; asApp one by the app's cached token.
		asSession := func(at time.Time) (context.Context, *parley.CallerCheck) {
			check := &parley.CallerCheck{TokenHash: token, At: at}
			return parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref(), SessionTokenHash: token, Check: check}), check
		}
		appHash, grant := appToken(t, db, u)
		asApp := func() (context.Context, *parley.CallerCheck) {
			check := &parley.CallerCheck{TokenHash: appHash, At: now, Grant: grant}
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
		for name, step := range steps {
			for kind, request := range map[string]func() (context.Context, *parley.CallerCheck){
				"a lasting session": func() (context.Context, *parley.CallerCheck) { return asSession(now) },
				"an app's token":    asApp,
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
		narrowed := *grant
		narrowed.Scopes = parley.Scopes{parley.ScopeOpenID}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.UpdateGrant(ctx, &narrowed) })
		for name, step := range steps {
			ctx, check := asApp()
			if err := step(ctx); !errors.Is(err, parley.ErrAccessChanged) {
				t.Errorf("%s after the app's grant was narrowed: %v, want ErrAccessChanged", name, err)
			}
			if check.Confirmed() {
				t.Errorf("%s confirmed an app's token whose grant was narrowed", name)
			}
		}
		if after := snapshot(t, db, th.ID); after != before {
			t.Errorf("the thread changed by requests of callers that no longer hold: %+v, then %+v", before, after)
		}
	})
}

// A member's session confirmed once stays confirmed: a later write of the
// request does not confirm it again, so a request that was confirmed at
// its first statement is not failed afterwards as one that took no effect.
// An app's token is confirmed again at every write, as its request's
// first statement confirmed it or not: a write whose request began before
// a revocation, a narrowing or a suspension is not told done after it
// was.
func TestCallerCheck_SessionConfirmedOnceAppAtEveryWrite(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		rename := func(check *parley.CallerCheck, app bool, title string) error {
			c := &parley.Caller{User: u.Ref(), Check: check}
			if app {
				c.App = &parley.AppAccess{}
			}
			ctx := parley.NewContextWithCaller(ctx, c)
			return db.Write(ctx, func(tx parley.Tx) error { return tx.RenameThread(ctx, th.ID, title, parley.Now()) })
		}

		session := parley.HashToken("session-token")
		now := parley.Now()
		mustWrite(t, db, func(tx parley.Tx) error {
			return tx.CreateSession(ctx, &parley.Session{TokenHash: session, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
		})
		check := &parley.CallerCheck{TokenHash: session, At: now}
		if err := rename(check, false, "first"); err != nil || !check.Confirmed() {
			t.Fatalf("the session's first write: %v, confirmed %v", err, check.Confirmed())
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteSession(ctx, session) })
		if err := rename(check, false, "second"); err != nil {
			t.Errorf("the session's second write, once it was signed out: %v, want it left confirmed", err)
		}

		hash, grant := appToken(t, db, u)
		check = &parley.CallerCheck{TokenHash: hash, At: now, Grant: grant}
		if err := rename(check, true, "third"); err != nil || !check.Confirmed() {
			t.Fatalf("the app's first write: %v, confirmed %v", err, check.Confirmed())
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.RevokeToken(ctx, hash, parley.Now()) })
		if err := rename(check, true, "fourth"); !errors.Is(err, parley.ErrAccessChanged) {
			t.Errorf("the app's second write, once its token was revoked: %v, want ErrAccessChanged", err)
		}
		if got := snapshot(t, db, th.ID).Title; got != "third" {
			t.Errorf("the thread's title: %q, want the app's first write's", got)
		}
	})
}

// An app's token's check holds while the token, its grant and its app are
// what they were when the token was looked up, whatever changes elsewhere,
// and fails once any of them changed in a way that may end or narrow what
// the token may do, or widen it.
func TestCallerCheck_AnAppsTokenAsItWas(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		u, th := changesThread(t, db)
		confirm := func(hash []byte, grant *parley.Grant) error {
			check := &parley.CallerCheck{TokenHash: hash, At: parley.Now(), Grant: grant}
			ctx := parley.NewContextWithCaller(ctx, &parley.Caller{User: u.Ref(), App: &parley.AppAccess{}, Check: check})
			return db.Read(ctx, func(tx parley.Tx) error { _, err := tx.FindThreadByID(ctx, th.ID); return err })
		}

		hash, grant := appToken(t, db, u)
		otherHash, otherGrant := appToken(t, db, u)
		mustWrite(t, db, func(tx parley.Tx) error {
			if _, err := tx.CloseThreadToApps(ctx, th.ID, u.ID, parley.Now()); err != nil {
				return err
			}
			if err := tx.RevokeToken(ctx, otherHash, parley.Now()); err != nil {
				return err
			}
			ended := *otherGrant
			ended.Scopes, ended.RevokedAt = parley.Scopes{parley.ScopeOpenID}, new(parley.Now())
			return tx.UpdateGrant(ctx, &ended)
		})
		if err := confirm(hash, grant); err != nil {
			t.Fatalf("the token after changes to another token, grant and thread: %v", err)
		}

		changes := map[string]func(tx parley.Tx, hash []byte, g parley.Grant) error{
			"the token revoked": func(tx parley.Tx, hash []byte, _ parley.Grant) error { return tx.RevokeToken(ctx, hash, parley.Now()) },
			"the grant revoked": func(tx parley.Tx, _ []byte, g parley.Grant) error {
				g.RevokedAt = new(parley.Now())
				return tx.UpdateGrant(ctx, &g)
			},
			"the grant narrowed": func(tx parley.Tx, _ []byte, g parley.Grant) error {
				g.Scopes = parley.Scopes{parley.ScopeOpenID}
				return tx.UpdateGrant(ctx, &g)
			},
			"the grant widened": func(tx parley.Tx, _ []byte, g parley.Grant) error {
				g.Scopes = append(g.Scopes, parley.ScopeMessagesWrite)
				return tx.UpdateGrant(ctx, &g)
			},
			"the grant's thread scope changed": func(tx parley.Tx, _ []byte, g parley.Grant) error {
				g.ThreadScope = parley.ThreadScopeApp
				return tx.UpdateGrant(ctx, &g)
			},
			"the app suspended": func(tx parley.Tx, _ []byte, g parley.Grant) error {
				return tx.UpdateAppReview(ctx, g.ClientID, parley.AppSuspended, false)
			},
		}
		for name, change := range changes {
			hash, grant := appToken(t, db, u)
			mustWrite(t, db, func(tx parley.Tx) error { return change(tx, hash, *grant) })
			if err := confirm(hash, grant); !errors.Is(err, parley.ErrAccessChanged) {
				t.Errorf("%s: %v, want ErrAccessChanged", name, err)
			}
		}
	})
}

// appToken stores an app, a grant of u's to it and an access token of the
// grant, and returns the token's hash and the grant.
func appToken(t *testing.T, db *sqlstore.DB, u *parley.User) ([]byte, *parley.Grant) {
	t.Helper()
	ctx := context.Background()
	now := parley.Now()
	app := &parley.App{ClientID: parley.NewID(), Name: "Films", RedirectURIs: []string{"https://app.example/cb"},
		ClientType: parley.ClientConfidential, State: parley.AppActive, CreatedAt: now}
	g := &parley.Grant{ID: parley.NewID(), UserID: u.ID, ClientID: app.ClientID, Scopes: parley.Scopes{parley.ScopeOpenID, parley.ScopeMessagesRead},
		ThreadScope: parley.ThreadScopeSelected, CreatedAt: now, UpdatedAt: now}
	tok := &parley.OAuthToken{Hash: parley.HashToken(parley.NewID()), Kind: parley.TokenAccess, FamilyID: parley.NewID(), GrantID: g.ID,
		ClientID: app.ClientID, UserID: u.ID, Scopes: g.Scopes, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	mustWrite(t, db, func(tx parley.Tx) error {
		if err := tx.CreateApp(ctx, app, nil); err != nil {
			return err
		}
		if err := tx.CreateGrant(ctx, g); err != nil {
			return err
		}
		return tx.CreateToken(ctx, tok)
	})
	return tok.Hash, g
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
