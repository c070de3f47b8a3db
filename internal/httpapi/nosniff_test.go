package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// TestAnswers_SayNoSniff: every answer of the API tells a browser to take
// its type as given, never to guess another (X-Content-Type-Options:
// nosniff): a success's JSON as a problem's, a download, the OpenAPI
// document and the health checks.
func TestAnswers_SayNoSniff(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	for _, path := range []string{
		"/api/v1/me", "/api/v1/threads", "/api/v1/me/export", "/api/v1/openapi.json",
		"/healthz", "/readyz", "/api/v1/threads/nothing",
	} {
		req, err := http.NewRequest("GET", env.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+alice.Token())
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d, %s): X-Content-Type-Options %q, want nosniff", path, resp.StatusCode, resp.Header.Get("Content-Type"), got)
		}
	}
}
