package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// A page of another origin, a single-page app, may call what an app calls
// with a token it holds: the API, and the provider's discovery, keys,
// token, revocation, introspection and userinfo. It reads their answers,
// errors too, and the headers a client acts on. It never calls with the
// browser's cookies. The pages a member's browser is sent to, sign-in and
// consent among them, answer no other origin, and neither do the API's
// routes that take a password: a page of any site could otherwise have
// its visitors' browsers guess passwords, each from its own address.
func TestCrossOrigin(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	const origin = "https://tunes.example"
	send := func(t *testing.T, method, path string, header http.Header, form url.Values) *http.Response {
		t.Helper()
		var body *strings.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequest(method, env.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = header
		req.Header.Set("Origin", origin)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s %s allows credentials", method, path)
		}
		return resp
	}
	preflight := func(method, headers string) http.Header {
		return http.Header{"Access-Control-Request-Method": {method}, "Access-Control-Request-Headers": {headers}}
	}

	t.Run("Preflights", func(t *testing.T) {
		for _, c := range []struct{ method, path, headers string }{
			{"POST", "/api/v1/threads/06h2f4gg/messages", "authorization,content-type,idempotency-key"},
			{"DELETE", "/api/v1/messages/06h2f4gg", "authorization"},
			{"PATCH", "/api/v1/me/grants/06h2f4gg", "authorization,content-type"},
			{"PUT", "/api/v1/threads/06h2f4gg/app-access", "authorization,content-type"},
			{"POST", "/oauth2/token", "content-type"},
			{"POST", "/oauth2/revoke", "content-type"},
			{"GET", "/oauth2/userinfo", "authorization"},
		} {
			resp := send(t, "OPTIONS", c.path, preflight(c.method, c.headers), nil)
			h := resp.Header
			if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
				h.Get("Access-Control-Allow-Methods") != c.method || h.Get("Access-Control-Allow-Headers") != c.headers ||
				h.Get("Access-Control-Max-Age") != "600" {
				t.Errorf("preflight of %s %s: %d %v", c.method, c.path, resp.StatusCode, h)
			}
		}
		// A method the path does not take is not allowed.
		if h := send(t, "OPTIONS", "/api/v1/me", preflight("PUT", "authorization"), nil).Header; h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("a preflight of PUT /api/v1/me, which is no route, was allowed: %v", h)
		}
		// A header no route reads is not allowed.
		if h := send(t, "OPTIONS", "/api/v1/me", preflight("GET", "x-forwarded-for"), nil).Header; h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("a preflight asking for X-Forwarded-For was allowed: %v", h)
		}
	})

	// Errors too: the app's page reads why, and when to come back.
	t.Run("Answers", func(t *testing.T) {
		for _, c := range []struct {
			method, path string
			form         url.Values
			status       int
		}{
			{"GET", "/api/v1/threads", nil, http.StatusUnauthorized},
			{"GET", "/.well-known/openid-configuration", nil, http.StatusOK},
			{"GET", "/oauth2/keys", nil, http.StatusOK},
			{"POST", "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, http.StatusUnauthorized},
			{"POST", "/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {"pc_x"}}, http.StatusBadRequest},
			{"GET", "/oauth2/token", nil, http.StatusMethodNotAllowed},
			{"POST", "/.well-known/openid-configuration", nil, http.StatusMethodNotAllowed},
			{"GET", "/oauth2/userinfo", nil, http.StatusUnauthorized},
		} {
			resp := send(t, c.method, c.path, http.Header{}, c.form)
			exposed := resp.Header.Get("Access-Control-Expose-Headers")
			if resp.StatusCode != c.status || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
				!strings.Contains(exposed, "Www-Authenticate") || !strings.Contains(exposed, "Retry-After") {
				t.Errorf("%s %s: %d, want %d; %v", c.method, c.path, resp.StatusCode, c.status, resp.Header)
			}
		}
	})

	t.Run("PasswordRoutesAnswerNoOtherOrigin", func(t *testing.T) {
		for _, path := range []string{"/api/v1/sessions", "/api/v1/accounts"} {
			if h := send(t, "OPTIONS", path, preflight("POST", "content-type"), nil).Header; h.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("a preflight of POST %s was allowed: %v", path, h)
			}
			resp := send(t, "POST", path, http.Header{"Content-Type": {"application/json"}}, nil)
			if h := resp.Header.Get("Access-Control-Allow-Origin"); h != "" {
				t.Errorf("POST %s from another origin: %d, allowed origin %q", path, resp.StatusCode, h)
			}
		}
		// The same path's other methods, which take a token, answer it.
		if h := send(t, "OPTIONS", "/api/v1/sessions/current", preflight("DELETE", "authorization"), nil).Header; h.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("a preflight of DELETE /api/v1/sessions/current: %v", h)
		}
	})

	t.Run("PagesAnswerNoOtherOrigin", func(t *testing.T) {
		for _, path := range []string{"/", "/login", "/oauth2/authorize?client_id=pc_x&redirect_uri=https://tunes.example/cb", "/account/apps"} {
			for _, method := range []string{"GET", "OPTIONS"} {
				resp := send(t, method, path, preflight("GET", ""), nil)
				if h := resp.Header.Get("Access-Control-Allow-Origin"); h != "" {
					t.Errorf("%s %s allows origin %q", method, path, h)
				}
			}
		}
	})
}
