package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// wantThrottled checks a refusal by a rate limit: 429 with Retry-After and
// temporarily_unavailable, saying of what there were too many and when to
// try again, not to be stored.
func (a *answer) wantThrottled(t *testing.T, what string) {
	t.Helper()
	want := "too many " + what + "; try again in 1 second"
	if a.Status != http.StatusTooManyRequests || a.Body["error"] != "temporarily_unavailable" || a.Body["error_description"] != want ||
		a.Header.Get("Retry-After") != "1" || a.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("answered %d %v %v, want 429 temporarily_unavailable %q with Retry-After: 1", a.Status, a.Header, a.Body, want)
	}
}

// TestTokenEndpoints_RateLimitedPerApp: an app's requests to the token
// and introspection endpoints count together against its allowance, 300 at
// once and then 10 a second, whichever member they are for; over it they
// do nothing and are answered 429 temporarily_unavailable with
// Retry-After. Revocation and other apps are not held to it.
func TestTokenEndpoints_RateLimitedPerApp(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.Clock.Freeze() // the allowance grows back only when the test says
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	other := env.MustPartner(t, "Other")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "offline_access"}
	tok := exchange(t, &cfg, apptest.NewBrowser(), "alice", "s") // the first
	introspect := func(p *apptest.Partner) *answer {
		return basic(t, env.URL+"/oauth2/introspect", p, url.Values{"token": {tok.AccessToken}})
	}
	for i := 2; i <= 300; i++ {
		if a := introspect(partner); a.Status != http.StatusOK || a.Body["active"] != true {
			t.Fatalf("request %d of the burst: %d %v", i, a.Status, a.Body)
		}
	}
	introspect(partner).wantThrottled(t, "token requests from this app")
	refresh := func() (*oauth2.Token, error) {
		return cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	}
	_, err := refresh()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusTooManyRequests || re.ErrorCode != "temporarily_unavailable" ||
		re.Response.Header.Get("Retry-After") != "1" {
		t.Fatalf("a refresh over the limit: %v, want 429 temporarily_unavailable", err)
	}
	if a := introspect(other); a.Status != http.StatusOK {
		t.Errorf("another app's introspection: %d %v", a.Status, a.Body)
	}
	if a := basic(t, env.URL+"/oauth2/revoke", partner, url.Values{"token": {"unknown"}}); a.Status != http.StatusOK {
		t.Errorf("a revocation over the limit: %d %v, want 200: an app may always end its tokens", a.Status, a.Body)
	}
	if got := env.Metric(t, `parley_rate_limited_total{policy="token requests"}`); got != 2 {
		t.Errorf("parley_rate_limited_total{policy=\"token requests\"} = %v, want 2", got)
	}
	if logs := env.Logs.String(); !strings.Contains(logs, `"msg":"throttled","what":"token requests","keys":["token:client:`+partner.App.ClientID+`"]`) {
		t.Error("the refusals were not logged")
	}

	env.Clock.Advance(100 * time.Millisecond) // one request's worth
	if _, err := refresh(); err != nil {
		t.Fatalf("the refused refresh used the refresh token up: %v", err)
	}
	introspect(partner).wantThrottled(t, "token requests from this app")
}

// TestTokenEndpoints_FailedAuthenticationsPerAddress: a client address's
// failed client authentications (an unknown client, a wrong secret), at
// the token, introspection and revocation endpoints alike, count against
// the address, 60 at once and then one a second; past them, every request
// from the address is refused, the right secret's too, before the client
// is looked up. They count against no app: guessing an app's secret from
// one address leaves the app to work from its own.
func TestTokenEndpoints_FailedAuthenticationsPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	from := func(addr string) []string { return []string{"X-Forwarded-For", addr} }
	attacker, elsewhere := from("203.0.113.7"), from("198.51.100.2")
	paths := []string{"/oauth2/token", "/oauth2/introspect", "/oauth2/revoke"}
	for i := range 60 {
		id, secret := partner.App.ClientID, "wrong"
		if i%2 == 1 {
			id = "pc_unknown"
		}
		form := url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}
		call(t, "POST", env.URL+paths[i%3], form, id, secret, attacker...).want(t, http.StatusUnauthorized, "invalid_client")
	}
	right := url.Values{"token": {"x"}}
	call(t, "POST", env.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, partner.App.ClientID, "wrong", attacker...).
		wantThrottled(t, "failed client authentications from this address")
	call(t, "POST", env.URL+"/oauth2/introspect", right, partner.App.ClientID, partner.App.ClientSecret, attacker...).
		wantThrottled(t, "failed client authentications from this address")
	if a := call(t, "POST", env.URL+"/oauth2/introspect", right, partner.App.ClientID, partner.App.ClientSecret, elsewhere...); a.Status != http.StatusOK {
		t.Errorf("the app, from its own address: %d %v, want 200", a.Status, a.Body)
	}
	code, verifier := signedIn(t, partner, "openid")
	if a := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier)); a.Status != http.StatusOK {
		t.Errorf("the app's code exchange: %d %v", a.Status, a.Body)
	}
	if got := env.Metric(t, `parley_rate_limited_total{policy="failed client authentications"}`); got != 2 {
		t.Errorf("parley_rate_limited_total{policy=\"failed client authentications\"} = %v, want 2", got)
	}

	env.Clock.Advance(time.Second) // one failure's worth
	call(t, "POST", env.URL+"/oauth2/revoke", right, "pc_unknown", "", attacker...).want(t, http.StatusUnauthorized, "invalid_client")
	call(t, "POST", env.URL+"/oauth2/revoke", right, partner.App.ClientID, partner.App.ClientSecret, attacker...).
		wantThrottled(t, "failed client authentications from this address")
}

// TestTokenEndpoints_FailedAuthenticationsAtOnceHeldToTheBurst: wrong
// secrets sent all at once from one address count before any is checked,
// so no more of them are checked than the address's burst of 60; the rest
// are refused as the address's failures spent.
func TestTokenEndpoints_FailedAuthenticationsAtOnceHeldToTheBurst(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	partner := env.MustPartner(t, "Tunes")
	const n = 300
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer hc.CloseIdleConnections()
	statuses := make(chan int, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			req, _ := http.NewRequest("POST", env.URL+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
			req.SetBasicAuth(partner.App.ClientID, "wrong")
			resp, err := hc.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	close(start)
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	if count[http.StatusUnauthorized] != 60 || count[http.StatusTooManyRequests] != n-60 {
		t.Errorf("%d wrong secrets at once from one address answered %v; want 60 checked (401) and the rest refused (429)", n, count)
	}
}

// TestTokenEndpoints_PublicClientPerAddress: a public client authenticates
// with its client_id alone, which anyone may send, so its token requests
// count per client address: a stranger spending the allowance with junk
// refresh tokens is refused, and the app's members, from their own
// addresses, go on refreshing.
func TestTokenEndpoints_PublicClientPerAddress(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	phone := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	phone.Config.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	tok := env.MustToken(t, phone, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	junk := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"junk"}, "client_id": {phone.App.ClientID}}
	stranger := []string{"X-Forwarded-For", "203.0.113.7"}
	for i := range 300 {
		if a := call(t, "POST", env.URL+"/oauth2/token", junk, "", "", stranger...); a.Status != http.StatusBadRequest {
			t.Fatalf("junk request %d: %d %v, want 400", i+1, a.Status, a.Body)
		}
	}
	call(t, "POST", env.URL+"/oauth2/token", junk, "", "", stranger...).wantThrottled(t, "token requests from this app")
	if _, err := phone.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Fatalf("the app's refresh for alice, from her own address: %v", err)
	}
}

// TestUserinfo_SpendsTheAppsRateLimit: a userinfo call with an app's
// access token spends the app's allowance of requests, the one its calls
// to the API spend; over it, userinfo is answered 429
// temporarily_unavailable with Retry-After and logs no read for the
// member, and the API refuses the app too.
func TestUserinfo_SpendsTheAppsRateLimit(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitAppBurst = 5 })
	env.Clock.Freeze() // no allowance grows back
	alice := env.MustMember(t, "alice")
	tok := env.MustToken(t, env.MustPartner(t, "Tunes"), "alice", []string{"openid", "profile"}, apptest.Answer{})
	userinfo := func() *answer {
		return call(t, http.MethodGet, env.URL+"/oauth2/userinfo", nil, "", "", "Authorization", "Bearer "+tok.AccessToken)
	}
	for i := range 5 {
		if a := userinfo(); a.Status != http.StatusOK || a.Header.Get("RateLimit") == "" {
			t.Fatalf("call %d of the burst: %d %v %v", i+1, a.Status, a.Header, a.Body)
		}
	}
	before := accessLogLength(t, alice)
	userinfo().wantThrottled(t, "requests from this app")
	if after := accessLogLength(t, alice); after != before {
		t.Errorf("a refused userinfo call was logged: %d entries, then %d", before, after)
	}
	if _, err := env.Client.WithToken(tok.AccessToken).Me(context.Background()); client.StatusOf(err) != http.StatusTooManyRequests {
		t.Errorf("the API, once userinfo spent the app's allowance: %v, want 429", err)
	}
}

// accessLogLength is how many entries the member's access log holds.
func accessLogLength(t *testing.T, member *client.Client) int {
	t.Helper()
	var page service.AccessLogPage
	if _, err := member.Do(context.Background(), "GET", "/api/v1/me/access-log?limit=200", nil, &page); err != nil {
		t.Fatal(err)
	}
	return len(page.Entries)
}
