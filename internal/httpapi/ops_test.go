package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

func TestHealthz(t *testing.T) {
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
