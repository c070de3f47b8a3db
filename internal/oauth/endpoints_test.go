package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

// TestRefresh_RevokedBetweenItsLookupAndItsIssue: a refresh token revoked
// (RFC 7009) after its refresh looked it up, and before the refresh
// issued, issues nothing: the issue finds it revoked, not only whether it
// was used.
func TestRefresh_RevokedBetweenItsLookupAndItsIssue(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	ref, err := env.Server.Service.RefreshFor(ctx, tok.RefreshToken, partner.App.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	if a := basic(t, env.URL+"/oauth2/revoke", partner, url.Values{"token": {tok.RefreshToken}}); a.Status != http.StatusOK {
		t.Fatalf("revoke: %d %v", a.Status, a.Body)
	}
	out, err := env.Server.Service.IssueTokens(ctx, service.TokenIssue{
		FamilyID: ref.Token.FamilyID, GrantID: ref.Token.GrantID, ClientID: ref.Token.ClientID, UserID: ref.Token.UserID,
		Scopes: ref.Token.Scopes, Refresh: tok.RefreshToken, RefreshScopes: ref.Token.Scopes, WithRefresh: true,
	})
	if err == nil {
		t.Fatalf("a revoked refresh token issued %+v", out)
	}
}

// TestRefresh_RevocationRacingARefresh: a refresh and the revocation of
// its token (RFC 7009) at once leave no token of the family working,
// whichever comes first: a refresh that won hands out tokens that the
// revocation then ends. On PostgreSQL, where the two run side by side,
// the revocation waits for the refresh and finds what it added.
func TestRefresh_RevocationRacingARefresh(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	for round := range 20 {
		tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
		var wg sync.WaitGroup
		var fresh *oauth2.Token
		var refreshErr error
		wg.Go(func() {
			fresh, refreshErr = partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		})
		wg.Go(func() {
			if a := basic(t, env.URL+"/oauth2/revoke", partner, url.Values{"token": {tok.RefreshToken}}); a.Status != http.StatusOK {
				t.Errorf("revoke: %d %v", a.Status, a.Body)
			}
		})
		wg.Wait()
		if refreshErr != nil {
			continue
		}
		for name, token := range map[string]string{"refresh": fresh.RefreshToken, "access": fresh.AccessToken} {
			if got := introspect(t, env.URL, partner, token); got["active"] != false {
				t.Fatalf("round %d: the refresh token was revoked (200), yet the %s token of the refresh that raced it is active: %v", round, name, got)
			}
		}
	}
}

// TestRefresh_NarrowedAccessTokenKeepsTheRefreshTokensScope: a refresh may
// ask for an access token of fewer scopes, but the refresh token that
// replaces the one presented keeps its scope (RFC 6749 section 6: "the
// refresh token scope MUST be identical to that of the refresh token
// included by the client in the request"), so the next refresh can ask for
// all of it again.
func TestRefresh_NarrowedAccessTokenKeepsTheRefreshTokensScope(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	first := env.MustToken(t, partner, "alice", []string{"openid", "profile", "offline_access"}, apptest.Answer{})
	narrow := basic(t, env.URL+"/oauth2/token", partner,
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}, "scope": {"openid"}})
	if narrow.Status != http.StatusOK || narrow.Body["scope"] != "openid" {
		t.Fatalf("narrowed refresh: %d %v", narrow.Status, narrow.Body)
	}
	refresh, _ := narrow.Body["refresh_token"].(string)
	if got := introspect(t, env.URL, partner, refresh); got["active"] != true || got["scope"] != "openid profile offline_access" {
		t.Errorf("the new refresh token introspects %v, want the scope of the one it replaced", got)
	}
	whole, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if got := whole.Extra("scope"); got != "openid profile offline_access" {
		t.Errorf("the next refresh, asking for no scope, got %q, want the refresh token's whole scope", got)
	}
}

// TestIntrospection_RotatedRefreshTokenIsInactive: a refresh token that was
// exchanged for its successor can no longer be used, so introspection
// answers it inactive (RFC 7662 section 2.2), and asking leaves its
// family in force.
func TestIntrospection_RotatedRefreshTokenIsInactive(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	first := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	second, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if got := introspect(t, env.URL, partner, first.RefreshToken); len(got) != 1 || got["active"] != false {
		t.Errorf("the rotated refresh token introspects %v, want {\"active\": false}", got)
	}
	if got := introspect(t, env.URL, partner, second.RefreshToken); got["active"] != true {
		t.Errorf("its successor introspects %v", got)
	}
}

// TestIntrospection_ExpiresWithTheGrant: an access token works until it
// or its grant expires, whichever comes first, and introspection's exp
// says when that is (RFC 7662 section 2.2), so that a resource server that
// trusts the answer until exp never honours a token whose grant ended.
func TestIntrospection_ExpiresWithTheGrant(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{Expiry: "30d"})
	grantEnds := env.Clock.Now().Add(30 * 24 * time.Hour).Unix()
	env.Clock.Advance(30*24*time.Hour - 10*time.Minute)
	last, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	got := introspect(t, env.URL, partner, last.AccessToken)
	if exp, _ := got["exp"].(float64); got["active"] != true || int64(exp) > grantEnds {
		t.Errorf("introspection %v, want exp by the grant's end, %d", got, grantEnds)
	}
	env.Clock.Advance(10*time.Minute + time.Second)
	assertRefused(t, env, last.AccessToken)
}

func TestIntrospection_RFC7662(t *testing.T) {
	t.Parallel()
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
			b["sub"] != sub || b["token_type"] != nil || b["exp"] == nil || b["iat"] == nil {
			t.Errorf("introspection %v", b)
		}
	})
	// An access token's answer says what a resource server acts on: whose
	// token it is, for whom (aud), from which server (iss), and until when:
	// an hour from its issue.
	t.Run("ActiveAccessToken", func(t *testing.T) {
		b := basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {tok.AccessToken}}).Body
		exp, _ := b["exp"].(float64)
		iat, _ := b["iat"].(float64)
		if b["active"] != true || b["scope"] != "openid profile offline_access" || b["client_id"] != partner.App.ClientID ||
			b["sub"] != sub || b["token_type"] != "Bearer" || b["iss"] != env.URL || !equalJSON(b["aud"], []string{partner.App.ClientID}) ||
			exp-iat != time.Hour.Seconds() {
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
		} {
			if a.Status != http.StatusOK || len(a.Body) != 1 || a.Body["active"] != false || a.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: %d %s %v, want {\"active\": false}", name, a.Status, a.Header.Get("Content-Type"), a.Body)
			}
		}
	})
	// RFC 7662 section 2.1: introspection takes an authenticated client,
	// and a public app's client_id, in every URL it sends members to,
	// authenticates nothing: it may not introspect even its own tokens.
	t.Run("NotAPublicClient", func(t *testing.T) {
		own := env.MustToken(t, phone, "alice", []string{"openid"}, apptest.Answer{})
		for _, token := range []string{own.AccessToken, tok.AccessToken} {
			a := call(t, "POST", env.URL+"/oauth2/introspect", url.Values{"token": {token}, "client_id": {phone.App.ClientID}}, "", "")
			a.want(t, http.StatusUnauthorized, "invalid_client")
			if a.Body["active"] != nil || !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("a public app introspecting: %v, WWW-Authenticate %q", a.Body, a.Header.Get("WWW-Authenticate"))
			}
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
		if got := d["introspection_endpoint_auth_methods_supported"]; !equalJSON(got, []string{"client_secret_basic", "client_secret_post"}) {
			t.Errorf("introspection_endpoint_auth_methods_supported = %v", got)
		}
	})
}

// TestIntrospection_ScopeIsWhatTheGrantStillHolds: a member who takes a
// scope out of a grant takes it out of the grant's tokens at once, and
// introspection says so (RFC 7662 section 2.2: scope is what the token
// may do).
func TestIntrospection_ScopeIsWhatTheGrantStillHolds(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile", "friends.read"}, apptest.Answer{})
	narrowGrant(t, alice, "friends.read")
	if got := introspect(t, env.URL, partner, tok.AccessToken); got["active"] != true || got["scope"] != "openid friends.read" {
		t.Errorf("after profile was taken out of the grant, introspection %v", got)
	}
}

// TestToken_CodeScopeIsWhatTheGrantStillHolds: a member who takes a scope
// out of the grant between the consent and the code's exchange (a code
// lasts a minute) takes it out of the tokens the code brings: the token
// response says what the access token may do (RFC 6749 section 5.1), as
// introspection says of it and of the refresh token.
func TestToken_CodeScopeIsWhatTheGrantStillHolds(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "profile", "friends.read", "offline_access")
	narrowGrant(t, alice, "friends.read")
	a := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier))
	if a.Status != http.StatusOK || a.Body["scope"] != "openid friends.read offline_access" {
		t.Fatalf("the code's exchange after profile was taken out: %d %v", a.Status, a.Body)
	}
	if in := introspect(t, env.URL, partner, a.Body["access_token"].(string)); in["scope"] != a.Body["scope"] {
		t.Errorf("the access token's scope is %v, the token response said %v", in["scope"], a.Body["scope"])
	}
	if in := introspect(t, env.URL, partner, a.Body["refresh_token"].(string)); in["scope"] != a.Body["scope"] {
		t.Errorf("the refresh token's scope is %v, the token response said %v", in["scope"], a.Body["scope"])
	}
}

// TestToken_ErrorDescriptionIsProtocolText: a refusal that tells why an app
// may not exchange holds only the characters RFC 6749 section 5.2 allows
// in error_description, whatever the app's name holds.
func TestToken_ErrorDescriptionIsProtocolText(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, `Café "Club" \ 映画`)
	if _, err := env.Server.Service.SuspendApp(service.ConsoleContext(context.Background()), partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	a := basic(t, env.URL+"/oauth2/token", partner, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	d, _ := a.Body["error_description"].(string)
	if a.Body["error"] != "invalid_client" || !strings.Contains(d, "suspended") {
		t.Fatalf("a suspended app's exchange: %d %v", a.Status, a.Body)
	}
	for _, r := range d {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			t.Fatalf("error_description %q holds %q", d, r)
		}
	}
}

// narrowGrant takes every scope but keep out of the member's one grant, as
// the connected apps page does; the scopes a grant cannot lose stay.
func narrowGrant(t *testing.T, member *client.Client, keep ...string) {
	t.Helper()
	path := "/api/v1/me/grants/" + onlyGrant(t, member).ID
	if _, err := member.Do(context.Background(), "PATCH", path, map[string]any{"scopes": append([]string{}, keep...)}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRevocation_RFC7009(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	scopes := []string{"openid", "profile", "offline_access"}
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
	// A refresh token takes every token of its grant with it (section 2.1).
	t.Run("RefreshTokenEndsItsFamily", func(t *testing.T) {
		tok := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		revoke(t, env.URL, partner, tok.RefreshToken)
		assertRevoked(t, env, partner, tok)
	})
	// An access token goes alone: the app keeps its refresh token.
	t.Run("AccessTokenAlone", func(t *testing.T) {
		tok := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		revoke(t, env.URL, partner, tok.AccessToken)
		assertRefused(t, env, tok.AccessToken)
		fresh, err := partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("the refresh token after its access token was revoked: %v", err)
		}
		if _, err := env.Client.WithToken(fresh.AccessToken).Me(ctx); err != nil {
			t.Errorf("the refreshed access token: %v", err)
		}
	})
	// Another client's token is refused (section 2.1), and stays in force.
	t.Run("AnotherClientsToken", func(t *testing.T) {
		tok := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		other := env.MustPartner(t, "Other")
		for _, token := range []string{tok.AccessToken, tok.RefreshToken} {
			basic(t, env.URL+"/oauth2/revoke", other, url.Values{"token": {token}}).want(t, http.StatusBadRequest, "invalid_grant")
		}
		if _, err := env.Client.WithToken(tok.AccessToken).Me(ctx); err != nil {
			t.Errorf("the access token another client tried to revoke: %v", err)
		}
		if _, err := partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
			t.Errorf("the refresh token another client tried to revoke: %v", err)
		}
	})
}

// TestUserinfo_ClaimsFollowTheScopes: userinfo answers the claims the
// token's scopes cover and no more (OpenID Connect Core section 5.4): the
// subject for openid, the username and display name for profile, which a
// member who takes profile out of the grant takes out of the answer at
// once.
func TestUserinfo_ClaimsFollowTheScopes(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	sub := apptest.MustMe(t, alice).ID
	userinfo := func(t *testing.T, token string) map[string]any {
		t.Helper()
		var info map[string]any
		if err := bearerJSON(env.URL+"/oauth2/userinfo", token, &info); err != nil {
			t.Fatal(err)
		}
		return info
	}
	subOnly := map[string]any{"sub": sub}
	t.Run("OpenID", func(t *testing.T) {
		tok := env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
		if info := userinfo(t, tok.AccessToken); !maps.Equal(info, subOnly) {
			t.Errorf("userinfo %v, want %v", info, subOnly)
		}
	})
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	t.Run("Profile", func(t *testing.T) {
		want := map[string]any{"sub": sub, "preferred_username": "alice", "name": "Member alice"}
		if info := userinfo(t, tok.AccessToken); !maps.Equal(info, want) {
			t.Errorf("userinfo %v, want %v", info, want)
		}
	})
	t.Run("ProfileTakenOut", func(t *testing.T) {
		narrowGrant(t, alice)
		if info := userinfo(t, tok.AccessToken); !maps.Equal(info, subOnly) {
			t.Errorf("userinfo %v, want %v", info, subOnly)
		}
	})
}

func TestUserinfo_RFC6750Challenges(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

func TestToken_UnsupportedGrantType(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	public := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	var d map[string]any
	getJSON(t, env.URL+"/.well-known/openid-configuration", &d)
	if got := d["grant_types_supported"]; !equalJSON(got, []string{"authorization_code", "refresh_token", "client_credentials"}) {
		t.Fatalf("grant_types_supported = %v", got)
	}
	// Whatever grant_types_supported leaves out is unsupported_grant_type
	// (RFC 6749 section 5.2), for every client.
	for _, grant := range []string{"password", "implicit", "nonsense",
		"urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:device_code",
		"urn:ietf:params:oauth:grant-type:jwt-bearer"} {
		t.Run(grant, func(t *testing.T) {
			form := url.Values{"grant_type": {grant}, "scope": {"openid"}, "username": {"alice"}, "password": {"x"}}
			basic(t, env.URL+"/oauth2/token", partner, form).want(t, http.StatusBadRequest, "unsupported_grant_type")
			form.Set("client_id", public.App.ClientID)
			call(t, "POST", env.URL+"/oauth2/token", form, "", "").want(t, http.StatusBadRequest, "unsupported_grant_type")
		})
	}
}

// userinfoRefused checks a userinfo answer of 400 invalid_request, with
// the challenge RFC 6750 section 3 gives it.
func userinfoRefused(t *testing.T, a *answer) {
	t.Helper()
	a.want(t, http.StatusBadRequest, "invalid_request")
	if c := a.Header.Get("WWW-Authenticate"); !strings.HasPrefix(c, `Bearer error="invalid_request"`) {
		t.Errorf("WWW-Authenticate %q, want Bearer error=\"invalid_request\"", c)
	}
}

func TestUserinfo_BadRequestIsChallenged(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	tok := env.MustToken(t, env.MustPartner(t, "Tunes"), "alice", []string{"openid"}, apptest.Answer{})
	u := env.URL + "/oauth2/userinfo"
	for name, a := range map[string]*answer{
		"TwiceInBody":        call(t, "POST", u, url.Values{"access_token": {tok.AccessToken, tok.AccessToken}}, "", ""),
		"InQueryAndBody":     call(t, "POST", u+"?access_token="+url.QueryEscape(tok.AccessToken), url.Values{"access_token": {tok.AccessToken}}, "", ""),
		"UnreadableQuery":    call(t, "GET", u+"?x=%zz", nil, "", "", "Authorization", "Bearer "+tok.AccessToken),
		"UnreadableBodyPOST": call(t, "POST", u+"?x=%zz", url.Values{"access_token": {tok.AccessToken}}, "", ""),
	} {
		t.Run(name, func(t *testing.T) { userinfoRefused(t, a) })
	}
}

func TestUserinfo_TokenSentTwoWaysIsInvalidRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	tok := env.MustToken(t, env.MustPartner(t, "Tunes"), "alice", []string{"openid"}, apptest.Answer{})
	u := env.URL + "/oauth2/userinfo"
	bearer := []string{"Authorization", "Bearer " + tok.AccessToken}
	inQuery := u + "?access_token=" + url.QueryEscape(tok.AccessToken)
	body := url.Values{"access_token": {tok.AccessToken}}
	// RFC 6750 section 2: a client uses one way only, even with the same
	// token, and whichever token comes second.
	for name, a := range map[string]*answer{
		"HeaderAndBody":       call(t, "POST", u, body, "", "", bearer...),
		"HeaderAndQuery":      call(t, "GET", inQuery, nil, "", "", bearer...),
		"HeaderAndQueryPOST":  call(t, "POST", inQuery, nil, "", "", bearer...),
		"HeaderAndOtherToken": call(t, "POST", u, url.Values{"access_token": {"other"}}, "", "", bearer...),
	} {
		t.Run(name, func(t *testing.T) { userinfoRefused(t, a) })
	}
	t.Run("OneWay", func(t *testing.T) {
		for name, a := range map[string]*answer{
			"Header": call(t, "GET", u, nil, "", "", bearer...),
			"Body":   call(t, "POST", u, body, "", ""),
			// A parameter without a value counts as omitted.
			"HeaderAndEmptyBody": call(t, "POST", u, url.Values{"access_token": {""}}, "", "", bearer...),
		} {
			if a.Status != http.StatusOK || a.Body["sub"] == nil {
				t.Errorf("%s: %d %v", name, a.Status, a.Body)
			}
		}
	})
}

func TestToken_FailedRedemptionLeavesTheCode(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	other := env.MustPartner(t, "Other")
	phone := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	token := env.URL + "/oauth2/token"
	for name, attempt := range map[string]func(form url.Values) *answer{
		"WrongRedirectURI": func(form url.Values) *answer {
			form.Set("redirect_uri", apptest.RedirectURI+"/other")
			return basic(t, token, partner, form)
		},
		"WrongVerifier": func(form url.Values) *answer {
			form.Set("code_verifier", oauth2.GenerateVerifier())
			return basic(t, token, partner, form)
		},
		"NoVerifier": func(form url.Values) *answer {
			form.Del("code_verifier")
			return basic(t, token, partner, form)
		},
		"OtherClient": func(form url.Values) *answer { return basic(t, token, other, form) },
		"OtherPublicClient": func(form url.Values) *answer {
			return call(t, "POST", token, withClientID(form, phone.App.ClientID), "", "")
		},
	} {
		t.Run(name, func(t *testing.T) {
			code, verifier := signedIn(t, partner, "openid", "profile")
			a := attempt(codeForm(partner, code, verifier))
			a.want(t, http.StatusBadRequest, "invalid_grant")
			if d, _ := a.Body["error_description"].(string); strings.Contains(d, "already used") || len(d) < 10 {
				t.Errorf("error_description %q", d)
			}
			ok := basic(t, token, partner, codeForm(partner, code, verifier))
			if ok.Status != http.StatusOK {
				t.Fatalf("the legitimate exchange after a failed one: %d %v", ok.Status, ok.Body)
			}
			access, _ := ok.Body["access_token"].(string)
			if _, err := env.Client.WithToken(access).Me(context.Background()); err != nil {
				t.Errorf("its token does not work: %v", err)
			}
			// Once used, the code is spent: presented again by another
			// client it is still refused and leaves the tokens alone; by
			// its client, it revokes them (TestAttack_CodeReplayRevokesTokens).
			basic(t, token, other, codeForm(partner, code, verifier)).want(t, http.StatusBadRequest, "invalid_grant")
			if _, err := env.Client.WithToken(access).Me(context.Background()); err != nil {
				t.Errorf("another client's replay revoked the tokens: %v", err)
			}
			replay := basic(t, token, partner, codeForm(partner, code, verifier))
			replay.want(t, http.StatusBadRequest, "invalid_grant")
			if replay.Body["error_description"] != "code already used; the tokens it issued are revoked" {
				t.Errorf("replay: %v", replay.Body)
			}
			assertRefused(t, env, access)
		})
	}
}

func TestToken_RacingExchangesOneWins(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid")
	const n = 8
	statuses := make(chan int, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			req, _ := http.NewRequest("POST", env.URL+"/oauth2/token", strings.NewReader(codeForm(partner, code, verifier).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(partner.App.ClientID), url.QueryEscape(partner.App.ClientSecret))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		}()
	}
	close(start)
	won := 0
	for range n {
		switch s := <-statuses; s {
		case http.StatusOK:
			won++
		case http.StatusBadRequest:
		default:
			t.Errorf("an exchange answered %d", s)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d racing exchanges of one code succeeded, want 1", won, n)
	}
}

// A client ID or parameter that is not text (invalid UTF-8, a NUL byte) is
// refused like any other bad one, on every engine: PostgreSQL refuses such
// a string even in a lookup, so that it was a 500 there, with the
// database's own words in error_description.
func TestEndpoints_ParameterThatIsNotTextIsRefused(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	credentials := url.Values{"grant_type": {"client_credentials"}}
	for name, tc := range map[string]struct {
		path       string
		form       url.Values
		user, pass string
		status     int
		code       string
	}{
		"ClientIDInForm":  {"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"pc_\xff"}, "client_secret": {"x"}}, "", "", 401, "invalid_client"},
		"ClientIDNUL":     {"/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"pc_\x00"}}, "", "", 401, "invalid_client"},
		"ClientIDInBasic": {"/oauth2/token", credentials, "pc_\xff", "secret", 401, "invalid_client"},
		"RevokeClientID":  {"/oauth2/revoke", url.Values{"token": {"x"}, "client_id": {"\xff"}}, "", "", 401, "invalid_client"},
		"IntrospectBasic": {"/oauth2/introspect", url.Values{"token": {"x"}}, "\xff", "secret", 401, "invalid_client"},
		// A code or token is looked up by its hash: one that is not text
		// is just unknown.
		"CodeInvalidUTF8": {"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {"\xff"}, "code_verifier": {strings.Repeat("v", 43)}, "redirect_uri": {partner.Config.RedirectURL}}, partner.App.ClientID, partner.App.ClientSecret, 400, "invalid_grant"},
	} {
		t.Run(name, func(t *testing.T) {
			a := call(t, "POST", env.URL+tc.path, tc.form, tc.user, tc.pass)
			a.want(t, tc.status, tc.code)
			if d, _ := a.Body["error_description"].(string); strings.Contains(d, "sqlstore") || strings.Contains(d, "SQLSTATE") {
				t.Errorf("error_description tells the database's words: %q", d)
			}
		})
	}
}

// TestToken_CodeOfARevokedGrantIssuesNothing: tokens are issued only while
// the grant is in force, so a member who revokes it between consenting and
// the app's exchange of the code has the last word.
func TestToken_CodeOfARevokedGrantIssuesNothing(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "offline_access")
	if err := alice.RevokeGrant(context.Background(), onlyGrant(t, alice).ID); err != nil {
		t.Fatal(err)
	}
	a := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier))
	a.want(t, http.StatusBadRequest, "invalid_grant")
	if a.Body["access_token"] != nil || a.Body["refresh_token"] != nil {
		t.Errorf("tokens issued for a revoked grant: %v", a.Body)
	}
}

// TestToken_PublicClientWithASecretIsInvalidClient: a public client has no
// secret (RFC 6749 section 2.3); one that sends a client_secret, in HTTP
// Basic or in the body, is not authenticated by it, and is refused as
// invalid_client, leaving its code to the exchange it should have made.
func TestToken_PublicClientWithASecretIsInvalidClient(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	phone := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	token := env.URL + "/oauth2/token"
	code, verifier := signedIn(t, phone, "openid")
	inBody := withClientID(codeForm(phone, code, verifier), phone.App.ClientID)
	inBody.Set("client_secret", "pcs_guess")
	for name, a := range map[string]*answer{
		"Basic": call(t, "POST", token, codeForm(phone, code, verifier), phone.App.ClientID, "pcs_guess"),
		"Body":  call(t, "POST", token, inBody, "", ""),
	} {
		t.Run(name, func(t *testing.T) { a.want(t, http.StatusUnauthorized, "invalid_client") })
	}
	if a := call(t, "POST", token, withClientID(codeForm(phone, code, verifier), phone.App.ClientID), "", ""); a.Status != http.StatusOK {
		t.Errorf("the public client with its client_id alone, after: %d %v", a.Status, a.Body)
	}
}

// TestToken_SuspendedAppIsInvalidClient: an app the operator suspended
// no longer authenticates as a client anywhere: it gets no token for
// itself, and cannot introspect or revoke, however good its secret.
func TestToken_SuspendedAppIsInvalidClient(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	if _, err := env.Server.Service.SuspendApp(service.ConsoleContext(context.Background()), partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string]*answer{
		"ClientCredentials": basic(t, env.URL+"/oauth2/token", partner, url.Values{"grant_type": {"client_credentials"}, "scope": {"reports.read"}}),
		"Refresh":           basic(t, env.URL+"/oauth2/token", partner, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}),
		"Introspection":     basic(t, env.URL+"/oauth2/introspect", partner, url.Values{"token": {tok.AccessToken}}),
		"Revocation":        basic(t, env.URL+"/oauth2/revoke", partner, url.Values{"token": {tok.RefreshToken}}),
	} {
		t.Run(name, func(t *testing.T) { a.want(t, http.StatusUnauthorized, "invalid_client") })
	}
}

// TestToken_SuspendedAppsCodeWaitsForReinstatement: a suspended app fails
// client authentication with its right secret, as an unknown one does (401
// invalid_client, with a Basic challenge), before its code is looked at:
// reinstated, it exchanges the same code.
func TestToken_SuspendedAppsCodeWaitsForReinstatement(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := service.ConsoleContext(context.Background())
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "offline_access")
	if _, err := env.Server.Service.SuspendApp(ctx, partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	a := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier))
	a.want(t, http.StatusUnauthorized, "invalid_client")
	if !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("WWW-Authenticate %q", a.Header.Get("WWW-Authenticate"))
	}
	if _, err := env.Server.Service.ReinstateApp(ctx, partner.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if a := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier)); a.Status != http.StatusOK {
		t.Errorf("the reinstated app's exchange: %d %v", a.Status, a.Body)
	}
}

// A client that authenticates with HTTP Basic and sends client_secret= or
// client_assertion= (no value) in the body has authenticated one way only:
// a parameter sent without a value is as if omitted (RFC 6749 section
// 3.2), at the token, introspection and revocation endpoints alike.
func TestToken_EmptyClientSecretBesideBasicIsAsIfOmitted(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid")
	form := codeForm(partner, code, verifier)
	form.Set("client_secret", "")
	if a := basic(t, env.URL+"/oauth2/token", partner, form); a.Status != http.StatusOK {
		t.Errorf("code exchange with Basic and client_secret=: %d %v, want 200", a.Status, a.Body)
	}
	tok := env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
	for _, c := range []struct{ path, empty string }{
		{"/oauth2/introspect", "client_secret"},
		{"/oauth2/introspect", "client_assertion"},
		{"/oauth2/revoke", "client_secret"},
	} {
		if a := basic(t, env.URL+c.path, partner, url.Values{"token": {tok.AccessToken}, c.empty: {""}}); a.Status != http.StatusOK {
			t.Errorf("%s with Basic and %s=: %d %v, want 200", c.path, c.empty, a.Status, a.Body)
		}
	}
}

// scope= asks for no scope: on a refresh, the grant's (RFC 6749 section
// 6); on the client credentials grant, the app's default; neither is
// invalid_scope.
func TestToken_EmptyScopeIsAsIfOmitted(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	a := basic(t, env.URL+"/oauth2/token", partner, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {""}})
	if a.Status != http.StatusOK || a.Body["scope"] != "openid offline_access" {
		t.Errorf("refresh with scope=: %d %v, want 200 with the grant's scope", a.Status, a.Body)
	}
	a = basic(t, env.URL+"/oauth2/token", partner, url.Values{"grant_type": {"client_credentials"}, "scope": {""}})
	if a.Status != http.StatusOK || a.Body["scope"] != "reports.read" {
		t.Errorf("client_credentials with scope=: %d %v, want 200 with reports.read, as without scope", a.Status, a.Body)
	}
}

// A request with the Authorization header twice repeats its credentials
// (RFC 9110 section 11.6.2 allows one; RFC 6750 section 3.1 makes it
// invalid_request): userinfo refuses it, as the API does, rather than
// answer for the first token; the token endpoint refuses it too.
func TestEndpoints_TwoAuthorizationHeadersAreInvalidRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
	for _, c := range []struct{ method, path, first string }{
		{"GET", "/api/v1/me", "Bearer " + tok.AccessToken},
		{"GET", "/oauth2/userinfo", "Bearer " + tok.AccessToken},
		{"POST", "/oauth2/introspect", "Basic " + base64.StdEncoding.EncodeToString([]byte(partner.Config.ClientID+":"+partner.Config.ClientSecret))},
	} {
		req, err := http.NewRequest(c.method, env.URL+c.path, strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Add("Authorization", c.first)
		req.Header.Add("Authorization", "Bearer someone-elses-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body)+resp.Header.Get("WWW-Authenticate"), "invalid_request") {
			t.Errorf("%s with two Authorization headers: %d, WWW-Authenticate %q, %s; want 400 invalid_request", c.path, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
}

// A client's request to the token, introspection and revocation endpoints
// is a form in its body (RFC 6749 section 3.2): one with its parameters, a
// refresh token or a secret among them, in the URL, where logs on the way
// keep them, is invalid_request, and the token it names is not revoked.
func TestEndpoints_ParametersInTheURLAreInvalidRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	for path, query := range map[string]url.Values{
		"/oauth2/token":      {"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		"/oauth2/introspect": {"token": {tok.AccessToken}},
		"/oauth2/revoke":     {"token": {tok.RefreshToken}},
	} {
		basic(t, env.URL+path+"?"+query.Encode(), partner, url.Values{}).want(t, http.StatusBadRequest, "invalid_request")
	}
	if _, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Errorf("the refresh token, after a revocation with it in the URL: %v; want it still good", err)
	}
}

// RFC 6749 sections 3.1 and 3.2: the server ignores parameters it does not
// know, however many times they come and wherever: RFC 8707's resource,
// which Parley does not implement, comes once for each resource the
// client names, and a query some proxy adds to the token endpoint's URL
// holds no code or secret.
func TestEndpoints_UnknownParametersAreIgnored(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	twice := "&resource=https%3A%2F%2Fa.example&resource=https%3A%2F%2Fb.example&%22%C3%A9=1&%22%C3%A9=2"

	resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))+twice, nil)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/oauth2/login?id") {
		t.Errorf("authorize with unknown parameters sent twice: %d, Location %q; want the sign-in page", resp.StatusCode, loc)
	}
	code, verifier := signedIn(t, partner, "openid")
	form := codeForm(partner, code, verifier)
	form["resource"] = []string{"https://a.example", "https://b.example"}
	a := basic(t, env.URL+"/oauth2/token?tenant=x&tenant=y", partner, form)
	if a.Status != http.StatusOK {
		t.Fatalf("the token endpoint, given unknown parameters twice and in its URL: %d %v; want 200", a.Status, a.Body)
	}
	token, _ := a.Body["access_token"].(string)
	if a := call(t, "GET", env.URL+"/oauth2/userinfo?x=1&x=2", nil, "", "", "Authorization", "Bearer "+token); a.Status != http.StatusOK {
		t.Errorf("userinfo, given an unknown parameter twice: %d %v; want 200", a.Status, a.Body)
	}
}
