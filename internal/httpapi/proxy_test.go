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

// signUpVia posts a new account through an HTTP client and returns the
// status.
func signUpVia(t *testing.T, hc *http.Client, env *apptest.Env, username string) int {
	t.Helper()
	status, _, _ := postWith(t, hc, env.URL+"/api/v1/accounts", fmt.Sprintf(`{"username": %q, "password": %q}`, username, apptest.Password(username)))
	return status
}

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

// twoSignUpsPerAddress lets a client address create two accounts before
// the next waits a minute.
func twoSignUpsPerAddress(c *config.Config) { c.SignUpsPerAddress = 2 }

// Behind a trusted proxy each client is throttled, and logged, under the
// address the proxy forwards: one client's sign-ups or failed sign-ins
// hold up that client only, not everyone the proxy serves.
func TestClientAddr_BehindATrustedProxy(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, twoSignUpsPerAddress, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	bulk, other := forwarding("198.51.100.4"), forwarding("198.51.100.5")
	for _, name := range []string{"bulk1", "bulk2"} {
		if status := signUpVia(t, bulk, env, name); status != http.StatusCreated {
			t.Fatalf("sign-up %s: %d", name, status)
		}
	}
	if status := signUpVia(t, bulk, env, "bulk3"); status != http.StatusTooManyRequests {
		t.Errorf("a third sign-up from the same client: %d, want 429", status)
	}
	if status := signUpVia(t, other, env, "alice"); status != http.StatusCreated {
		t.Errorf("a sign-up from another client behind the same proxy: %d", status)
	}
	if status := signInVia(t, bulk, env, "alice", "not-alices-password"); status != http.StatusUnauthorized {
		t.Errorf("a wrong password: %d", status)
	}
	throttled := env.LogEntries(t, "throttled")
	if len(throttled) != 1 || throttled[0]["client"] != "198.51.100.4" {
		t.Errorf("throttling logged as %v, want once, for the bulk client's address", throttled)
	}
	failed := env.LogEntries(t, "sign-in failed")
	if len(failed) != 1 || failed[0]["client"] != "198.51.100.4" || failed[0]["user"] != "alice" {
		t.Errorf("the failed sign-in logged as %v, want alice's, from the address that tried", failed)
	}
}

// Behind a trusted proxy, failed sign-ins hold up the client that made
// them: after 20 from one client, to any usernames, that client waits,
// and a member signing in from another client behind the same proxy does
// not.
func TestClientAddr_FailedSignInsHoldUpTheirClientOnly(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	guesser, other := forwarding("198.51.100.4"), forwarding("198.51.100.5")
	for i := range 20 {
		if status := signInVia(t, guesser, env, fmt.Sprintf("ghost%02d", i), "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, status)
		}
	}
	if status := signInVia(t, guesser, env, "alice", apptest.Password("alice")); status != http.StatusTooManyRequests {
		t.Errorf("after 20 failures, the same client: %d, want 429", status)
	}
	if status := signInVia(t, other, env, "alice", apptest.Password("alice")); status != http.StatusCreated {
		t.Errorf("another client behind the same proxy: %d, want 201", status)
	}
}

// From a peer that is not a trusted proxy X-Forwarded-For is ignored: a
// client cannot escape the throttle, or frame another address, by writing
// one.
func TestClientAddr_SpoofedHeaderIgnored(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, twoSignUpsPerAddress)
	for i, name := range []string{"bulk1", "bulk2"} {
		if status := signUpVia(t, forwarding(fmt.Sprintf("203.0.113.%d", i)), env, name); status != http.StatusCreated {
			t.Fatalf("sign-up %s: %d", name, status)
		}
	}
	if status := signUpVia(t, forwarding("203.0.113.99"), env, "bulk3"); status != http.StatusTooManyRequests {
		t.Errorf("a third sign-up under a third forged address: %d, want 429", status)
	}
	signInVia(t, forwarding("203.0.113.98"), env, "bulk1", "not-the-password")
	entries := append(env.LogEntries(t, "throttled"), env.LogEntries(t, "sign-in failed")...)
	if len(entries) != 2 {
		t.Errorf("%d lines of throttling and failed sign-ins, want 2: %v", len(entries), entries)
	}
	for _, e := range entries {
		if e["client"] != "127.0.0.1" {
			t.Errorf("logged under %v, want the peer's address 127.0.0.1: %v", e["client"], e)
		}
	}
}

// A request refused by a rate limit is logged with the member and the
// client's address.
func TestRateLimit_Logged(t *testing.T) {
	t.Parallel()
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
