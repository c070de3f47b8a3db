package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// A wrong password for a disabled account is a credentials failure, as
// its answer and its log line say: counting it as "disabled" would hide a
// guesser at a disabled account from an alert on credentials failures.
func TestMetrics_WrongPasswordOfDisabledAccount(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	if _, err := env.Server.Service.SetDisabled(service.ConsoleContext(context.Background()), "alice", true); err != nil {
		t.Fatal(err)
	}
	if s := signInVia(t, http.DefaultClient, env, "alice", "not-her-password"); s != http.StatusUnauthorized {
		t.Fatalf("sign-in: %d", s)
	}
	if s := signInVia(t, http.DefaultClient, env, "alice", apptest.Password("alice")); s != http.StatusUnauthorized {
		t.Fatalf("sign-in: %d", s)
	}
	creds := env.Metric(t, `parley_signin_failures_total{reason="credentials"}`)
	disabled := env.Metric(t, `parley_signin_failures_total{reason="disabled"}`)
	if creds != 1 || disabled != 1 {
		t.Errorf("credentials %v, disabled %v; want 1 and 1", creds, disabled)
	}
}
