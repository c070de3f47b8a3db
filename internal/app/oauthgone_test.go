package app_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"golang.org/x/oauth2"
)

// causeLogged reports whether the server logged the database's failure
// (an error line other than the request line, holding the store's error).
func causeLogged(env *apptest.Env, since int) bool {
	lines := strings.Split(env.Logs.String(), "\n")
	for _, l := range lines[since:] {
		if strings.Contains(l, `"level":"ERROR"`) && !strings.Contains(l, `"msg":"request"`) &&
			strings.Contains(l, "not currently accepting connections") &&
			!strings.Contains(l, "sync rate limits") && !strings.Contains(l, "webhook") && !strings.Contains(l, "events") && !strings.Contains(l, "check access") {
			return true
		}
	}
	return false
}

// While the database is out of reach, the OAuth endpoints fail as the API
// does, with a 5xx, not as if the app's request were wrong, and the
// server logs why, as the API logs an internal error.
func TestOAuth_DatabaseGoneAnswers5xxAndLogsWhy(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	p := env.MustPartner(t, "movieclub")
	cfg := *p.Config
	cfg.Scopes = []string{"openid"}
	v := oauth2.GenerateVerifier()
	closeDatabase(t, env)

	since := len(strings.Split(env.Logs.String(), "\n")) - 1
	page := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	if page.Status < 500 {
		t.Errorf("authorization request with the database out of reach: %d, want 5xx; the page says %q", page.Status, pageHeading(page.Body))
	}
	if !causeLogged(env, since) {
		t.Error("authorization request failed on the database, and the server's log does not say so")
	}

	since = len(strings.Split(env.Logs.String(), "\n")) - 1
	resp, err := http.PostForm(env.URL+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"},
		"redirect_uri": {cfg.RedirectURL}, "code_verifier": {v}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("token request with the database out of reach: %d, want 500", resp.StatusCode)
	}
	if !causeLogged(env, since) {
		t.Error("token request failed on the database (500), and the server's log does not say why")
	}
}

// pageHeading is the text of a page's first h1.
func pageHeading(body string) string {
	_, after, _ := strings.Cut(body, "<h1>")
	h, _, _ := strings.Cut(after, "</h1>")
	return h
}
