package httpapi_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
)

// A name no account has is never logged, not even once its failures are
// throttled: it may be a password typed into the username field (the
// README's logs table: "only when the name is an account's").
func TestLogs_ThrottledUnknownNameNotLogged(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	const typed = "correct.horse.battery" // a password, typed where the name goes
	throttled := false
	for range 8 {
		if signInVia(t, http.DefaultClient, env, typed, "whatever") == http.StatusTooManyRequests {
			throttled = true
		}
	}
	if !throttled {
		t.Fatal("the failed sign-ins were never throttled")
	}
	for line := range strings.Lines(env.Logs.String()) {
		if strings.Contains(line, typed) {
			t.Errorf("a log line holds the name no account has: %s", line)
		}
	}
}

// A member who gives a wrong current password until throttled (to change
// it, say) is throttled under their session, and the log names the member,
// never the session's key: it is drawn from their token's hash, and the
// logs hold no tokens or their hashes (README, docs/deploy.md's table of
// log lines).
func TestLogs_ThrottledSessionLoggedByItsMember(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	ctx := context.Background()
	for range 12 {
		if _, err := alice.ChangePassword(ctx, "not-her-password", "a-new-password-1234"); err == nil {
			t.Fatal("a wrong current password was taken")
		}
	}
	sum := parley.HashToken(alice.Token())
	prefix := hex.EncodeToString(sum[:8])
	for line := range strings.Lines(env.Logs.String()) {
		if strings.Contains(line, prefix) {
			t.Errorf("a log line holds the start of the session token's hash (%s): %s", prefix, line)
		}
	}
	throttled := env.LogEntries(t, "throttled")
	if len(throttled) == 0 {
		t.Fatal("the wrong passwords were never throttled")
	}
	for _, e := range throttled {
		if e["user"] != "alice" || e["user_id"] == nil {
			t.Errorf("the throttled line does not name the member: %v", e)
		}
	}
}
