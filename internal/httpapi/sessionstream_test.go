package httpapi_test

import (
	"cmp"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// sessionEndedReason is the close reason of a member's stream whose
// session ended.
const sessionEndedReason = "session ended: sign in again"

// TestEvents_MemberStreamEndsWithItsSession: however a member's session
// ends, every stream opened with it closes at once with 1008 and a reason
// saying the session ended, or, when it ended with the account, that the
// account was deleted or disabled, before any message sent afterwards
// reaches it. A stream of the member's other session goes on when only the one
// session ended, the streams of the session that changed its member's
// password go on when only the others ended, and others' streams go on.
func TestEvents_MemberStreamEndsWithItsSession(t *testing.T) {
	t.Parallel()
	console := service.ConsoleContext(context.Background())
	for name, tc := range map[string]struct {
		end func(t *testing.T, env *apptest.Env, alice *client.Client) error
		// thisLasts says whether the session that made the end outlives
		// it, otherLasts whether alice's other session does.
		thisLasts, otherLasts bool
		// reason is the ended streams' close reason, when not
		// sessionEndedReason.
		reason string
	}{
		"SignedOut": {
			end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
				return alice.SignOut(context.Background())
			},
			otherLasts: true,
		},
		"OthersSignedOut": {
			end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
				_, err := alice.SignOutOthers(context.Background())
				return err
			},
			thisLasts: true,
		},
		"AllSessionsEnded": {end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
			_, err := env.Server.Service.SignOutUser(console, "alice")
			return err
		}},
		"PasswordChanged": {end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
			_, err := env.Server.Service.SetPassword(console, "alice", "a brand new password")
			return err
		}},
		"PasswordChangedByTheMember": {
			end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
				_, err := alice.ChangePassword(context.Background(), apptest.Password("alice"), "a brand new password")
				return err
			},
			thisLasts: true,
		},
		"AccountDisabled": {end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
			_, err := env.Server.Service.SetDisabled(console, "alice", true)
			return err
		}, reason: "account disabled"},
		"AccountDeleted": {end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
			return alice.DeleteAccount(context.Background(), apptest.Password("alice"))
		}, reason: "account deleted"},
		"AccountDeletedByAnOperator": {end: func(t *testing.T, env *apptest.Env, alice *client.Client) error {
			return env.Server.Service.DeleteUser(console, "alice")
		}, reason: "account deleted"},
	} {
		t.Run(name, func(t *testing.T) {
			env := apptest.Start(t)
			alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
			apptest.MustFriends(t, alice, bob)
			th := apptest.MustThread(t, bob, "alice").ID
			s, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice"))
			if err != nil {
				t.Fatal(err)
			}
			phone, laptop, other := mustEvents(t, alice), mustEvents(t, alice), mustEvents(t, env.Client.WithToken(s.Token))
			bobs := mustEvents(t, bob)

			if err := tc.end(t, env, alice); err != nil {
				t.Fatal(err)
			}
			after := apptest.MustSend(t, bob, th, "after the session ended")
			reason := cmp.Or(tc.reason, sessionEndedReason)
			for _, stream := range []*client.EventStream{phone, laptop} {
				if tc.thisLasts {
					mustReceive(t, stream, after.ID)
				} else {
					mustEndWith(t, stream, after.ID, reason)
				}
			}
			if tc.otherLasts {
				mustReceive(t, other, after.ID)
			} else {
				mustEndWith(t, other, after.ID, reason)
			}
			mustReceive(t, bobs, after.ID)
		})
	}
}

// TestEvents_MemberStreamEndsWhenItsSessionExpires: a member's stream
// closes when its session expires, by the stream's own knowledge of when:
// with a second left, within a few; and, with the clock moved past the
// expiry, at the node's next sweep.
func TestEvents_MemberStreamEndsWhenItsSessionExpires(t *testing.T) {
	t.Parallel()
	t.Run("AtTheExpiry", func(t *testing.T) {
		env := apptest.Start(t)
		alice := env.MustMember(t, "alice")
		env.Clock.Advance(config.Default().SessionTTL - time.Second)
		mustEndWithSession(t, mustEvents(t, alice), "")
	})
	t.Run("ClockMovedPastIt", func(t *testing.T) {
		env := apptest.Start(t)
		alice := env.MustMember(t, "alice")
		stream := mustEvents(t, alice)
		env.Clock.Advance(config.Default().SessionTTL)
		if err := env.Server.Service.CheckSessions(context.Background()); err != nil {
			t.Fatal(err)
		}
		mustEndWithSession(t, stream, "")
	})
}

// TestNodes_SignOutEndsTheStreamOnAnotherNode: two servers on one
// PostgreSQL database and no bus between them; a member signs out through
// one, and the stream they opened on the other closes at that node's next
// sweep of its streams' sessions.
func TestNodes_SignOutEndsTheStreamOnAnotherNode(t *testing.T) {
	t.Parallel()
	url := sqlstoretest.PostgresURL(t)
	onOne := func(c *config.Config) { c.Database = url }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	aliceA := a.MustMember(t, "alice")
	stream := mustEvents(t, b.Client.WithToken(aliceA.Token()))
	if err := aliceA.SignOut(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Server.Service.CheckSessions(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustEndWithSession(t, stream, "")
}

// mustEndWithSession fails the test unless the server closes the stream,
// soon, with 1008 and the reason that the session ended, and unless the
// message with the ID, if any, did not reach it before.
func mustEndWithSession(t *testing.T, s *client.EventStream, messageID string) {
	t.Helper()
	mustEndWith(t, s, messageID, sessionEndedReason)
}

// mustEndWith is mustEndWithSession with the close reason given.
func mustEndWith(t *testing.T, s *client.EventStream, messageID, reason string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := s.Next(ctx)
		if err == nil {
			if messageID != "" && strings.Contains(string(ev.Data), messageID) {
				t.Fatalf("a stream of the ended session received %s sent after it ended", ev.Type)
			}
			continue
		}
		if ctx.Err() != nil {
			t.Fatal("the stream of the ended session is still open")
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != reason {
			t.Fatalf("the stream ended with %v, want 1008 %q", err, reason)
		}
		return
	}
}

// mustReceive fails the test unless the message with the ID reaches the
// stream.
func mustReceive(t *testing.T, s *client.EventStream, messageID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for message %s: %v", messageID, err)
		}
		if ev.Type == client.EventMessageCreated && strings.Contains(string(ev.Data), messageID) {
			return
		}
	}
}
