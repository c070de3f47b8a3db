package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// HEAD is answered wherever GET is (RFC 9110 section 9.3.2): GET's status
// and headers without the body, and a 405 lists it in Allow. The
// conforming transport holds HEAD to the GET operation's documentation.
func TestRoutes_HeadWhereverGet(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	do := func(method, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), method, env.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+alice.Token())
		resp, err := env.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	get, head := do("GET", "/api/v1/threads"), do("HEAD", "/api/v1/threads")
	if head.StatusCode != http.StatusOK || head.Header.Get("Content-Type") != get.Header.Get("Content-Type") ||
		head.Header.Get("Content-Length") != get.Header.Get("Content-Length") {
		t.Errorf("HEAD /api/v1/threads: %d %v; want GET's status and headers: %d %v", head.StatusCode, head.Header, get.StatusCode, get.Header)
	}
	for path, allow := range map[string]string{
		"/api/v1/threads": "GET, HEAD, POST",
		"/api/v1/shares":  "POST",
	} {
		resp := do("PUT", path)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != allow {
			t.Errorf("PUT %s: %d, Allow %q; want 405, Allow %q", path, resp.StatusCode, resp.Header.Get("Allow"), allow)
		}
	}
	if resp := do("HEAD", "/api/v1/shares"); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("HEAD /api/v1/shares, a POST route: %d, Allow %q; want 405, Allow POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
}
