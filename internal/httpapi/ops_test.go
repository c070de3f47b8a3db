package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
)

func TestHealthz(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	resp, err := http.Get(env.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "one")
	apptest.MustSend(t, alice, th.ID, "two")
	mustEvents(t, bob) // one open realtime connection
	alice.Do(context.Background(), "GET", "/api/v1/threads/nope", nil, nil)

	for series, want := range map[string]float64{
		`parley_messages_sent_total`: 2,
		`parley_websockets_open`:     1,
		`parley_http_requests_total{code="201",route="POST /api/v1/threads/{id}/messages"}`:      2,
		`parley_http_requests_total{code="404",route="GET /api/v1/threads/{id}"}`:                1,
		`parley_http_request_duration_seconds_count{route="POST /api/v1/threads/{id}/messages"}`: 2,
	} {
		if got := env.Metric(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// TestMetrics_WholeServer: the OAuth provider's routes and the pages are
// counted as the API's are, each request once; sign-in failures and
// rate-limited requests are counted; the store's figures are read at each
// scrape.
func TestMetrics_WholeServer(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitMember, c.RateLimitMemberBurst = slow, 1 })
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	alice.Me(ctx) // the burst of one
	if _, err := alice.Me(ctx); client.StatusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("the second call: %v, want 429", err)
	}
	// Five wrong passwords are free; the sixth attempt waits.
	for i := range 5 {
		if _, err := env.Client.SignIn(ctx, "alice", "not her password"); client.StatusOf(err) != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %v", i+1, err)
		}
	}
	if _, err := env.Client.SignIn(ctx, "alice", "not her password"); client.StatusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("a sixth wrong password: %v", err)
	}
	env.MustMember(t, "bob")
	if _, err := env.Server.Service.SetDisabled(service.ConsoleContext(ctx), "bob", true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.SignIn(ctx, "bob", apptest.Password("bob")); client.StatusOf(err) != http.StatusUnauthorized {
		t.Fatalf("a disabled account: %v", err)
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/oauth2/keys", "/sign-in", "/oauth2/nothing-here"} {
		resp, err := http.Get(env.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}

	for series, want := range map[string]float64{
		`parley_rate_limited_total{policy="member"}`:                                                1,
		`parley_signin_failures_total{reason="credentials"}`:                                        5,
		`parley_signin_failures_total{reason="throttled"}`:                                          1,
		`parley_signin_failures_total{reason="disabled"}`:                                           1,
		`parley_http_requests_total{code="401",route="POST /api/v1/sessions"}`:                      6,
		`parley_http_requests_total{code="200",route="GET /.well-known/openid-configuration"}`:      1,
		`parley_http_requests_total{code="200",route="GET /oauth2/keys"}`:                           1, // served by the provider's library
		`parley_http_requests_total{code="404",route="unmatched"}`:                                  1, // the provider's answer to /oauth2/nothing-here
		`parley_http_requests_total{code="200",route="GET /sign-in"}`:                               1,
		`parley_http_request_duration_seconds_count{route="GET /.well-known/openid-configuration"}`: 1,
		`parley_webhook_queue_depth`:                                                                0,
		`parley_webhook_oldest_due_seconds`:                                                         0,
		`parley_storage_full`:                                                                       0,
		`parley_storage_full_refusals_total`:                                                        0,
		`parley_database_unreachable`:                                                               0,
		`parley_database_unreachable_refusals_total`:                                                0,
	} {
		if got := env.Metric(t, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, gauge := range []string{"parley_database_bytes", "parley_database_queries_total"} {
		if got := env.Metric(t, gauge); got <= 0 {
			t.Errorf("%s = %v", gauge, got)
		}
	}
	if apptest.Engine() == "sqlite" {
		// The WAL is empty once writes pause: its size is there, not above 0.
		if _, ok := env.LookupMetric(t, "parley_database_wal_bytes"); !ok || env.Metric(t, "parley_disk_free_bytes") <= 0 {
			t.Error("the embedded database's write-ahead log or its disk's free space is not measured")
		}
	}
}
