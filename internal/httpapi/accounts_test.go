package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
)

func TestAccounts_Create(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()

	t.Run("OK", func(t *testing.T) {
		u, err := env.Client.CreateAccount(ctx, "Alice.B_1", "password1", "Alice B")
		if err != nil {
			t.Fatal(err)
		}
		if u.Username != "alice.b_1" || u.DisplayName != "Alice B" || u.ID == "" || u.CreatedAt.IsZero() {
			t.Fatalf("created %+v", u)
		}
	})
	t.Run("ErrTakenIgnoringCase", func(t *testing.T) {
		_, err := env.Client.CreateAccount(ctx, "ALICE.B_1", "password1", "")
		wantProblem(t, err, http.StatusConflict, "conflict")
	})
	for name, tc := range map[string]struct{ username, password string }{
		"ErrUsernameShort":    {"ab", "password1"},
		"ErrUsernameLong":     {strings.Repeat("a", 33), "password1"},
		"ErrUsernameCharset":  {"al-ice", "password1"},
		"ErrUsernameNonASCII": {"alicé", "password1"},
		"ErrPasswordShort":    {"carol", "1234567"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := env.Client.CreateAccount(ctx, tc.username, tc.password, "")
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	t.Run("ErrReservedForTheServer", func(t *testing.T) {
		for _, name := range []string{"parley", " Admin ", "support", "no_reply"} {
			_, err := env.Client.CreateAccount(ctx, name, "password1", "Parley")
			wantProblem(t, err, http.StatusConflict, "conflict")
		}
		// An operator may give one to an account.
		u, err := env.Server.Service.CreateUser(service.ConsoleContext(ctx), service.NewAccount{Username: "support", Password: "password1"})
		if err != nil || u.Username != "support" {
			t.Fatalf("the operator's support account: %+v, %v", u, err)
		}
	})
	t.Run("LongestUsername", func(t *testing.T) {
		if _, err := env.Client.CreateAccount(ctx, strings.Repeat("z", 32), "password1", ""); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAccounts_RegistrationClosed(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.Registration = config.RegistrationClosed })
	_, err := env.Client.CreateAccount(context.Background(), "alice", "password1", "")
	wantProblem(t, err, http.StatusForbidden, "forbidden")
}

func TestSessions(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")

	t.Run("Me", func(t *testing.T) {
		if me := apptest.MustMe(t, alice); me.Username != "alice" {
			t.Fatalf("me = %+v", me)
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		_, err := env.Client.SignIn(ctx, "alice", "wrong password")
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("ErrUnknownUser", func(t *testing.T) {
		_, err := env.Client.SignIn(ctx, "nobody", "password1")
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		_, err := env.Client.Me(ctx)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
		if e := err.(*client.Error); !strings.HasPrefix(e.WWWAuthenticate, "Bearer") {
			t.Errorf("WWW-Authenticate = %q", e.WWWAuthenticate)
		}
	})
	t.Run("SchemeIgnoresCase", func(t *testing.T) {
		var me struct{ Username string }
		if _, err := env.Client.Do(ctx, "GET", "/api/v1/me", nil, &me, "Authorization", "bearer "+alice.Token()); err != nil || me.Username != "alice" {
			t.Fatalf("lowercase scheme: %+v, %v", me, err)
		}
	})
	t.Run("ErrTokenInQuery", func(t *testing.T) {
		_, err := env.Client.Do(ctx, "GET", "/api/v1/me?access_token="+alice.Token(), nil, nil)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	})
	// RFC 6750 section 3.1: error="invalid_token" is for a bearer token
	// that was sent and refused; without one, the challenge is bare.
	t.Run("ErrNoBearerToken", func(t *testing.T) {
		for _, header := range []string{"Basic " + alice.Token(), "Bearer", "Bearer ", "", alice.Token()} {
			_, err := env.Client.Do(ctx, "GET", "/api/v1/me", nil, nil, "Authorization", header)
			wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
			if e := err.(*client.Error); e.WWWAuthenticate != `Bearer realm="parley"` {
				t.Errorf("Authorization %q: WWW-Authenticate = %q, want the bare challenge", header, e.WWWAuthenticate)
			}
		}
	})
	// A ticket is a credential only where the route takes one: the
	// realtime stream's.
	t.Run("ErrTicketWhereNoneIsTaken", func(t *testing.T) {
		_, err := env.Client.Do(ctx, "GET", "/api/v1/me?ticket=whatever", nil, nil)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
		if e := err.(*client.Error); e.WWWAuthenticate != `Bearer realm="parley"` {
			t.Errorf("WWW-Authenticate = %q, want the bare challenge", e.WWWAuthenticate)
		}
	})
	t.Run("ErrBadToken", func(t *testing.T) {
		for _, token := range []string{"nonsense", "pss_" + strings.Repeat("A", 43), alice.Token() + "x"} {
			_, err := env.Client.WithToken(token).Me(ctx)
			wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
			if e := err.(*client.Error); e.WWWAuthenticate != `Bearer realm="parley", error="invalid_token"` {
				t.Errorf("token %q: WWW-Authenticate = %q, want error=\"invalid_token\"", token, e.WWWAuthenticate)
			}
		}
	})
	t.Run("SignOut", func(t *testing.T) {
		s, err := env.Client.SignIn(ctx, "ALICE", apptest.Password("alice"))
		if err != nil {
			t.Fatal(err)
		}
		second := env.Client.WithToken(s.Token)
		if err := second.SignOut(ctx); err != nil {
			t.Fatal(err)
		}
		_, err = second.Me(ctx)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
		// Other sessions of the member live on.
		apptest.MustMe(t, alice)
	})
	// Last, as it ends every session so far.
	t.Run("ErrExpired", func(t *testing.T) {
		env.Clock.Advance(30*24*time.Hour + time.Second) // sessions last 30 days by default
		_, err := alice.Me(ctx)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	})
}

// TestSessions_SignOutOthers: a member ends every session of theirs but the
// one they ask from, and learns how many; the grants they gave apps stay,
// and an app cannot make the call.
func TestSessions_SignOutOthers(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	bob := env.MustMember(t, "bob")
	app := alicesApp(t, env)
	var others []*client.Client
	for range 2 {
		s, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
		if err != nil {
			t.Fatal(err)
		}
		others = append(others, env.Client.WithToken(s.Token))
	}

	// The app's sign-in, in a browser, made one more.
	e, err := alice.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.SignOutOthers(ctx)
	wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
	if n, err := alice.SignOutOthers(ctx); err != nil || n != len(e.Sessions)-1 || n < len(others) {
		t.Fatalf("signing out everywhere else: %d, %v; want %d sessions ended", n, err, len(e.Sessions)-1)
	}
	for i, c := range others {
		_, err := c.Me(ctx)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
		if t.Failed() {
			t.Fatalf("other session %d", i)
		}
	}
	for name, c := range map[string]*client.Client{"this session": alice, "the app": app, "another member": bob} {
		if _, err := c.Me(ctx); err != nil {
			t.Errorf("%s after signing out everywhere else: %v", name, err)
		}
	}
	if n, err := alice.SignOutOthers(ctx); err != nil || n != 0 {
		t.Errorf("again: %d, %v; want none ended", n, err)
	}
}

// A member keeps parley.MaxSessions sessions live at most: a sign-in past
// them ends the oldest, whose next request is 401, and leaves the others
// working.
func TestSessions_ASignInPastTheMostEndsTheOldest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	oldest := env.MustMember(t, "alice")
	// The others as if signed in since, on other devices (the sign-in
	// throttle lets one address sign in 30 times, then 10 a minute).
	aliceID := apptest.MustMe(t, oldest).ID
	err := env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		now := env.Server.Service.Now()
		for i := range parley.MaxSessions - 1 {
			s := &parley.Session{TokenHash: parley.HashToken(parley.NewID()), UserID: aliceID,
				CreatedAt: now.Add(time.Duration(i+1) * time.Millisecond), ExpiresAt: now.Add(time.Hour)}
			if err := tx.CreateSession(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oldest.Me(ctx); err != nil {
		t.Fatalf("alice's first session among %d: %v", parley.MaxSessions, err)
	}
	env.Clock.Advance(time.Second)
	signedIn, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	newest := env.Client.WithToken(signedIn.Token)
	_, err = oldest.Me(ctx)
	wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	e, err := newest.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Sessions) != parley.MaxSessions {
		t.Errorf("alice has %d sessions after %d sign-ins, want %d", len(e.Sessions), parley.MaxSessions+1, parley.MaxSessions)
	}
}

// TestAccounts_SetDisplayName: a member names themselves anew, and from
// their next request every read shows the new name: their account, the
// messages they sent before and after, as their friends read them. Spaces
// at either end are trimmed and an empty name is their username. A name
// that cannot be one, or a body without it, is 400 and changes nothing,
// and an app cannot make the call, which no scope allows.
func TestAccounts_SetDisplayName(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, alice, th, "before")
	app := alicesApp(t, env)
	named := func(t *testing.T, want string) {
		t.Helper()
		if me := apptest.MustMe(t, alice); me.DisplayName != want {
			t.Errorf("alice's account is named %q, want %q", me.DisplayName, want)
		}
		page, err := bob.Messages(ctx, th, client.MessagesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			if m.Sender.DisplayName != want {
				t.Errorf("bob sees alice's %q sent by %q, want %q", m.Text, m.Sender.DisplayName, want)
			}
		}
	}

	t.Run("Renamed", func(t *testing.T) {
		u, err := alice.SetDisplayName(ctx, "  Alice Liddell ")
		if err != nil || u.DisplayName != "Alice Liddell" || u.Username != "alice" {
			t.Fatalf("renamed: %+v, %v", u, err)
		}
		// Sent from the same session, so from the node's cache of callers.
		if m := apptest.MustSend(t, alice, th, "after"); m.Sender.DisplayName != "Alice Liddell" {
			t.Errorf("a message sent after the new name is sent by %q", m.Sender.DisplayName)
		}
		named(t, "Alice Liddell")
	})
	t.Run("ErrNotAName", func(t *testing.T) {
		for _, body := range []string{`{"display_name": "` + strings.Repeat("a", 65) + `"}`, `{"display_name": "evil\u202e"}`, `{"display_name": "a\u0000b"}`, `{}`,
			// Names that look empty, or like another's: characters that
			// show nothing, and letters drawn as blank space.
			`{"display_name": "\u200b"}`, `{"display_name": "bob\u200b"}`, `{"display_name": "bob\u2060"}`, `{"display_name": "b\u00adob"}`,
			`{"display_name": "a\u2028b"}`, `{"display_name": "\u3164"}`, `{"display_name": "\u2800 \u2800"}`, `{"display_name": "\u115f\u1160"}`,
			`{"display_name": "bob\u3164"}`, `{"display_name": "bob\u034f"}`, `{"display_name": "bob\ufe00"}`,
			`{"display_name": "bob\u17b4"}`, `{"display_name": "b\u17b5ob"}`, `{"display_name": "bob\ud834\udd59"}`,
			// The name deleted accounts go by.
			`{"display_name": "Deleted account"}`, `{"display_name": "deleted  ACCOUNT"}`, `{"display_name": "Deleted acc\u200count"}`,
			`{"display_name": "Deleted \u200daccount"}`, `{"display_name": "\uff24eleted account"}`} {
			_, err := alice.Do(ctx, "PATCH", "/api/v1/me", json.RawMessage(body), nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		}
		named(t, "Alice Liddell")
	})
	t.Run("NamesOfEveryScriptAndEmoji", func(t *testing.T) {
		for _, name := range []string{"👩\u200d💻 Zoë", "李雷", "ሰላም", "O'Brien-Smith", "\u2764\ufe0f Alice", "Alice Liddell"} {
			if u, err := alice.SetDisplayName(ctx, name); err != nil || u.DisplayName != name {
				t.Errorf("%q: %+v, %v", name, u, err)
			}
		}
		named(t, "Alice Liddell")
	})
	t.Run("ErrApp", func(t *testing.T) {
		_, err := app.SetDisplayName(ctx, "Mallory")
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
		named(t, "Alice Liddell")
	})
	t.Run("EmptyIsTheUsername", func(t *testing.T) {
		if u, err := alice.SetDisplayName(ctx, " "); err != nil || u.DisplayName != "alice" {
			t.Fatalf("an empty name: %+v, %v", u, err)
		}
		named(t, "alice")
	})
}

// TestAccounts_ChangePassword: a member gives their current password and a
// new one. The session that made the change goes on, every other session
// of the member ends, and only the new password signs in; the grants they
// gave apps stay. A wrong current password is 403, a new one that cannot
// be a password or is the current one is 400, and neither changes
// anything, nor does an app's try, which no scope allows.
func TestAccounts_ChangePassword(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	app := alicesApp(t, env)
	s, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	other := env.Client.WithToken(s.Token)
	old, brandNew := apptest.Password("alice"), "a brand new password"
	unchanged := func(t *testing.T) {
		t.Helper()
		apptest.MustMe(t, other)
		if _, err := env.Client.SignIn(ctx, "alice", old); err != nil {
			t.Fatalf("the old password after a refused change: %v", err)
		}
	}

	t.Run("ErrWrongPassword", func(t *testing.T) {
		failed := len(env.LogEntries(t, "sign-in failed"))
		wrong := env.Metric(t, `parley_signin_failures_total{reason="credentials"}`)
		_, err := alice.ChangePassword(ctx, "not the password", brandNew)
		wantProblem(t, err, http.StatusForbidden, "forbidden")
		unchanged(t)
		// Logged and counted as a failed sign-in is, for operators.
		if lines := env.LogEntries(t, "sign-in failed"); len(lines) != failed+1 || lines[len(lines)-1]["reason"] != "the password given to change it is wrong" {
			t.Errorf("the log's failed sign-ins: %v", lines)
		}
		if got := env.Metric(t, `parley_signin_failures_total{reason="credentials"}`); got != wrong+1 {
			t.Errorf("failed sign-ins counted %v, then %v", wrong, got)
		}
	})
	// Refused before the current password is checked: more tries than the
	// failures a sign-in may make before it waits cost none.
	t.Run("ErrNotAPassword", func(t *testing.T) {
		for range 3 {
			for _, pw := range []string{"short", "long enough\x00but a NUL", old} {
				_, err := alice.ChangePassword(ctx, old, pw)
				wantProblem(t, err, http.StatusBadRequest, "invalid")
			}
		}
		unchanged(t)
	})
	t.Run("ErrApp", func(t *testing.T) {
		_, err := app.ChangePassword(ctx, old, brandNew)
		wantProblem(t, err, http.StatusForbidden, "insufficient_scope")
		unchanged(t)
	})

	if _, err := alice.ChangePassword(ctx, old, brandNew); err != nil {
		t.Fatal(err)
	}
	t.Run("ThisSessionGoesOn", func(t *testing.T) { apptest.MustMe(t, alice) })
	t.Run("OtherSessionsEnd", func(t *testing.T) {
		_, err := other.Me(ctx)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
	})
	t.Run("OnlyTheNewPasswordSignsIn", func(t *testing.T) {
		_, err := env.Client.SignIn(ctx, "alice", old)
		wantProblem(t, err, http.StatusUnauthorized, "unauthorized")
		if _, err := env.Client.SignIn(ctx, "alice", brandNew); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AppsKeepTheirGrants", func(t *testing.T) { apptest.MustMe(t, app) })
}

// A session that ended while its node still holds it in its cache is
// told so when it gives its password, right or not, to change it or to
// delete the account: not that the password is wrong, and nothing changes.
func TestAccounts_AnEndedSessionGivingItsPassword(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	for name, give := range map[string]func(c *client.Client, pw string) error{
		"ChangePassword": func(c *client.Client, pw string) error {
			_, err := c.ChangePassword(ctx, pw, "a brand new password")
			return err
		},
		"DeleteAccount": func(c *client.Client, pw string) error { return c.DeleteAccount(ctx, pw) },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
			if err != nil {
				t.Fatal(err)
			}
			ended := env.Client.WithToken(s.Token)
			apptest.MustMe(t, ended) // in the node's cache from now on
			if _, err := alice.SignOutOthers(ctx); err != nil {
				t.Fatal(err)
			}
			for _, pw := range []string{apptest.Password("alice"), "not the password"} {
				wantProblem(t, give(ended, pw), http.StatusUnauthorized, "unauthorized")
			}
			apptest.MustMe(t, alice)
			if _, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice")); err != nil {
				t.Fatalf("alice's password after the ended session's try: %v", err)
			}
		})
	}
}

// alicesApp is an app alice connected, with the profile scope: the calls
// on her account itself are refused to it whatever its scopes.
func alicesApp(t *testing.T, env *apptest.Env) *client.Client {
	t.Helper()
	return env.Client.WithToken(env.MustToken(t, env.MustPartner(t, "Films"), "alice", []string{"openid", "profile"}, apptest.Answer{}).AccessToken)
}

// wantDetail fails the test unless err is a problem whose detail says want:
// domain errors about what the API takes in a header or a query parameter,
// or offers at another route, are told in the API's terms.
func wantDetail(t *testing.T, err error, want string) {
	t.Helper()
	if e, ok := errors.AsType[*client.Error](err); !ok || !strings.Contains(e.Detail, want) {
		t.Errorf("problem %v, want a detail that says %q", err, want)
	}
}

// wantProblem checks that err is a problem with the status and type code.
func wantProblem(t *testing.T, err error, status int, code string) {
	t.Helper()
	e, ok := errors.AsType[*client.Error](err)
	if !ok {
		t.Fatalf("err = %v, want a %d problem", err, status)
	}
	if e.Status != status || e.Type != "urn:parley:problem:"+code || e.Detail == "" || e.Title != http.StatusText(status) {
		t.Fatalf("problem = %+v, want status %d type %s with a detail", e, status, code)
	}
}
