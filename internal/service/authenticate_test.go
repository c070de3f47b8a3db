package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// unsealedTokens opens an app's access token as the provider's keys do,
// but from its plain text, "token ID:subject": the sealing is the
// provider's business, which these tests leave out.
type unsealedTokens struct{}

func (unsealedTokens) Decrypt(token string) (string, error) { return token, nil }

// lookedUpApp is the caller of appInGroup's access token, of the app acting
// for member, as s finds it for a request that may be made again
// (AuthenticateCached): looked up, its cache being empty.
func lookedUpApp(t *testing.T, s *Service, member *parley.User) *parley.Caller {
	t.Helper()
	app, err := s.AuthenticateCached(context.Background(), "access token:"+member.ID)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// A request served again after the store found its app's access changed
// (AuthenticateAgain) is refused as the first serving was if the access
// ends between the new look-up and its work, and its token, looked up
// once more, is refused.
func TestAuthenticateAgain_AccessEndedBetweenLookUpAndWork(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead, parley.ScopeMessagesWrite)
			s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{AccessTokens: unsealedTokens{}})
			token := "access token:" + users["alice"].ID
			app, err := s.AuthenticateAgain(ctx, token)
			if err != nil {
				t.Fatal(err)
			}
			alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref()})
			if err := s.RevokeGrant(alice, app.App.Grant.ID); err != nil {
				t.Fatal(err)
			}
			if m, _, err := s.SendMessage(parley.NewContextWithCaller(ctx, app), group, Draft{Text: "after the revocation"}, ""); !errors.Is(err, parley.ErrAccessChanged) {
				t.Errorf("the app's send, begun after its grant was revoked: %+v, %v; want it refused for the access changed", m, err)
			}
			if _, err := s.AuthenticateAgain(ctx, token); !errors.Is(err, parley.ErrInvalidToken) && parley.ErrorCode(err) != parley.EUNAUTHORIZED {
				t.Errorf("the token looked up again after its grant was revoked: %v, want it refused", err)
			}
		})
	}
}

// A caller looked up just before its member took the access away, an
// app's grant revoked or a session signed out, is refused by the store
// when the request's work begins, as a caller taken from the node's cache
// is: once the member was told the access ended, a request looked up
// before may not act.
func TestAuthenticateCached_AccessEndedBetweenLookUpAndWork(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			ctx := context.Background()
			users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead, parley.ScopeMessagesWrite)
			session := sessionTokenPrefix + "bob's session"
			now := parley.Now()
			err := db.Write(ctx, func(tx parley.Tx) error {
				return tx.CreateSession(ctx, &parley.Session{TokenHash: parley.HashToken(session), UserID: users["bob"].ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
			})
			if err != nil {
				t.Fatal(err)
			}
			// A node whose cache is empty: each token is looked up.
			s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{AccessTokens: unsealedTokens{}})

			app := lookedUpApp(t, s, users["alice"])
			alice := parley.NewContextWithCaller(ctx, &parley.Caller{User: users["alice"].Ref()})
			if err := s.RevokeGrant(alice, app.App.Grant.ID); err != nil {
				t.Fatal(err)
			}
			if m, _, err := s.SendMessage(parley.NewContextWithCaller(ctx, app), group, Draft{Text: "after the revocation"}, ""); !errors.Is(err, parley.ErrAccessChanged) {
				t.Errorf("the app's send, begun after its grant was revoked: %+v, %v; want it refused", m, err)
			}
			if _, err := s.Messages(parley.NewContextWithCaller(ctx, app), group, MessageQuery{}); !errors.Is(err, parley.ErrAccessChanged) {
				t.Errorf("the app's read, begun after its grant was revoked: %v; want it refused", err)
			}

			bob, err := s.AuthenticateCached(ctx, session)
			if err != nil {
				t.Fatal(err)
			}
			// Signed out by another request of the session's.
			if err := s.SignOut(parley.NewContextWithCaller(ctx, &parley.Caller{User: bob.User, SessionTokenHash: bob.SessionTokenHash})); err != nil {
				t.Fatal(err)
			}
			if m, _, err := s.SendMessage(parley.NewContextWithCaller(ctx, bob), group, Draft{Text: "after signing out"}, ""); !errors.Is(err, parley.ErrInvalidToken) {
				t.Errorf("bob's send, begun after he signed out: %+v, %v; want it refused", m, err)
			}
		})
	}
}

// storedClientTokensTx notes the hash of each app's own token the
// transaction stores.
type storedClientTokensTx struct {
	parley.Tx
	hashes *[][]byte
}

func (t storedClientTokensTx) CreateClientToken(ctx context.Context, ct *parley.ClientToken) error {
	*t.hashes = append(*t.hashes, ct.Hash)
	return t.Tx.CreateClientToken(ctx, ct)
}

// An app that authenticated with the secret a rotation replaced, just
// before its owner stopped that secret, gets no token of its own with it
// (EUNAUTHORIZED, and none stored): the token would read the app's reports
// after its owner was told the secret no longer works. The new secret gets
// one.
func TestIssueClientToken_SecretStoppedSinceTheAppAuthenticated(t *testing.T) {
	for _, engine := range sqlstoretest.Engines {
		t.Run(engine, func(t *testing.T) {
			db := sqlstoretest.Open(t, engine)
			ctx := context.Background()
			var stored [][]byte
			s := New(hookedStore{db, func(tx parley.Tx) parley.Tx { return storedClientTokensTx{tx, &stored} }},
				bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{AccessTokens: unsealedTokens{}})
			owner, _ := mustLoggedMember(t, db, "owner", 0)
			reg, err := s.RegisterApp(owner, NewApp{Name: "Films", RedirectURIs: []string{"https://films.example/cb"}})
			if err != nil {
				t.Fatal(err)
			}
			// The app authenticates with its secret: the token endpoint
			// found the app, and the secret good, ...
			app, oldSecret := reg.App, reg.ClientSecret
			rotated, err := s.RotateAppSecret(owner, app.ClientID, nil)
			if err != nil {
				t.Fatal(err)
			}
			// ... and its owner stops the secret before the token is stored.
			if _, err := s.EndOldAppSecret(owner, app.ClientID); err != nil {
				t.Fatal(err)
			}
			if issued, _, err := s.IssueClientToken(ctx, app, oldSecret, nil); parley.ErrorCode(err) != parley.EUNAUTHORIZED {
				t.Errorf("a token with the secret stopped since the app authenticated: issued %t, %v; want EUNAUTHORIZED", issued != nil, err)
			}
			for _, hash := range stored {
				err := db.Read(ctx, func(tx parley.Tx) error { _, _, err := tx.FindClientToken(ctx, hash); return err })
				if parley.ErrorCode(err) != parley.ENOTFOUND {
					t.Errorf("a token with the stopped secret is stored: %v", err)
				}
			}

			issued, _, err := s.IssueClientToken(ctx, app, rotated.ClientSecret, nil)
			if err != nil {
				t.Fatalf("a token with the new secret: %v", err)
			}
			if _, err := s.AuthenticateReportReader(ctx, issued.AccessID+":"+ClientSubject(app.ClientID)); err != nil {
				t.Errorf("the token got with the new secret reads no reports: %v", err)
			}
		})
	}
}

// sealedAs opens one sealed access token, whatever its text, into the
// plain text the provider sealed.
type sealedAs struct{ sealed, plain string }

func (o sealedAs) Decrypt(token string) (string, error) {
	if token == o.sealed {
		return o.plain, nil
	}
	return "", errors.New("not sealed")
}

// An app's access token is an app's whatever its first characters, those
// of a random nonce: one in 64⁴ begins as a member's session token does.
func TestAuthenticate_AppTokenThatBeginsAsASessionToken(t *testing.T) {
	db := sqlstoretest.Open(t, sqlstoretest.Engines[0])
	ctx := context.Background()
	users, group, _ := appInGroup(t, db, parley.ScopeMessagesRead)
	sealed := sessionTokenPrefix + strings.Repeat("A", 60)
	s := New(db, bus.NewMemory(16), slog.New(slog.DiscardHandler), Options{AccessTokens: sealedAs{sealed, "access token:" + users["alice"].ID}})
	for name, authenticate := range map[string]func(context.Context, string) (*parley.Caller, error){
		"Authenticate": s.Authenticate, "AuthenticateCached": s.AuthenticateCached,
		"AuthenticateAgain": s.AuthenticateAgain, "AuthenticateReportReader": s.AuthenticateReportReader,
	} {
		c, err := authenticate(ctx, sealed)
		if err != nil || c.App == nil {
			t.Errorf("%s: the app's live token: %+v, %v; want the app's caller", name, c, err)
			continue
		}
		if _, err := s.Messages(parley.NewContextWithCaller(ctx, c), group, MessageQuery{}); err != nil {
			t.Errorf("%s: the app's read: %v", name, err)
		}
	}
}
