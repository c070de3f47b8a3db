package oauth_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// fuzzServer starts a server for the fuzz targets of the OAuth endpoints,
// trusting loopback as its proxy (everyAddress), with one confidential
// app and one public, and returns it with a client that follows no
// redirect and sends each request from an address of its own.
func fuzzServer(f *testing.F) (env *apptest.Env, web, native *apptest.Partner, send func(*http.Request) (*http.Response, []byte)) {
	env = apptest.Start(f, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	web = env.MustPartner(f, "Web")
	native = env.MustPartner(f, "Native", func(a *service.NewApp) { a.Public = true })
	hc := &http.Client{Transport: &everyAddress{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send = func(req *http.Request) (*http.Response, []byte) {
		resp, err := hc.Do(req)
		if err != nil {
			f.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	return env, web, native, send
}

// everyAddress is a transport that sends each request as a proxy on this
// machine would forward it from a client address of its own
// (X-Forwarded-For), so that no per-address limit answers a fuzz target
// in place of the endpoint under test.
type everyAddress struct{ n atomic.Uint32 }

func (a *everyAddress) RoundTrip(r *http.Request) (*http.Response, error) {
	i := a.n.Add(1)
	return apptest.ForwardedFor{Addr: fmt.Sprintf("10.%d.%d.%d", byte(i>>16), byte(i>>8), byte(i))}.RoundTrip(r)
}

// FuzzAuthorize_AnyQuery sends the authorization endpoint any query. It
// never fails with a 5xx, and it sends the browser nowhere but to the
// server's own sign-in page or, with an error and the issuer (RFC 9207),
// to a redirect URI the app registered, exactly but for a loopback
// address's port (RFC 9700 section 4.1.3, RFC 8252 section 7.3): never to
// one the query made up. No browser signed in, so no
// answer carries a code. `go test -fuzz FuzzAuthorize_AnyQuery
// ./internal/oauth` looks beyond the seeds.
func FuzzAuthorize_AnyQuery(f *testing.F) {
	env, web, native, send := fuzzServer(f)
	valid := func(p *apptest.Partner) url.Values {
		return url.Values{"client_id": {p.App.ClientID}, "redirect_uri": {apptest.RedirectURI}, "response_type": {"code"},
			"scope": {"openid messages.read"}, "state": {"s"}, "code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
	}
	for _, p := range []*apptest.Partner{web, native} {
		for _, change := range []func(url.Values){
			func(url.Values) {},
			func(q url.Values) { q.Set("redirect_uri", apptest.RedirectURI+"/../evil") },
			func(q url.Values) { q.Add("redirect_uri", "https://evil.example/cb") },
			func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9/callback#frag") },
			func(q url.Values) { q.Set("redirect_uri", "HTTP://127.0.0.1:9/callback") },
			func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:1234/callback") },
			func(q url.Values) { q.Set("redirect_uri", "/\\evil.example/callback") },
			func(q url.Values) { q.Set("response_mode", "fragment"); q.Set("response_type", "token") },
			func(q url.Values) { q.Del("redirect_uri") },
			func(q url.Values) { q.Set("response_type", "token") },
			func(q url.Values) { q.Set("response_type", "code id_token") },
			func(q url.Values) { q.Set("response_mode", "form_post") },
			func(q url.Values) { q.Set("prompt", "none") },
			func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") },
			func(q url.Values) { q.Set("request_uri", "https://evil.example/r") },
			func(q url.Values) { q.Set("scope", "openid\x00admin") },
			func(q url.Values) { q.Set("max_age", "-1") },
			func(q url.Values) { q.Set("code_challenge_method", "plain") },
			func(q url.Values) { q.Del("code_challenge") },
			func(q url.Values) { q.Set("state", strings.Repeat("s", 5000)) },
			func(q url.Values) { q.Add("client_id", "pc_other") },
			func(q url.Values) { q.Set("ui_locales", "\xff") },
			func(q url.Values) { q.Set("id_token_hint", "x.y.z") },
		} {
			q := valid(p)
			change(q)
			f.Add(q.Encode())
		}
	}
	f.Add("")
	f.Add("%")
	f.Add("client_id=%00&redirect_uri=%FF")
	f.Fuzz(func(t *testing.T, query string) {
		req, err := http.NewRequest("GET", env.URL+"/oauth2/authorize?"+query, nil)
		if err != nil {
			return // no URL net/http sends
		}
		resp, body := send(req)
		if resp.StatusCode >= 500 {
			t.Fatalf("?%s: %d %s", query, resp.StatusCode, body)
		}
		location := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			if location != "" {
				t.Fatalf("?%s: %d with Location %q", query, resp.StatusCode, location)
			}
			return
		}
		to, err := url.Parse(location)
		if err != nil {
			t.Fatalf("?%s: redirected to %q: %v", query, location, err)
		}
		if to.Scheme == "" && to.Host == "" && to.Path == oauth.LoginPath {
			return // the server's own sign-in page
		}
		if !registered(to) {
			t.Fatalf("?%s: redirected to %q, not a registered redirect URI", query, location)
		}
		answer := to.Query()
		if fragment, err := url.ParseQuery(to.Fragment); err == nil && to.Fragment != "" {
			answer = fragment // response_mode=fragment
		}
		if answer.Get("error") == "" || answer.Has("code") || answer.Get("iss") != env.URL {
			t.Fatalf("?%s: redirected to %q: an authorization response without a signed-in member must be an error with iss", query, location)
		}
	})
}

// registered reports whether u is the apps' registered redirect URI, at
// any port of its loopback address (RFC 8252 section 7.3), as the server
// allows native apps.
func registered(u *url.URL) bool {
	r, _ := url.Parse(apptest.RedirectURI)
	return u.Scheme == r.Scheme && u.User == nil && u.Hostname() == r.Hostname() && u.Path == r.Path
}

// FuzzToken_AnyForm sends the token, introspection and revocation
// endpoints any form, as the confidential app (its secret in the
// Authorization header), as the public one (its client_id in the form) or
// as no one. None fails with a 5xx. The one token the token endpoint may
// issue is the confidential app's own, for its reports (client
// credentials, reports.read): no code or refresh token was ever given;
// introspection finds no token active (RFC 7662), and a revocation of a
// token no one holds succeeds (RFC 7009). Every refusal is an RFC 6749
// section 5.2 error: JSON with an error code, 400 or 401, or 429
// temporarily_unavailable past the app's limit of token requests, which
// the server's clock, moved on by a tenth of a second each time, gives
// back as fast as it is spent. Without any client's credentials,
// introspection and revocation refuse.
// `go test -fuzz FuzzToken_AnyForm ./internal/oauth` looks beyond the
// seeds.
func FuzzToken_AnyForm(f *testing.F) {
	env, web, native, send := fuzzServer(f)
	endpoints := []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"}
	for _, form := range []string{
		"grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(apptest.RedirectURI) + "&code_verifier=" + strings.Repeat("a", 43),
		"grant_type=refresh_token&refresh_token=x",
		"grant_type=refresh_token&refresh_token=x&scope=openid+admin",
		"grant_type=client_credentials&scope=reports.read",
		"grant_type=client_credentials&scope=messages.read",
		"grant_type=password&username=alice&password=x",
		"grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=x.y.z",
		"grant_type=authorization_code&grant_type=refresh_token",
		"grant_type=authorization_code&code=x&code=y",
		"client_id=" + native.App.ClientID + "&client_secret=guess&grant_type=refresh_token&refresh_token=x",
		"client_id=" + web.App.ClientID + "&grant_type=authorization_code&code=x",
		"token=x", "token=x&token_type_hint=refresh_token", "token=x&token_type_hint=%00", "token=&token=y",
		"grant_type=%00", "%", "",
	} {
		for who := range uint8(3) {
			for endpoint := range endpoints {
				f.Add(who, uint8(endpoint), form)
			}
		}
	}
	f.Fuzz(func(t *testing.T, who, endpoint uint8, form string) {
		env.Clock.Advance(100 * time.Millisecond) // the app's allowance of one more token request
		sent := form
		if who%3 == 1 && !strings.Contains(form, "client_id=") {
			sent += "&client_id=" + native.App.ClientID
		}
		path := endpoints[int(endpoint)%len(endpoints)]
		req, err := http.NewRequest("POST", env.URL+path, strings.NewReader(sent))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if who%3 == 0 {
			req.SetBasicAuth(url.QueryEscape(web.App.ClientID), url.QueryEscape(web.App.ClientSecret))
		}
		credentials := who%3 == 0 || strings.Contains(sent, "client_id=")
		resp, body := send(req)
		var answer struct {
			Error  string `json:"error"`
			Scope  string `json:"scope"`
			Active *bool  `json:"active"`
		}
		mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if resp.StatusCode == http.StatusOK {
			var ok bool
			switch path {
			case "/oauth2/token": // the app's own token for its reports, and no other
				ok = who%3 == 0 && json.Unmarshal(body, &answer) == nil && answer.Scope == "reports.read"
			case "/oauth2/introspect":
				ok = credentials && json.Unmarshal(body, &answer) == nil && answer.Active != nil && !*answer.Active
			case "/oauth2/revoke":
				ok = credentials
			}
			if !ok {
				t.Fatalf("%s %q: %d %s", path, sent, resp.StatusCode, body)
			}
			return
		}
		if mt != "application/json" || json.Unmarshal(body, &answer) != nil || answer.Error == "" ||
			resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnauthorized &&
				(resp.StatusCode != http.StatusTooManyRequests || answer.Error != "temporarily_unavailable") {
			t.Fatalf("%s %q: %d %s %s, want an RFC 6749 error", path, sent, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})
}

// FuzzConsent_AnyAnswer answers the consent page with any form: any
// scopes, thread scope, threads, expiry and action. Whatever comes back,
// no answer is a 5xx, nothing is granted but by an approval, and a grant
// holds no scope the app did not ask for or the member did not tick (but
// openid, always), no thread that is not the member's or was not ticked,
// and not every thread, which only an operator's review of the app
// allows. `go test -fuzz
// FuzzConsent_AnyAnswer ./internal/oauth` looks beyond the seeds.
func FuzzConsent_AnyAnswer(f *testing.F) {
	env := apptest.Start(f, apptest.Unlimited, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	ctx := context.Background()
	alice, bob, carol := env.MustMember(f, "alice"), env.MustMember(f, "bob"), env.MustMember(f, "carol")
	apptest.MustFriends(f, alice, bob)
	apptest.MustFriends(f, bob, carol)
	hers := apptest.MustThread(f, alice, "bob").ID
	theirs := apptest.MustThread(f, bob, "carol").ID
	films := env.MustPartner(f, "Films")
	asked := []string{"openid", "threads.read", "messages.read"}
	cfg := *films.Config
	cfg.Scopes = asked
	browser := apptest.NewBrowser()
	browser.HTTP.Transport = &everyAddress{}
	consent := func(t testing.TB) *apptest.Page {
		page := browser.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if strings.Contains(page.Body, `name="password"`) {
			page = browser.Submit(t, page, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		}
		if !strings.Contains(page.Body, `name="thread_scope"`) {
			t.Fatalf("no consent page: %d %s\n%s", page.Status, page.Location, page.Body)
		}
		return page
	}
	for _, seed := range []struct{ action, scopes, threadScope, threads, expiry string }{
		{"approve", "openid threads.read messages.read", "app", "", ""},
		{"approve", "messages.read messages.delete messages.write", "selected", hers, "30d"},
		{"approve", "messages.read", "selected", hers + " " + hers, "never"},
		{"approve", "openid", "selected", hers + " " + theirs, "never"},
		{"approve", "threads.read", "all", "", "90d"},
		{"approve", "threads.read threads.read", "selected", theirs, "30d"},
		{"approve", "messages.read", "app", hers, "1h"},
		{"approve", "", "", "", ""},
		{"approve", "operator", "\x00", "\xff", "30d 30d"},
		{"deny", "openid messages.delete", "all", theirs, ""},
		{"", "openid", "app", "", ""},
	} {
		f.Add(seed.action, seed.scopes, seed.threadScope, seed.threads, seed.expiry)
	}
	f.Fuzz(func(t *testing.T, action, scopes, threadScope, threads, expiry string) {
		fields := url.Values{"action": {action}, "thread_scope": {threadScope}, "expiry": {expiry},
			"scope": strings.Fields(scopes), "threads": strings.Fields(threads)}
		answer := browser.Submit(t, consent(t), fields)
		if answer.Status >= 500 {
			t.Fatalf("%v: %d\n%s", fields, answer.Status, answer.Body)
		}
		var list struct {
			Grants []parley.ConnectedApp `json:"grants"`
		}
		if _, err := alice.Do(ctx, "GET", "/api/v1/me/grants", nil, &list); err != nil {
			t.Fatal(err)
		}
		if action != "approve" && len(list.Grants) > 0 {
			t.Errorf("%v: not approved, yet granted %+v", fields, list.Grants)
		}
		for _, g := range list.Grants {
			for _, scope := range g.Scopes {
				if !slices.Contains(asked, string(scope)) || scope != parley.ScopeOpenID && !slices.Contains(fields["scope"], string(scope)) {
					t.Errorf("%v: granted %s, which the app did not ask for or the member did not tick", fields, scope)
				}
			}
			if g.ThreadScope == parley.ThreadScopeAll {
				t.Errorf("%v: granted every thread to an app no operator reviewed", fields)
			}
			for _, th := range g.Threads {
				if th.ThreadID != hers || !slices.Contains(fields["threads"], th.ThreadID) {
					t.Errorf("%v: granted thread %s, which is not alice's or was not ticked", fields, th.ThreadID)
				}
			}
			if _, err := alice.Do(ctx, "DELETE", "/api/v1/me/grants/"+g.ID, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
	})
}
