package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

func TestDiscovery(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	var d map[string]any
	getJSON(t, env.URL+"/.well-known/openid-configuration", &d)
	want := map[string]any{
		"issuer":                 env.URL,
		"authorization_endpoint": env.URL + "/oauth2/authorize",
		"token_endpoint":         env.URL + "/oauth2/token",
		"userinfo_endpoint":      env.URL + "/oauth2/userinfo",
		"revocation_endpoint":    env.URL + "/oauth2/revoke",
		"introspection_endpoint": env.URL + "/oauth2/introspect",
		"jwks_uri":               env.URL + "/oauth2/keys",
		"authorization_response_iss_parameter_supported": true,
	}
	for k, v := range want {
		if d[k] != v {
			t.Errorf("%s = %v, want %v", k, d[k], v)
		}
	}
	if got := d["code_challenge_methods_supported"]; !equalJSON(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v", got)
	}
	if got := d["response_modes_supported"]; !equalJSON(got, []string{"query", "fragment"}) {
		t.Errorf("response_modes_supported = %v", got)
	}
	if got := d["grant_types_supported"]; !equalJSON(got, []string{"authorization_code", "refresh_token", "client_credentials"}) {
		t.Errorf("grant_types_supported = %v", got)
	}
	scopes, _ := d["scopes_supported"].([]any)
	for _, s := range []string{"openid", "messages.read", "shares.write"} {
		if !slices.Contains(scopes, any(s)) {
			t.Errorf("scopes_supported lacks %s: %v", s, scopes)
		}
	}
}

// TestIssuer_NotTakenFromTheRequest: the issuer is the server's public
// URL, whatever a request's headers say, even through a proxy the server
// trusts: a forged Forwarded or X-Forwarded-Host header makes neither the
// ID token nor introspection name another issuer (OpenID Connect Core
// section 3.1.3.7, RFC 7662 section 2.2).
func TestIssuer_NotTakenFromTheRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	forged := []string{"Forwarded", "host=evil.example;proto=https", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https"}
	code, verifier := signedIn(t, partner, "openid")
	a := call(t, "POST", env.URL+"/oauth2/token", codeForm(partner, code, verifier), partner.App.ClientID, partner.App.ClientSecret, forged...)
	if a.Status != http.StatusOK {
		t.Fatalf("exchange: %d %v", a.Status, a.Body)
	}
	var claims jwt.Claims
	idTokenClaims(t, env, (&oauth2.Token{}).WithExtra(a.Body), &claims)
	if claims.Issuer != env.URL {
		t.Errorf("the ID token's iss is %q, want %q", claims.Issuer, env.URL)
	}
	access, _ := a.Body["access_token"].(string)
	in := call(t, "POST", env.URL+"/oauth2/introspect", url.Values{"token": {access}}, partner.App.ClientID, partner.App.ClientSecret, forged...)
	if in.Body["active"] != true || in.Body["iss"] != env.URL {
		t.Errorf("introspection %v, want iss %q", in.Body, env.URL)
	}
}

func TestSignInWithParley(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()

	verifier := oauth2.GenerateVerifier()
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "profile", "offline_access", "friends.read"}
	authURL := cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n0nce"))

	browser := apptest.NewBrowser()
	login := browser.Get(t, authURL)
	if login.URL.Path != "/oauth2/login" || !strings.Contains(login.Body, `name="username"`) ||
		!strings.Contains(login.Body, `name="password"`) {
		t.Fatalf("expected the login form, got %s:\n%s", login.URL, login.Body)
	}
	t.Run("WrongPassword", func(t *testing.T) {
		p := browser.Submit(t, login, url.Values{"username": {"alice"}, "password": {"not-her-password"}})
		if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Wrong username or password.") {
			t.Errorf("status %d:\n%s", p.Status, p.Body)
		}
	})
	consent := browser.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	if consent.URL.Path != "/oauth2/consent" {
		t.Fatalf("after login: %s %d\n%s", consent.URL, consent.Status, consent.Body)
	}
	t.Run("ConsentPage", func(t *testing.T) {
		for _, want := range []string{
			"Tunes", "Recommend things to friends", "See the list of your friends", "See your username and display name",
			`value="app" checked`, `value="selected"`, `value="30d" checked`, `value="90d"`, `value="never"`,
			`value="approve"`, `value="deny"`,
		} {
			if !strings.Contains(consent.Body, want) {
				t.Errorf("consent page lacks %q", want)
			}
		}
		if strings.Contains(consent.Body, `value="all"`) {
			t.Error("thread scope all offered to an app not approved for it")
		}
		if csp := headerOf(t, browser, consent.URL.String(), "Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("Content-Security-Policy %q is not strict", csp)
		}
	})
	resp := browser.Submit(t, consent, url.Values{"action": {"approve"}})
	if resp.Status != http.StatusFound && resp.Status != http.StatusSeeOther {
		t.Fatalf("approve: %d\n%s", resp.Status, resp.Body)
	}
	back, _ := url.Parse(resp.Location)
	if !strings.HasPrefix(resp.Location, apptest.RedirectURI+"?") {
		t.Fatalf("redirected to %s", resp.Location)
	}
	q := back.Query()
	if q.Get("state") != "st4te" || q.Get("iss") != env.URL || q.Get("code") == "" {
		t.Fatalf("authorization response %v", q)
	}

	tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("token %+v", tok)
	}
	if life := tok.ExpiresIn; life < 3500 || life > 3600 {
		t.Errorf("access token lives %d s, want about an hour", life)
	}

	t.Run("IDToken", func(t *testing.T) {
		raw, _ := tok.Extra("id_token").(string)
		idt, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		var keys jose.JSONWebKeySet
		getJSON(t, env.URL+"/oauth2/keys", &keys)
		var claims struct {
			jwt.Claims
			Nonce string `json:"nonce"`
		}
		if err := idt.Claims(keys.Keys[0].Key, &claims); err != nil {
			t.Fatal(err)
		}
		if claims.Issuer != env.URL || claims.Subject != apptest.MustMe(t, alice).ID || claims.Nonce != "n0nce" ||
			!slices.Contains(claims.Audience, partner.App.ClientID) {
			t.Errorf("claims %+v", claims)
		}
	})

	app := env.Client.WithToken(tok.AccessToken)
	t.Run("APIWithAppToken", func(t *testing.T) {
		if _, err := app.Friends(ctx); err != nil {
			t.Fatal(err)
		}
		me, err := app.Me(ctx)
		if err != nil || me.Username != "alice" {
			t.Fatalf("me = %+v, %v", me, err)
		}
	})
	t.Run("Userinfo", func(t *testing.T) {
		var info map[string]any
		if err := bearerJSON(env.URL+"/oauth2/userinfo", tok.AccessToken, &info); err != nil {
			t.Fatal(err)
		}
		if info["preferred_username"] != "alice" || info["sub"] != apptest.MustMe(t, alice).ID {
			t.Errorf("userinfo %v", info)
		}
	})
	t.Run("Introspection", func(t *testing.T) {
		got := introspect(t, env.URL, partner, tok.AccessToken)
		if got["active"] != true || got["client_id"] != partner.App.ClientID || got["scope"] != "openid profile friends.read offline_access" {
			t.Errorf("introspection %v", got)
		}
		other := env.MustPartner(t, "Other")
		if got := introspect(t, env.URL, other, tok.AccessToken); got["active"] != false {
			t.Errorf("another client sees the token: %v", got)
		}
	})
	t.Run("SecondSignInSkipsConsent", func(t *testing.T) {
		// The same browser, the same scopes: no screen, straight back to the app.
		verifier := oauth2.GenerateVerifier()
		p := browser.Get(t, cfg.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier)))
		if !strings.HasPrefix(p.Location, apptest.RedirectURI) {
			t.Fatalf("expected a redirect to the app, got %d %s\n%s", p.Status, p.URL, p.Body)
		}
	})
	t.Run("MoreScopesShowOnlyAdditions", func(t *testing.T) {
		wider := cfg
		wider.Scopes = []string{"openid", "profile", "friends.read", "messages.read"}
		p := browser.Get(t, wider.AuthCodeURL("wider", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if p.URL.Path != "/oauth2/consent" || !strings.Contains(p.Body, "Read messages in your conversations") {
			t.Fatalf("expected consent for the addition, got %s\n%s", p.URL, p.Body)
		}
		// What it holds is listed as what it can already do, with no box.
		if strings.Contains(p.Body, `name="scope" value="friends.read"`) {
			t.Error("consent for a widening asks again for scopes already granted")
		}
		if already, _, _ := strings.Cut(p.Body, `<fieldset id="scopes">`); !strings.Contains(already, "It can already:") || !strings.Contains(already, "See the list of your friends") {
			t.Error("consent for a widening does not say what the app can already do")
		}
	})
	t.Run("Refresh", func(t *testing.T) {
		fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
			t.Fatal("refresh did not rotate")
		}
		if _, err := env.Client.WithToken(fresh.AccessToken).Me(ctx); err != nil {
			t.Fatal(err)
		}
		t.Run("Revocation", func(t *testing.T) {
			revoke(t, env.URL, partner, fresh.AccessToken)
			if _, err := env.Client.WithToken(fresh.AccessToken).Me(ctx); client.StatusOf(err) != http.StatusUnauthorized {
				t.Errorf("revoked access token: %v", err)
			}
			revoke(t, env.URL, partner, fresh.RefreshToken)
			if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token(); err == nil {
				t.Error("revoked refresh token still works")
			}
		})
	})
}

func TestDeny_AccessDeniedAndNoGrant(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
		"alice", apptest.Answer{Deny: true})
	if got.Get("error") != "access_denied" || got.Get("state") != "s" || got.Get("iss") != env.URL || got.Has("code") {
		t.Errorf("deny answered %v", got)
	}
	if apps, err := alice.ConnectedApps(context.Background()); err != nil || len(apps) != 0 {
		t.Errorf("after deny, connected apps %v, %v", apps, err)
	}
}

func headerOf(t *testing.T, b *apptest.Browser, u, name string) string {
	t.Helper()
	resp, err := b.HTTP.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.Header.Get(name)
}

func getJSON(t *testing.T, u string, out any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

func bearerJSON(u, token string, out any) error {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &client.Error{Status: resp.StatusCode}
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// postClient posts a form to an endpoint authenticated as the partner.
func postClient(t *testing.T, u string, p *apptest.Partner, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(p.App.ClientID), url.QueryEscape(p.App.ClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func introspect(t *testing.T, base string, p *apptest.Partner, token string) map[string]any {
	t.Helper()
	resp := postClient(t, base+"/oauth2/introspect", p, url.Values{"token": {token}})
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func revoke(t *testing.T, base string, p *apptest.Partner, token string) {
	t.Helper()
	resp := postClient(t, base+"/oauth2/revoke", p, url.Values{"token": {token}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
}

func equalJSON(got any, want []string) bool {
	list, ok := got.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i := range list {
		if list[i] != want[i] {
			return false
		}
	}
	return true
}

// TestConsent_AppSuspendedMeanwhile: an app an operator suspends while the
// member has its consent page open gets nothing when the member then
// approves: no code, and no grant.
func TestConsent_AppSuspendedMeanwhile(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "profile"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	if !strings.Contains(consent.Body, `name="action"`) {
		t.Fatalf("no consent page: %d %s", consent.Status, consent.Body)
	}
	if _, err := env.Server.Service.SuspendApp(service.ConsoleContext(ctx), partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	p := b.Submit(t, consent, url.Values{"action": {"approve"}})
	if u, err := url.Parse(p.Location); p.Location != "" && (err != nil || u.Query().Has("code")) {
		t.Errorf("approving a suspended app's consent sent the app %s", p.Location)
	}
	if apps, err := alice.ConnectedApps(ctx); err != nil || len(apps) != 0 {
		t.Errorf("after approving a suspended app's consent, connected apps %+v, %v", apps, err)
	}
}
