package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// answer is an endpoint's response, read whole.
type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
}

// call sends a request with a form body; user and pass, when user is set,
// go in HTTP Basic as RFC 6749 section 2.3.1 encodes them.
func call(t *testing.T, method, u string, form url.Values, user, pass string, header ...string) *answer {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := &answer{Status: resp.StatusCode, Header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.Body); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %q", method, u, resp.StatusCode, raw)
		}
	}
	return a
}

// basic calls an endpoint authenticated as the partner.
func basic(t *testing.T, u string, p *apptest.Partner, form url.Values) *answer {
	t.Helper()
	return call(t, "POST", u, form, p.App.ClientID, p.App.ClientSecret)
}

func (a *answer) want(t *testing.T, status int, code string) {
	t.Helper()
	if a.Status != status || a.Body["error"] != code {
		t.Errorf("answered %d %v, want %d %s", a.Status, a.Body, status, code)
	}
}

// signedIn runs sign-in and consent and returns the code and its verifier.
func signedIn(t *testing.T, p *apptest.Partner, scopes ...string) (code, verifier string) {
	t.Helper()
	cfg := *p.Config
	cfg.Scopes = scopes
	verifier = oauth2.GenerateVerifier()
	got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{})
	return got.Get("code"), verifier
}

func codeForm(p *apptest.Partner, code, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {p.Config.RedirectURL}}
}

func TestEndpoints_NoStore(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "offline_access")
	ok := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier))
	if ok.Status != http.StatusOK {
		t.Fatalf("exchange: %d %v", ok.Status, ok.Body)
	}
	access, _ := ok.Body["access_token"].(string)
	answers := map[string]*answer{
		"TokenOK":           ok,
		"TokenError":        basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, "nonsense", verifier)),
		"TokenUnauthorized": call(t, "POST", env.URL+"/oauth2/token", codeForm(partner, code, verifier), "pc_nobody", "x"),
		"IntrospectOK":      basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {access}}),
		"IntrospectError":   basic(t, env.URL+"/oauth2/introspect", partner, nil),
		"RevokeOK":          basic(t, env.URL+"/oauth2/revoke", partner, url.Values{"token": {"nonsense"}}),
		"RevokeError":       basic(t, env.URL+"/oauth2/revoke", partner, nil),
		"UserinfoOK":        call(t, "GET", env.URL+"/oauth2/userinfo", nil, "", "", "Authorization", "Bearer "+access),
		"UserinfoError":     call(t, "GET", env.URL+"/oauth2/userinfo", nil, "", ""),
	}
	for name, a := range answers {
		if cc, p := a.Header.Get("Cache-Control"), a.Header.Get("Pragma"); cc != "no-store" || p != "no-cache" {
			t.Errorf("%s (%d): Cache-Control %q, Pragma %q", name, a.Status, cc, p)
		}
	}
}

func TestToken_ClientAuthenticationIsInvalidClient(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "offline_access")
	// A code that does not exist: client authentication is answered first.
	bogus := codeForm(partner, "no-such-code", verifier)
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"no-such-token"}}
	for name, a := range map[string]*answer{
		"UnknownClient":        call(t, "POST", env.URL+"/oauth2/token", bogus, "pc_nobody", "pcs_guess"),
		"WrongSecret":          call(t, "POST", env.URL+"/oauth2/token", bogus, partner.App.ClientID, "pcs_guess"),
		"MissingSecret":        call(t, "POST", env.URL+"/oauth2/token", withClientID(bogus, partner.App.ClientID), "", ""),
		"NoClientAtAll":        call(t, "POST", env.URL+"/oauth2/token", bogus, "", ""),
		"WrongSecretOnRefresh": call(t, "POST", env.URL+"/oauth2/token", refresh, partner.App.ClientID, "pcs_guess"),
	} {
		t.Run(name, func(t *testing.T) {
			a.want(t, http.StatusUnauthorized, "invalid_client")
			if !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("WWW-Authenticate %q", a.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Failed attempts did not spend the code.
	if a := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier)); a.Status != http.StatusOK {
		t.Errorf("the right client after wrong ones: %d %v", a.Status, a.Body)
	}
}

func withClientID(form url.Values, clientID string) url.Values {
	out := url.Values{"client_id": {clientID}}
	for k, v := range form {
		out[k] = v
	}
	return out
}

func TestToken_DuplicateParameterIsInvalidRequest(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	for _, name := range []string{"code_verifier", "code", "redirect_uri", "grant_type"} {
		t.Run(name, func(t *testing.T) {
			code, verifier := signedIn(t, partner, "openid")
			form := codeForm(partner, code, verifier)
			form.Add(name, form.Get(name))
			basic(t, env.URL+"/oauth2/token", partner, form).want(t, http.StatusBadRequest, "invalid_request")
		})
	}
	t.Run("InQueryAndBody", func(t *testing.T) {
		code, verifier := signedIn(t, partner, "openid")
		basic(t, env.URL+"/oauth2/token?grant_type=authorization_code", partner, codeForm(partner, code, verifier)).
			want(t, http.StatusBadRequest, "invalid_request")
	})
	t.Run("Introspection", func(t *testing.T) {
		basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {"a", "b"}}).want(t, http.StatusBadRequest, "invalid_request")
	})
}

func TestToken_InvalidGrantSaysWhy(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "offline_access")
	wrongURI := codeForm(partner, code, verifier)
	wrongURI.Set("redirect_uri", apptest.RedirectURI+"/other")
	for name, form := range map[string]url.Values{
		"UnknownCode":  codeForm(partner, "no-such-code", verifier),
		"NoVerifier":   url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {partner.Config.RedirectURL}},
		"UsedCode":     codeForm(partner, code, verifier),
		"WrongURI":     wrongURI,
		"UnknownToken": {"grant_type": {"refresh_token"}, "refresh_token": {"no-such-token"}},
	} {
		t.Run(name, func(t *testing.T) {
			if name == "UsedCode" {
				code2, verifier2 := signedIn(t, partner, "openid")
				form = codeForm(partner, code2, verifier2)
				basic(t, env.URL+"/oauth2/token", partner, form)
			}
			a := basic(t, env.URL+"/oauth2/token", partner, form)
			a.want(t, http.StatusBadRequest, "invalid_grant")
			if d, _ := a.Body["error_description"].(string); len(d) < 10 {
				t.Errorf("error_description %q says nothing", d)
			}
		})
	}
}

func TestRefresh_ReuseRevokesTheFamily(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	first := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	second, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if got := introspect(t, env.URL, partner, second.RefreshToken); got["active"] != true {
		t.Fatalf("the successor before the reuse: %v", got)
	}
	a := basic(t, env.URL+"/oauth2/token", partner, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}})
	a.want(t, http.StatusBadRequest, "invalid_grant")
	if a.Body["error_description"] != "refresh token already used; its family is revoked" {
		t.Errorf("error_description %q", a.Body["error_description"])
	}
	for name, tok := range map[string]string{"SuccessorRefresh": second.RefreshToken, "SuccessorAccess": second.AccessToken, "FirstAccess": first.AccessToken} {
		if got := introspect(t, env.URL, partner, tok); len(got) != 1 || got["active"] != false {
			t.Errorf("%s introspects %v, want {\"active\": false}", name, got)
		}
	}
	assertRefused(t, env, second.AccessToken)
}

func TestIntrospection_RFC7662(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	other := env.MustPartner(t, "Other")
	phone := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	phone.Config.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile", "offline_access"}, apptest.Answer{})
	sub := apptest.MustMe(t, alice).ID

	t.Run("ActiveRefreshToken", func(t *testing.T) {
		a := basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {tok.RefreshToken}})
		if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s", a.Status, a.Header.Get("Content-Type"))
		}
		b := a.Body
		if b["active"] != true || b["scope"] != "openid profile offline_access" || b["client_id"] != partner.App.ClientID ||
			b["sub"] != sub || b["token_type"] != "refresh_token" || b["exp"] == nil || b["iat"] == nil {
			t.Errorf("introspection %v", b)
		}
	})
	t.Run("Inactive", func(t *testing.T) {
		revoked := env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
		revoke(t, env.URL, partner, revoked.AccessToken)
		for name, a := range map[string]*answer{
			"Unknown": basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {"no-such-token"}}),
			"Revoked": basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {revoked.AccessToken}}),
			"Foreign": basic(t, env.URL+"/oauth2/introspect", other, url.Values{"token": {tok.RefreshToken}}),
			"Public":  call(t, "POST", env.URL+"/oauth2/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {phone.App.ClientID}}, "", ""),
		} {
			if a.Status != http.StatusOK || len(a.Body) != 1 || a.Body["active"] != false || a.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: %d %s %v, want {\"active\": false}", name, a.Status, a.Header.Get("Content-Type"), a.Body)
			}
		}
	})
	t.Run("PublicClientOwnToken", func(t *testing.T) {
		own := env.MustToken(t, phone, "alice", []string{"openid"}, apptest.Answer{})
		a := call(t, "POST", env.URL+"/oauth2/introspect", url.Values{"token": {own.AccessToken}, "client_id": {phone.App.ClientID}}, "", "")
		if a.Body["active"] != true || a.Body["client_id"] != phone.App.ClientID || a.Body["token_type"] != "Bearer" {
			t.Errorf("introspection %v", a.Body)
		}
	})
	t.Run("FailedAuthentication", func(t *testing.T) {
		for name, a := range map[string]*answer{
			"WrongSecret": call(t, "POST", env.URL+"/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, partner.App.ClientID, "pcs_guess"),
			"Nobody":      call(t, "POST", env.URL+"/oauth2/introspect", url.Values{"token": {tok.AccessToken}}, "", ""),
			"NoSecret":    call(t, "POST", env.URL+"/oauth2/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {partner.App.ClientID}}, "", ""),
		} {
			t.Run(name, func(t *testing.T) {
				a.want(t, http.StatusUnauthorized, "invalid_client")
				if a.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Basic") {
					t.Errorf("Content-Type %q, WWW-Authenticate %q", a.Header.Get("Content-Type"), a.Header.Get("WWW-Authenticate"))
				}
			})
		}
	})
	t.Run("Discovery", func(t *testing.T) {
		var d map[string]any
		getJSON(t, env.URL+"/.well-known/openid-configuration", &d)
		if got := d["introspection_endpoint_auth_methods_supported"]; !equalJSON(got, []string{"client_secret_basic", "client_secret_post", "none"}) {
			t.Errorf("introspection_endpoint_auth_methods_supported = %v", got)
		}
	})
}

func TestRevocation_RFC7009(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	t.Run("NoToken", func(t *testing.T) {
		basic(t, env.URL+"/oauth2/revoke", partner, nil).want(t, http.StatusBadRequest, "invalid_request")
	})
	t.Run("UnknownToken", func(t *testing.T) {
		a := basic(t, env.URL+"/oauth2/revoke", partner, url.Values{"token": {"no-such-token"}})
		if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%d %s", a.Status, a.Header.Get("Content-Type"))
		}
	})
	t.Run("FailedAuthentication", func(t *testing.T) {
		a := call(t, "POST", env.URL+"/oauth2/revoke", url.Values{"token": {"x"}}, partner.App.ClientID, "pcs_guess")
		a.want(t, http.StatusUnauthorized, "invalid_client")
	})
}

func TestUserinfo_RFC6750Challenges(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	userinfo := func(token string) *answer {
		if token == "" {
			return call(t, "GET", env.URL+"/oauth2/userinfo", nil, "", "")
		}
		return call(t, "GET", env.URL+"/oauth2/userinfo", nil, "", "", "Authorization", "Bearer "+token)
	}
	t.Run("NoToken", func(t *testing.T) {
		a := userinfo("")
		if a.Status != http.StatusUnauthorized || a.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%d, WWW-Authenticate %q", a.Status, a.Header.Get("WWW-Authenticate"))
		}
	})
	revoked := env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
	revoke(t, env.URL, partner, revoked.AccessToken)
	expiring := env.MustPartner(t, "Expiring")
	expired := env.MustToken(t, expiring, "alice", []string{"openid"}, apptest.Answer{})
	env.Clock.Advance(time.Hour + time.Second) // an access token lasts an hour
	session, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{
		"Unknown": "no-such-token", "Revoked": revoked.AccessToken, "Expired": expired.AccessToken, "MemberSession": session.Token,
	} {
		t.Run(name, func(t *testing.T) {
			a := userinfo(token)
			if a.Status != http.StatusUnauthorized || !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
				t.Errorf("%d, WWW-Authenticate %q", a.Status, a.Header.Get("WWW-Authenticate"))
			}
		})
	}
	t.Run("WithoutOpenID", func(t *testing.T) {
		tok := env.MustToken(t, env.MustPartner(t, "Sharer"), "alice", []string{"shares.write", "messages.read"}, apptest.Answer{})
		a := userinfo(tok.AccessToken)
		if a.Status != http.StatusForbidden || !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), `Bearer error="insufficient_scope"`) {
			t.Errorf("%d, WWW-Authenticate %q", a.Status, a.Header.Get("WWW-Authenticate"))
		}
	})
}

func TestToken_NoIDTokenWithoutOpenID(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Sharer")
	tok := env.MustToken(t, partner, "alice", []string{"shares.write", "messages.read", "offline_access"}, apptest.Answer{})
	if id := tok.Extra("id_token"); id != nil && id != "" {
		t.Errorf("id_token %v without the openid scope", id)
	}
	fresh, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if id := fresh.Extra("id_token"); id != nil && id != "" {
		t.Errorf("id_token %v on refresh without the openid scope", id)
	}
}

func TestAPI_UnauthorizedSaysWhy(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	ctx := context.Background()
	scopes := []string{"openid", "profile"}
	detail := func(token string) string {
		_, err := env.Client.WithToken(token).Me(ctx)
		e, ok := err.(*client.Error)
		if !ok || e.Status != http.StatusUnauthorized {
			t.Fatalf("API answered %v, want 401", err)
		}
		return e.Detail
	}
	t.Run("Expired", func(t *testing.T) {
		p := env.MustPartner(t, "Expired")
		tok := env.MustToken(t, p, "alice", scopes, apptest.Answer{})
		env.Clock.Advance(time.Hour + time.Second) // an access token lasts an hour
		if d := detail(tok.AccessToken); !strings.Contains(d, "expired") {
			t.Errorf("detail %q", d)
		}
	})
	t.Run("GrantRevoked", func(t *testing.T) {
		p := env.MustPartner(t, "Revoked")
		tok := env.MustToken(t, p, "alice", scopes, apptest.Answer{})
		apps, err := alice.ConnectedApps(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			if a.ClientID == p.App.ClientID {
				if err := alice.RevokeGrant(ctx, a.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if d := detail(tok.AccessToken); !strings.Contains(d, "grant") || !strings.Contains(d, "revoked") {
			t.Errorf("detail %q", d)
		}
	})
}
