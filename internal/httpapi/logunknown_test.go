package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

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
