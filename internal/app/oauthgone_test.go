package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"golang.org/x/oauth2"
)

// While the database is out of reach, the OAuth endpoints answer as the
// API does: the token, introspection, revocation and userinfo endpoints
// 503 with Retry-After and temporarily_unavailable, not server_error, nor
// invalid_grant or invalid_token, which would tell the app its code or
// token is bad; the authorization endpoint, which cannot look the client
// up, and the sign-in steps under it, a page with 503 and Retry-After,
// redirecting nowhere. None of it is logged as an error, by Parley or by
// the OIDC library: the server logs the outage once. Once the database is
// back, the code and the tokens the app held meanwhile work.
func TestOAuth_DatabaseGoneAnsweredAs503AndNotLogged(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	libraryLogsTo(t, env)
	env.MustMember(t, "alice")
	p := env.MustPartner(t, "movieclub")
	ctx := context.Background()
	tok := env.MustToken(t, p, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	cfg := *p.Config
	cfg.Scopes = []string{"openid"}
	// A code, issued and not yet exchanged, and a sign-in begun, its
	// browser on the sign-in page.
	v := oauth2.GenerateVerifier()
	code := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v)), "alice", apptest.Answer{}).Get("code")
	begun := apptest.NewBrowser()
	signIn := begun.Get(t, cfg.AuthCodeURL("st2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	requestID := signIn.URL.Query().Get("id")
	if signIn.Status != http.StatusOK || requestID == "" {
		t.Fatalf("the sign-in page: %d %s", signIn.Status, signIn.URL)
	}

	reopen := closeDatabase(t, env)
	since := len(env.Logs.String())

	_, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
	mustBeUnavailable(t, "the code's exchange", err)
	_, err = p.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	mustBeUnavailable(t, "a refresh", err)
	for _, path := range []string{"/oauth2/introspect", "/oauth2/revoke"} {
		req, _ := http.NewRequest(http.MethodPost, env.URL+path, strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape(p.Config.ClientID), url.QueryEscape(p.Config.ClientSecret))
		mustBeUnavailable(t, path, oauthError(t, req))
	}
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	err = oauthError(t, req)
	mustBeUnavailable(t, "userinfo", err)
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); ok && re.Response.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("userinfo with the database out of reach challenges %q: nothing is known to be wrong with the token", re.Response.Header.Get("WWW-Authenticate"))
	}

	// The browser's side: nothing is redirected to the app, whose client
	// and redirect URI cannot be looked up, and the member is told to
	// try again.
	noRedirects := &http.Client{Jar: begun.HTTP.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, page := range []struct{ name, url string }{
		{"the authorization request", cfg.AuthCodeURL("st3", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))},
		{"the sign-in page", signIn.URL.String()},
		{"the callback that issues the code", env.URL + "/oauth2/authorize/callback?id=" + url.QueryEscape(requestID)},
	} {
		resp, err := noRedirects.Get(page.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "5" ||
			resp.Header.Get("Location") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(body), "database") {
			t.Errorf("%s with the database out of reach: %d, Retry-After %q, Location %q, %s, saying %q; want a page, 503 with Retry-After: 5, that says why",
				page.name, resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Location"), resp.Header.Get("Content-Type"), pageHeading(string(body)))
		}
	}
	errs := errorLines(env.Logs.String()[since:])
	if len(errs) != 1 || !strings.Contains(errs[0], "the database cannot be reached") {
		t.Errorf("the outage logged %d error lines, want the one saying the database cannot be reached:\n%s", len(errs), strings.Join(errs, ""))
	}

	reopen()
	deadline := time.Now().Add(15 * time.Second)
	for {
		fresh, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
		if err == nil {
			apptest.Secret(fresh.AccessToken, fresh.RefreshToken)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the database was back, the code's exchange still fails: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fresh, err := p.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("the refresh token, once the database is back: %v", err)
	}
	apptest.Secret(fresh.AccessToken, fresh.RefreshToken)
	env.MustToken(t, p, "alice", []string{"openid"}, apptest.Answer{})
}

// A failure of the server's own, not a database out of reach (here, no
// table found in its database), is still answered as one and logged, for
// the operator to find: server_error with 500 at the token endpoint, and a
// page with 503 at the authorization endpoint and its callback, neither
// of which can tell the app. No answer holds the store's words.
func TestOAuth_DatabaseBrokenAnswers5xxAndLogsWhy(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	libraryLogsTo(t, env)
	env.MustMember(t, "alice")
	p := env.MustPartner(t, "movieclub")
	cfg := *p.Config
	cfg.Scopes = []string{"openid"}
	v := oauth2.GenerateVerifier()
	begun := apptest.NewBrowser()
	signIn := begun.Get(t, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	requestID := signIn.URL.Query().Get("id")
	if signIn.Status != http.StatusOK || requestID == "" {
		t.Fatalf("the sign-in page: %d %s", signIn.Status, signIn.URL)
	}
	breakDatabase(t, env)

	_, err := cfg.Exchange(context.Background(), "x", oauth2.VerifierOption(v))
	if re, ok := errors.AsType[*oauth2.RetrieveError](err); !ok || re.Response.StatusCode != http.StatusInternalServerError ||
		re.ErrorCode != "server_error" || strings.Contains(re.ErrorDescription, "nowhere") || strings.Contains(re.ErrorDescription, "exist") {
		t.Errorf("token request with the database broken: %v, want 500 server_error, saying nothing of the store", err)
	}
	if logged := env.LogEntries(t, "oauth endpoint"); len(logged) != 1 || !strings.Contains(fmt.Sprint(logged[0]["err"]), "does not exist") {
		t.Errorf("token request failed on the database (500), and the server logged %v, not why", logged)
	}

	for _, page := range []struct{ name, url string }{
		{"the authorization request", cfg.AuthCodeURL("st2", oauth2.S256ChallengeOption(v))},
		{"the callback that issues the code", env.URL + "/oauth2/authorize/callback?id=" + url.QueryEscape(requestID)},
	} {
		before := len(env.LogEntries(t, "oauth authorize"))
		got := begun.Get(t, page.url)
		if got.Status != http.StatusServiceUnavailable || got.Location != "" || strings.Contains(got.Body, "does not exist") || strings.Contains(got.Body, "Parent") {
			t.Errorf("%s with the database broken: %d, Location %q, saying %q; want a page, 503, that says nothing of the store", page.name, got.Status, got.Location, got.Body)
		}
		if logged := env.LogEntries(t, "oauth authorize"); len(logged) != before+1 || !strings.Contains(fmt.Sprint(logged[len(logged)-1]["err"]), "does not exist") {
			t.Errorf("%s failed on the database, and the server's log does not say why", page.name)
		}
	}
}

// libraryLogsTo has the OIDC library, which logs through slog's default
// logger, log to env's log until the test ends, as `parley serve` has it
// log to the server's.
func libraryLogsTo(t *testing.T, env *apptest.Env) {
	t.Helper()
	was := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(apptest.RecordLogs(env.Logs), &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(was) })
}

// oauthError sends req, an app's call to an endpoint that answers in JSON,
// and returns its refusal as the oauth2 package returns the token
// endpoint's, or nil when it succeeds.
func oauthError(t *testing.T, req *http.Request) error {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 300 {
		return nil
	}
	re := &oauth2.RetrieveError{Response: resp, Body: body}
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &e); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("%s %s answered %d, %s: %s; want a JSON OAuth error", req.Method, req.URL.Path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	re.ErrorCode, re.ErrorDescription = e.Error, e.ErrorDescription
	return re
}

// mustBeUnavailable checks that what, a call of the app, was refused with
// 503, Retry-After: 5 and temporarily_unavailable, saying why, and not to
// be stored.
func mustBeUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	re, ok := errors.AsType[*oauth2.RetrieveError](err)
	if !ok {
		t.Errorf("%s with the database out of reach: %v, want 503 temporarily_unavailable", what, err)
		return
	}
	h := re.Response.Header
	if re.Response.StatusCode != http.StatusServiceUnavailable || h.Get("Retry-After") != "5" || re.ErrorCode != "temporarily_unavailable" ||
		!strings.Contains(re.ErrorDescription, "database") || h.Get("Cache-Control") != "no-store" {
		t.Errorf("%s with the database out of reach: %d, Retry-After %q, Cache-Control %q, %s; want 503 with Retry-After: 5, not stored, temporarily_unavailable saying why",
			what, re.Response.StatusCode, h.Get("Retry-After"), h.Get("Cache-Control"), re.Body)
	}
}

// pageHeading is the text of a page's first h1.
func pageHeading(body string) string {
	_, after, _ := strings.Cut(body, "<h1>")
	h, _, _ := strings.Cut(after, "</h1>")
	return h
}
