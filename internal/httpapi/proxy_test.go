package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// signInVia posts a sign-in through an HTTP client and returns the status.
func signInVia(t *testing.T, hc *http.Client, env *apptest.Env, username, password string) int {
	t.Helper()
	status, _, _ := postWith(t, hc, env.URL+"/api/v1/sessions", fmt.Sprintf(`{"username": %q, "password": %q}`, username, password))
	return status
}

// forwarding is an HTTP client whose requests say, as a proxy on this
// machine would, that they come from addr.
func forwarding(addr string) *http.Client {
	return &http.Client{Transport: apptest.ForwardedFor{Addr: addr}}
}

// Behind a trusted proxy each client is throttled, and logged, under the
// address the proxy forwards: one client's failed sign-ins hold up that
// client only, not everyone the proxy serves.
func TestClientAddr_BehindATrustedProxy(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.MustMember(t, "alice")
	guesser, alice := forwarding("198.51.100.4"), forwarding("198.51.100.5")
	for i := range 20 {
		if status := signInVia(t, guesser, env, fmt.Sprintf("ghost%02d", i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	if status := signInVia(t, guesser, env, "alice", apptest.Password("alice")); status != http.StatusTooManyRequests {
		t.Errorf("the guesser after 20 failures: %d, want 429", status)
	}
	if status := signInVia(t, alice, env, "alice", apptest.Password("alice")); status != http.StatusCreated {
		t.Errorf("alice, from another address behind the same proxy: %d", status)
	}
	throttled := env.LogEntries(t, "throttled")
	if len(throttled) != 1 || throttled[0]["client"] != "198.51.100.4" {
		t.Errorf("throttling logged as %v, want once, for the guesser's address", throttled)
	}
	if failed := env.LogEntries(t, "sign-in failed"); len(failed) != 20 || failed[0]["client"] != "198.51.100.4" || failed[0]["user"] != nil {
		t.Errorf("failed sign-ins logged as %v, want 20 from the guesser's address, naming no account (none exists)", failed)
	}
}

// From a peer that is not a trusted proxy X-Forwarded-For is ignored: a
// guesser cannot escape the throttle, or frame another address, by
// writing one.
func TestClientAddr_SpoofedHeaderIgnored(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	for i := range 20 {
		if status := signInVia(t, forwarding(fmt.Sprintf("203.0.113.%d", i)), env, fmt.Sprintf("ghost%02d", i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	if status := signInVia(t, forwarding("203.0.113.99"), env, "alice", apptest.Password("alice")); status != http.StatusTooManyRequests {
		t.Errorf("after 20 failures under 20 forged addresses: %d, want 429", status)
	}
	for _, e := range append(env.LogEntries(t, "sign-in failed"), env.LogEntries(t, "throttled")...) {
		if e["client"] != "127.0.0.1" {
			t.Errorf("logged under %v, want the peer's address 127.0.0.1: %v", e["client"], e)
		}
	}
}

// A request refused by a rate limit is logged with the member and the
// client's address.
func TestRateLimit_Logged(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) {
		c.TrustedProxies = "127.0.0.1"
		c.RateLimitMember, c.RateLimitMemberBurst = 0.001, 1
	})
	alice := env.MustMember(t, "alice").WithHTTPClient(&http.Client{Transport: apptest.ForwardedFor{Addr: "2001:db8::7", Base: env.HTTP.Transport}})
	ctx := context.Background()
	alice.Me(ctx)
	if _, err := alice.Me(ctx); client.StatusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("a second call at once: %v, want 429", err)
	}
	limited := env.LogEntries(t, "rate limited")
	if len(limited) != 1 || limited[0]["user"] != "alice" || limited[0]["client"] != "2001:db8::7" || limited[0]["limit"] != "member" {
		t.Errorf("logged %v, want alice's refusal with her address", limited)
	}
}
