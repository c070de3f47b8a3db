package oauth_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// rawCall sends a request with an optional form body and returns the
// response with its body read whole.
func rawCall(t *testing.T, method, u, form string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestProvider_RefusesAPathAsAProblem: a path under /oauth2/ that the
// provider does not serve is not found, and a method that one of its
// paths does not take is not allowed, with Allow, as problems (RFC 9457)
// like the API's, not in the library's plain text nor on a page: the
// authorization endpoint's as the token endpoint's, the keys' and the
// discovery document's. The endpoints' own protocol errors stay OAuth's
// JSON (RFC 6749 section 5.2).
func TestProvider_RefusesAPathAsAProblem(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	notFound := `{"type":"urn:parley:problem:not_found","title":"Not Found","status":404,"detail":"no such endpoint"}` + "\n"
	for _, c := range []struct {
		name, method, path, form string
		status                   int
		allow, body              string
	}{
		{"Unknown", "GET", "/oauth2/nope", "", 404, "", notFound},
		{"UnknownPost", "POST", "/oauth2/nope", "a=b", 404, "", notFound},
		{"Prefix", "GET", "/oauth2/", "", 404, "", notFound},
		{"UnderAuthorize", "GET", "/oauth2/authorize/nope", "", 404, "", notFound},
		{"UnderToken", "POST", "/oauth2/token/nope", "a=b", 404, "", notFound},
		{"EndSession", "GET", "/oauth2/end_session?id_token_hint=x", "", 404, "", notFound},
		// Not clean: no redirect to the clean path, which would have the
		// client send its form, and its secret, again.
		{"UncleanToken", "POST", "/oauth2//token", "a=b", 404, "", notFound},
		{"DotSegment", "GET", "/oauth2/x/../keys", "", 404, "", notFound},
		// Nor one that cleans to a provider's path.
		{"LeadingSlashes", "POST", "//oauth2/token", "a=b", 404, "", notFound},
		{"UncleanDiscovery", "GET", "//.well-known/openid-configuration", "", 404, "", notFound},
		{"DiscoveryPost", "POST", "/.well-known/openid-configuration", "a=b", 405, "GET, HEAD", notAllowed("POST")},
		{"KeysDelete", "DELETE", "/oauth2/keys", "", 405, "GET, HEAD", notAllowed("DELETE")},
		{"AuthorizePut", "PUT", "/oauth2/authorize?client_id=x&redirect_uri=y", "", 405, "GET, HEAD, POST", notAllowed("PUT")},
		{"AuthorizeDelete", "DELETE", "/oauth2/authorize", "", 405, "GET, HEAD, POST", notAllowed("DELETE")},
		{"CallbackPut", "PUT", "/oauth2/authorize/callback?id=x", "", 405, "GET, HEAD", notAllowed("PUT")},
		{"TokenGet", "GET", "/oauth2/token", "", 405, "POST", notAllowed("GET")},
		{"IntrospectPut", "PUT", "/oauth2/introspect", "a=b", 405, "POST", notAllowed("PUT")},
		{"RevokeGet", "GET", "/oauth2/revoke", "", 405, "POST", notAllowed("GET")},
		{"UserinfoDelete", "DELETE", "/oauth2/userinfo", "", 405, "GET, POST", notAllowed("DELETE")},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := rawCall(t, c.method, env.URL+c.path, c.form)
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != c.status || ct != "application/problem+json" || body != c.body {
				t.Errorf("answered %d %s %q, want %d application/problem+json %q", resp.StatusCode, ct, body, c.status, c.body)
			}
			if got := resp.Header.Get("Allow"); got != c.allow {
				t.Errorf("Allow %q, want %q", got, c.allow)
			}
		})
	}
	t.Run("TokenEndpointStaysOAuth", func(t *testing.T) {
		resp, body := rawCall(t, "POST", env.URL+"/oauth2/token", "grant_type=client_credentials")
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 401 || ct != "application/json" ||
			!strings.HasPrefix(body, `{"error":"invalid_client",`) {
			t.Errorf("answered %d %s %q, want OAuth's invalid_client", resp.StatusCode, ct, body)
		}
	})
}

// notAllowed is the problem that refuses method.
func notAllowed(method string) string {
	return `{"type":"urn:parley:problem:method_not_allowed","title":"Method Not Allowed","status":405,"detail":"` + method + ` is not allowed here"}` + "\n"
}
