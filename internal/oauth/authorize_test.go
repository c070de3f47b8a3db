package oauth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// The authorization endpoint, to the letter of RFC 6749 section 3.1 and
// 4.1.2.1, RFC 9207 and OpenID Connect Core section 3.1.2.1.

func TestAuthorize_RepeatedParameterIsAnError(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	base := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("nonce", "n"))
	without := func(name string) string {
		u, _ := url.Parse(base)
		q := u.Query()
		q.Del(name)
		u.RawQuery = q.Encode()
		return u.String()
	}

	// While the client or its redirect URI is in doubt, the member sees
	// Parley's page and the app hears nothing.
	for name, u := range map[string]string{
		"ClientIDTwice":          base + "&client_id=" + url.QueryEscape(partner.App.ClientID),
		"ClientIDTwiceOtherApp":  base + "&client_id=pc_other",
		"RedirectURITwice":       base + "&redirect_uri=" + url.QueryEscape(apptest.RedirectURI),
		"RedirectURIAndOther":    base + "&redirect_uri=" + url.QueryEscape(apptest.RedirectURI) + "&state=t",
		"ClientIDMissing":        without("client_id"),
		"RedirectURIMissing":     without("redirect_uri"),
		"UnknownClient":          strings.Replace(base, "client_id=", "client_id=x", 1),
		"UnreadableQuery":        base + "&x=%zz",
		"RedirectURINotExact":    strings.Replace(base, "callback", "callback%2F", 1),
		"ClientIDInQueryAndBody": "POST " + url.QueryEscape(partner.App.ClientID),
	} {
		t.Run("Page/"+name, func(t *testing.T) {
			var resp *http.Response
			if id, ok := strings.CutPrefix(u, "POST "); ok {
				resp = rawAuthorize(t, http.MethodPost, base, url.Values{"client_id": {id}})
			} else {
				resp = rawAuthorize(t, http.MethodGet, u, nil)
			}
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q: must be Parley's page, never a redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "This sign-in link does not work") ||
				!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("not Parley's error page: %s\n%s", resp.Header.Get("Content-Type"), body)
			}
		})
	}

	// Once both are certain, the app gets invalid_request, with the state
	// (unless the state is what came twice) and the issuer.
	for name, extra := range map[string]string{
		"state":                 "state=s",
		"scope":                 "scope=openid",
		"response_type":         "response_type=code",
		"code_challenge":        "code_challenge=abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr",
		"code_challenge_method": "code_challenge_method=S256",
		"nonce":                 "nonce=n",
		"prompt":                "prompt=login&prompt=login",
		"max_age":               "max_age=60&max_age=60",
		"response_mode":         "response_mode=query&response_mode=query",
		"login_hint":            "login_hint=a&login_hint=b",
	} {
		t.Run("App/"+name, func(t *testing.T) {
			resp := rawAuthorize(t, http.MethodGet, base+"&"+extra, nil)
			resp.Body.Close()
			q := appResponse(t, resp.Header.Get("Location")).Query()
			if q.Get("error") != "invalid_request" || q.Get("iss") != env.URL || q.Has("code") ||
				!strings.Contains(q.Get("error_description"), name) {
				t.Errorf("answered %d %v", resp.StatusCode, q)
			}
			if wantState := name != "state"; q.Has("state") != wantState || (wantState && q.Get("state") != "s") {
				t.Errorf("state %q: want it back unless it came twice", q.Get("state"))
			}
		})
	}
	t.Run("App/InQueryAndBody", func(t *testing.T) {
		resp := rawAuthorize(t, http.MethodPost, base, url.Values{"nonce": {"n"}})
		resp.Body.Close()
		if q := appResponse(t, resp.Header.Get("Location")).Query(); q.Get("error") != "invalid_request" || q.Get("iss") != env.URL {
			t.Errorf("answered %v", q)
		}
	})
	t.Run("App/UnreadableMaxAge", func(t *testing.T) {
		resp := rawAuthorize(t, http.MethodGet, base+"&max_age=soon", nil)
		resp.Body.Close()
		if q := appResponse(t, resp.Header.Get("Location")).Query(); q.Get("error") != "invalid_request" || q.Get("iss") != env.URL ||
			q.Get("state") != "s" {
			t.Errorf("answered %v", q)
		}
	})
	t.Run("Once", func(t *testing.T) {
		// The same request without repeats goes on to the sign-in page.
		resp := rawAuthorize(t, http.MethodGet, base, nil)
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/oauth2/login?id=") {
			t.Errorf("Location %q, want the sign-in page", loc)
		}
	})
}

func TestAuthorize_IssuerInEveryResponse(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	fragment := oauth2.SetAuthURLParam("response_mode", "fragment")

	t.Run("FragmentCode", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		u := apptest.NewBrowser().Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), fragment), "alice", apptest.Answer{})
		f := fragmentOf(t, u)
		if u.RawQuery != "" || f.Get("code") == "" || f.Get("state") != "s" || f.Get("iss") != env.URL {
			t.Fatalf("response %s: want code, state and iss in the fragment", u)
		}
		if _, err := cfg.Exchange(context.Background(), f.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("FragmentError", func(t *testing.T) {
		resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", fragment), nil) // no PKCE
		resp.Body.Close()
		u := appResponse(t, resp.Header.Get("Location"))
		if f := fragmentOf(t, u); u.RawQuery != "" || f.Get("error") != "invalid_request" || f.Get("iss") != env.URL || f.Get("state") != "s" {
			t.Errorf("response %s: want error, state and iss in the fragment", u)
		}
	})
	t.Run("FragmentDeny", func(t *testing.T) {
		cfg := *env.MustPartner(t, "Other").Config
		cfg.Scopes = []string{"openid"}
		u := apptest.NewBrowser().Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), fragment),
			"alice", apptest.Answer{Deny: true})
		if f := fragmentOf(t, u); f.Get("error") != "access_denied" || f.Get("iss") != env.URL || f.Get("state") != "s" {
			t.Errorf("response %s", u)
		}
	})
	t.Run("FormPostRefusedInQuery", func(t *testing.T) {
		resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("response_mode", "form_post")), nil)
		resp.Body.Close()
		u := appResponse(t, resp.Header.Get("Location"))
		if q := u.Query(); q.Get("error") != "invalid_request" || q.Get("iss") != env.URL || q.Get("state") != "s" || u.Fragment != "" {
			t.Errorf("response %s", u)
		}
	})
	t.Run("QueryError", func(t *testing.T) {
		resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("prompt", "none login")), nil)
		resp.Body.Close()
		if q := appResponse(t, resp.Header.Get("Location")).Query(); q.Get("error") != "invalid_request" || q.Get("iss") != env.URL {
			t.Errorf("response %v", q)
		}
	})
}

func TestAuthorize_PromptConsentShowsThePage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "profile"}
	ctx := context.Background()
	browser := apptest.NewBrowser()
	tok := exchange(t, &cfg, browser, "alice", "s")
	granted := onlyGrant(t, alice)

	consentAgain := func(t *testing.T) *apptest.Page {
		p := browser.Get(t, cfg.AuthCodeURL("again", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("prompt", "consent")))
		if p.URL.Path != "/oauth2/consent" || p.Status != http.StatusOK || !strings.Contains(p.Body, "confirm") ||
			!strings.Contains(p.Body, "See your username and display name") {
			t.Fatalf("want the consent page for a request the grant covers, got %d %s\n%s", p.Status, p.URL, p.Body)
		}
		return p
	}
	t.Run("Deny", func(t *testing.T) {
		p := browser.Submit(t, consentAgain(t), url.Values{"action": {"deny"}})
		q := appResponse(t, p.Location).Query()
		if q.Get("error") != "access_denied" || q.Get("state") != "again" || q.Get("iss") != env.URL || q.Has("code") {
			t.Errorf("deny answered %v", q)
		}
		// Saying no to the confirmation leaves the grant as it was.
		if g := onlyGrant(t, alice); g.ID != granted.ID || !g.UpdatedAt.Equal(granted.UpdatedAt) {
			t.Errorf("grant changed: %+v", g)
		}
		if _, err := env.Client.WithToken(tok.AccessToken).Me(ctx); err != nil {
			t.Errorf("the app's token stopped working: %v", err)
		}
	})
	t.Run("Approve", func(t *testing.T) {
		p := browser.Submit(t, consentAgain(t), url.Values{"action": {"approve"}})
		if q := appResponse(t, p.Location).Query(); q.Get("code") == "" || q.Get("iss") != env.URL {
			t.Fatalf("approve answered %v", q)
		}
		if g := onlyGrant(t, alice); g.ID != granted.ID || !g.UpdatedAt.Equal(granted.UpdatedAt) || !slices.Equal(g.Scopes, granted.Scopes) {
			t.Errorf("confirming changed the grant: %+v", g)
		}
	})
}

func TestAuthorize_PromptLoginAndAuthTime(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "offline_access"}
	browser := apptest.NewBrowser()

	before := time.Now().Unix()
	first := exchange(t, &cfg, browser, "alice", "s")
	signedIn := authTime(t, env, first)
	if signedIn < before || signedIn > time.Now().Unix() {
		t.Fatalf("auth_time %d, want the sign-in's time, from %d", signedIn, before)
	}
	env.Clock.Advance(1100 * time.Millisecond)

	t.Run("LiveSessionKeepsItsSignInTime", func(t *testing.T) {
		tok := exchange(t, &cfg, browser, "", "s") // no page at all
		if got := authTime(t, env, tok); got != signedIn {
			t.Errorf("auth_time %d, want %d: when the password was entered, not when the code was issued", got, signedIn)
		}
		fresh, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if got := authTime(t, env, fresh); got != signedIn {
			t.Errorf("refreshed ID token's auth_time %d, want %d", got, signedIn)
		}
	})
	t.Run("PromptLogin", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		p := browser.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "login")))
		if p.URL.Path != "/oauth2/login" || !strings.Contains(p.Body, `name="password"`) {
			t.Fatalf("want the sign-in page despite the live session, got %d %s", p.Status, p.URL)
		}
		// The consent page cannot be reached around it, nor approved: the
		// sign-in form, posted to the consent page as an approval, is
		// sent back to sign in, and the app gets no code.
		if c := browser.Get(t, env.URL+"/oauth2/consent?id="+p.URL.Query().Get("id")); c.URL.Path != "/oauth2/login" {
			t.Errorf("consent page without the password: %d %s", c.Status, c.URL)
		}
		approval := *p
		approval.Body = strings.Replace(p.Body, `action="/oauth2/login"`, `action="/oauth2/consent"`, 1)
		if c := browser.Submit(t, &approval, url.Values{"action": {"approve"}}); c.Location != "" || c.URL.Path != "/oauth2/login" {
			t.Errorf("approved without the password: %d %s, Location %q", c.Status, c.URL, c.Location)
		}
		again := time.Now().Unix()
		p = browser.Submit(t, p, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		code := appResponse(t, p.Location).Query().Get("code")
		tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if got := authTime(t, env, tok); got < again || got <= signedIn {
			t.Errorf("auth_time %d, want the new sign-in's, from %d", got, again)
		}
	})
}

// TestRefresh_AuthTimeOfTheOriginalSignIn: an ID token from a refresh
// says when the member signed in for the code its family descends from
// (OpenID Connect Core section 12.2), however long ago: the authorization
// requests other sign-ins clear away after a day stay while their tokens
// are in force.
func TestRefresh_AuthTimeOfTheOriginalSignIn(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "offline_access"}
	tok := exchange(t, &cfg, apptest.NewBrowser(), "alice", "s")
	signedIn := authTime(t, env, tok)
	for range 3 {
		env.Clock.Advance(25 * time.Hour)
		exchange(t, &cfg, apptest.NewBrowser(), "bob", "s") // another sign-in, a day later
		fresh, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if got := authTime(t, env, fresh); got != signedIn {
			t.Fatalf("refreshed ID token's auth_time %d, want %d, when alice entered her password", got, signedIn)
		}
		tok = fresh
	}
}

// TestIDToken_AudienceIsTheClientAlone: an ID token, from a code or from a
// refresh, names the client as its one audience (OpenID Connect Core
// sections 2 and 12.2): a client must reject one that also names
// audiences it does not trust (section 3.1.3.7).
func TestIDToken_AudienceIsTheClientAlone(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	fresh, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]*oauth2.Token{"Code": tok, "Refresh": fresh} {
		var claims struct {
			Audience jwt.Audience `json:"aud"`
		}
		idTokenClaims(t, env, tok, &claims)
		if !slices.Equal(claims.Audience, []string{partner.App.ClientID}) {
			t.Errorf("%s: the ID token's aud is %v, want [%s]", name, claims.Audience, partner.App.ClientID)
		}
	}
}

func TestAuthorize_MaxAge(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	browser := apptest.NewBrowser()
	signedIn := authTime(t, env, exchange(t, &cfg, browser, "alice", "s"))
	maxAge := func(seconds string, more ...oauth2.AuthCodeOption) string {
		opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("max_age", seconds)}, more...)
		return cfg.AuthCodeURL("s", opts...)
	}

	t.Run("WithinMaxAge", func(t *testing.T) {
		if p := browser.Get(t, maxAge("60")); !appResponse(t, p.Location).Query().Has("code") {
			t.Errorf("a sign-in within max_age was asked again: %d %s", p.Status, p.URL)
		}
	})
	env.Clock.Advance(1200 * time.Millisecond)
	t.Run("PromptNoneOlderThanMaxAge", func(t *testing.T) {
		p := browser.Get(t, maxAge("1", oauth2.SetAuthURLParam("prompt", "none")))
		if q := appResponse(t, p.Location).Query(); q.Get("error") != "login_required" || q.Get("iss") != env.URL || q.Get("state") != "s" {
			t.Errorf("answered %v", q)
		}
	})
	t.Run("OlderThanMaxAge", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		p := browser.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("max_age", "1")))
		if p.URL.Path != "/oauth2/login" || !strings.Contains(p.Body, `name="password"`) {
			t.Fatalf("want the sign-in page for a session older than max_age, got %d %s", p.Status, p.URL)
		}
		if c := browser.Get(t, env.URL+"/oauth2/consent?id="+p.URL.Query().Get("id")); c.URL.Path != "/oauth2/login" {
			t.Errorf("consent page with a session older than max_age: %d %s", c.Status, c.URL)
		}
		p = browser.Submit(t, p, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		tok, err := cfg.Exchange(context.Background(), appResponse(t, p.Location).Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if got := authTime(t, env, tok); got <= signedIn {
			t.Errorf("auth_time %d, want the new sign-in's, after %d", got, signedIn)
		}
	})
}

func TestAuthorize_PromptNoneShowsNoPage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	partner := env.MustPartner(t, "Tunes")
	other := env.MustPartner(t, "Other")
	none := oauth2.SetAuthURLParam("prompt", "none")
	request := func(p *apptest.Partner, scopes []string, more ...oauth2.AuthCodeOption) (*oauth2.Config, string, string) {
		cfg := *p.Config
		cfg.Scopes = scopes
		verifier := oauth2.GenerateVerifier()
		opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), none}, more...)
		return &cfg, cfg.AuthCodeURL("s", opts...), verifier
	}
	// answered checks that the browser went back to the app without a page.
	answered := func(t *testing.T, p *apptest.Page) *url.URL {
		t.Helper()
		if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
			t.Fatalf("a page was shown: %d %s\n%s", p.Status, p.URL, p.Body)
		}
		return appResponse(t, p.Location)
	}
	browser := apptest.NewBrowser()

	t.Run("NotSignedIn", func(t *testing.T) {
		_, u, _ := request(partner, []string{"openid"})
		if q := answered(t, browser.Get(t, u)).Query(); q.Get("error") != "login_required" || q.Get("state") != "s" || q.Get("iss") != env.URL {
			t.Errorf("answered %v", q)
		}
		_, u, _ = request(partner, []string{"openid"}, oauth2.SetAuthURLParam("response_mode", "fragment"))
		if f := fragmentOf(t, answered(t, browser.Get(t, u))); f.Get("error") != "login_required" || f.Get("iss") != env.URL {
			t.Errorf("answered in the fragment %v", f)
		}
	})
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	alices := exchange(t, &cfg, browser, "alice", "s")
	bobs := exchange(t, &cfg, apptest.NewBrowser(), "bob", "s")
	t.Run("GrantCovers", func(t *testing.T) {
		cfg, u, verifier := request(partner, []string{"openid"})
		q := answered(t, browser.Get(t, u)).Query()
		if q.Get("code") == "" || q.Get("iss") != env.URL {
			t.Fatalf("answered %v", q)
		}
		if _, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
			t.Fatal(err)
		}
	})
	// The app names the member it expects with an ID token of theirs: the
	// one signed in is answered, another must sign in (OpenID Connect Core
	// section 3.1.2.1).
	t.Run("HintOfTheMemberSignedIn", func(t *testing.T) {
		_, u, _ := request(partner, []string{"openid"}, oauth2.SetAuthURLParam("id_token_hint", alices.Extra("id_token").(string)))
		if q := answered(t, browser.Get(t, u)).Query(); q.Get("code") == "" {
			t.Errorf("answered %v", q)
		}
	})
	t.Run("HintOfAnotherMember", func(t *testing.T) {
		_, u, _ := request(partner, []string{"openid"}, oauth2.SetAuthURLParam("id_token_hint", bobs.Extra("id_token").(string)))
		if q := answered(t, browser.Get(t, u)).Query(); q.Get("error") != "login_required" || q.Get("state") != "s" || q.Get("iss") != env.URL {
			t.Errorf("answered %v, want login_required: the member signed in is not the one the app named", q)
		}
	})
	t.Run("MoreScopes", func(t *testing.T) {
		_, u, _ := request(partner, []string{"openid", "friends.read"})
		if q := answered(t, browser.Get(t, u)).Query(); q.Get("error") != "consent_required" || q.Get("state") != "s" || q.Get("iss") != env.URL {
			t.Errorf("answered %v", q)
		}
	})
	t.Run("NoGrant", func(t *testing.T) {
		_, u, _ := request(other, []string{"openid"})
		if q := answered(t, browser.Get(t, u)).Query(); q.Get("error") != "consent_required" || q.Get("iss") != env.URL {
			t.Errorf("answered %v", q)
		}
	})
	t.Run("WithConsent", func(t *testing.T) {
		_, u, _ := request(partner, []string{"openid"}, oauth2.SetAuthURLParam("prompt", "none consent"))
		if q := answered(t, browser.Get(t, u)).Query(); q.Get("error") != "invalid_request" || q.Get("iss") != env.URL {
			t.Errorf("answered %v", q)
		}
	})
}

// TestAuthorize_HintOfAnotherMemberAsksToSignIn: an app that names a
// member with an ID token of theirs (id_token_hint), in a browser where
// another member is signed in, has its member asked to sign in: the one it
// named may then do so, and the app gets their code. If the other member
// signs in again instead, the app is told login_required (OpenID Connect
// Core section 3.1.2.1), with its state, and gets no code of theirs.
func TestAuthorize_HintOfAnotherMemberAsksToSignIn(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	bob := env.MustMember(t, "bob")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	browser := apptest.NewBrowser()
	exchange(t, &cfg, browser, "alice", "s")
	bobs := exchange(t, &cfg, apptest.NewBrowser(), "bob", "s")

	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("id_token_hint", bobs.Extra("id_token").(string)))
	if p := browser.Get(t, authURL); !strings.Contains(p.Body, `name="password"`) {
		t.Fatalf("alice's browser, asked for bob, was not asked to sign in: %d %s", p.Status, p.Location)
	}
	q := browser.SignIn(t, authURL, "bob", apptest.Answer{})
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Subject string `json:"sub"`
	}
	idTokenClaims(t, env, tok, &claims)
	if want := apptest.MustMe(t, bob).ID; claims.Subject != want {
		t.Fatalf("the app got the code of %s, want bob's, %s", claims.Subject, want)
	}

	alices := apptest.NewBrowser()
	exchange(t, &cfg, alices, "alice", "s")
	authURL = cfg.AuthCodeURL("s2", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("id_token_hint", bobs.Extra("id_token").(string)))
	q = alices.SignIn(t, authURL, "alice", apptest.Answer{})
	if q.Get("code") != "" || q.Get("error") != "login_required" || q.Get("state") != "s2" || q.Get("iss") != env.URL {
		t.Fatalf("asked for bob, alice signed in: the app got %v; want login_required and no code", q)
	}
}

// TestAuthorize_HintNotIssuedHereIsInvalidRequest: an id_token_hint that is
// not an ID token Parley issued (not a JWT, unsigned, its signature broken,
// signed by a key not Parley's, another issuer's) is invalid_request at the
// redirect URI, saying why, whoever is signed in and whatever the prompt
// (OpenID Connect Core sections 3.1.2.1 and 3.1.2.6): not login_required,
// which would send the app to have the member sign in, in vain.
func TestAuthorize_HintNotIssuedHereIsInvalidRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	signedIn := apptest.NewBrowser()
	alices := exchange(t, &cfg, signedIn, "alice", "s")
	issued := alices.Extra("id_token").(string)
	parts := strings.Split(issued, ".")
	var claims map[string]any
	idTokenClaims(t, env, alices, &claims)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signedBy := func(iss string) string {
		t.Helper()
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		c := maps.Clone(claims)
		c["iss"] = iss
		raw, err := jwt.Signed(signer).Claims(c).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	hints := map[string]string{
		"NotAJWT":      "not-a-jwt",
		"Unsigned":     "eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.",
		"BadSignature": parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-4] + "AAAA",
		"OtherPayload": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+env.URL+`","sub":"someone"}`)) + "." + parts[2],
		"ForeignKey":   signedBy(env.URL),
		"OtherIssuer":  signedBy("https://other.example"),
	}
	for name, hint := range hints {
		for _, who := range []struct {
			name    string
			browser *apptest.Browser
			prompt  string
		}{
			{"SignedIn", signedIn, ""},
			{"SignedInPromptNone", signedIn, "none"},
			{"NoOne", apptest.NewBrowser(), ""},
			{"NoOnePromptNone", apptest.NewBrowser(), "none"},
		} {
			t.Run(name+"/"+who.name, func(t *testing.T) {
				u := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
					oauth2.SetAuthURLParam("id_token_hint", hint), oauth2.SetAuthURLParam("prompt", who.prompt))
				p := who.browser.Get(t, u)
				if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
					t.Fatalf("a page was shown: %d %s", p.Status, p.URL)
				}
				q := appResponse(t, p.Location).Query()
				if q.Get("error") != "invalid_request" || q.Get("state") != "s" || q.Get("iss") != env.URL ||
					q.Get("error_description") != "id_token_hint is not an ID token this server issued: send one it issued, expired or not, or none" {
					t.Errorf("answered %v, want invalid_request", q)
				}
			})
		}
	}
	t.Run("IssuedToAnotherApp", func(t *testing.T) {
		films := *env.MustPartner(t, "Films").Config
		films.Scopes = []string{"openid"}
		hint := exchange(t, &films, signedIn, "alice", "s").Extra("id_token").(string)
		u := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("id_token_hint", hint), oauth2.SetAuthURLParam("prompt", "none"))
		q := appResponse(t, signedIn.Get(t, u).Location).Query()
		if q.Get("error") != "invalid_request" || q.Get("error_description") != "id_token_hint was issued to another app: send one issued to this app, or none" {
			t.Errorf("a hint Parley issued to Films, sent by Tunes: answered %v, want invalid_request", q)
		}
	})
	t.Run("IssuedHere", func(t *testing.T) {
		u := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("id_token_hint", issued), oauth2.SetAuthURLParam("prompt", "none"))
		if q := appResponse(t, signedIn.Get(t, u).Location).Query(); q.Get("code") == "" {
			t.Errorf("answered %v, want a code: the hint names the member signed in", q)
		}
	})
}

// rawAuthorize sends an authorization request as it is, GET with the URL's
// query or POST with the form in the body, and does not follow redirects.
func rawAuthorize(t *testing.T, method, u string, form url.Values) *http.Response {
	t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req, _ = http.NewRequest(method, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, _ = http.NewRequest(method, u, nil)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// appResponse parses a redirect to the app's redirect URI.
func appResponse(t *testing.T, location string) *url.URL {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || !strings.HasPrefix(location, apptest.RedirectURI) {
		t.Fatalf("want a redirect to the app, got Location %q", location)
	}
	return u
}

func fragmentOf(t *testing.T, u *url.URL) url.Values {
	t.Helper()
	f, err := url.ParseQuery(u.EscapedFragment())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// exchange runs the flow in the browser, signing in as username if the
// sign-in page shows (and failing if it shows when username is empty),
// approving if the consent page shows, and exchanges the code.
func exchange(t *testing.T, cfg *oauth2.Config, b *apptest.Browser, username, state string) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
	var q url.Values
	if username == "" {
		p := b.Get(t, authURL)
		q = appResponse(t, p.Location).Query()
	} else {
		q = b.SignIn(t, authURL, username, apptest.Answer{})
	}
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("authorization response %v", q)
	}
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// idTokenClaims decodes the claims of the token response's ID token into
// claims, checking its signature against the JWKS.
func idTokenClaims(t *testing.T, env *apptest.Env, tok *oauth2.Token, claims any) {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	idt, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var keys jose.JSONWebKeySet
	getJSON(t, env.URL+"/oauth2/keys", &keys)
	if err := idt.Claims(keys.Keys[0].Key, claims); err != nil {
		t.Fatal(err)
	}
}

// authTime returns the auth_time of the token response's ID token.
func authTime(t *testing.T, env *apptest.Env, tok *oauth2.Token) int64 {
	t.Helper()
	var claims struct {
		AuthTime *jwt.NumericDate `json:"auth_time"`
	}
	idTokenClaims(t, env, tok, &claims)
	if claims.AuthTime == nil {
		t.Fatal("the ID token has no auth_time")
	}
	return int64(*claims.AuthTime)
}

// TestAuthorize_MissingScopeIsInvalidScope: a request that asks for no
// scope, without the parameter or with it empty, goes back to the app as
// invalid_scope (RFC 6749 section 3.3: Parley has no default scope).
func TestAuthorize_MissingScopeIsInvalidScope(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	for name, scope := range map[string]*string{"Absent": nil, "Empty": new("")} {
		t.Run(name, func(t *testing.T) {
			u, _ := url.Parse(partner.Config.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			q := u.Query()
			q.Del("scope")
			if scope != nil {
				q.Set("scope", *scope)
			}
			u.RawQuery = q.Encode()
			resp := rawAuthorize(t, http.MethodGet, u.String(), nil)
			readBody(t, resp)
			got := appResponse(t, resp.Header.Get("Location")).Query()
			if got.Get("error") != "invalid_scope" || got.Get("state") != "s" || got.Get("iss") != env.URL || got.Has("code") {
				t.Errorf("a request without scope answered %v; want invalid_scope with state and iss", got)
			}
		})
	}
}

// TestAuthorize_ErrorsGoByThemselvesOnlyToAnAppAnOperatorVouchedFor: any
// member may register an app, with a redirect URI on any site of theirs,
// and a link to the authorization endpoint that the provider refuses would
// send whoever follows it on to that site with no page of Parley's, its
// address lending the site its name (RFC 9700 section 4.11.2). An error
// response goes to the app by itself only once an operator registered the
// app or approved it. Before, whatever refused the request (the endpoint,
// the library, the sign-in or the consent step of prompt=none), the member
// is shown Parley's page, 400, naming the app, where it answers and the
// error, with a link to the error response, which they may follow back to
// the app. A member who says no on the consent page, which named the app,
// goes back to it either way.
func TestAuthorize_ErrorsGoByThemselvesOnlyToAnAppAnOperatorVouchedFor(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	mallory := env.MustMember(t, "mallory")
	env.MustMember(t, "alice")
	app, err := mallory.CreateApp(ctx, client.NewApp{Name: "Account Security", RedirectURIs: []string{apptest.RedirectURI}, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &oauth2.Config{ClientID: app.ClientID, RedirectURL: apptest.RedirectURI, Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/oauth2/authorize"}}
	pkce, none := oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")
	noScope, _ := url.Parse(cfg.AuthCodeURL("s", pkce))
	q := noScope.Query()
	q.Del("scope")
	noScope.RawQuery = q.Encode()
	alices := apptest.NewBrowser()
	alices.Submit(t, alices.Get(t, env.URL+"/sign-in"), url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	refused := []struct {
		name, url, error string
		b                *apptest.Browser
	}{
		{"NoScope", noScope.String(), "invalid_scope", apptest.NewBrowser()},      // the endpoint's own check
		{"NoPKCE", cfg.AuthCodeURL("s"), "invalid_request", apptest.NewBrowser()}, // the library's, through storage
		{"PromptNoneSignedOut", cfg.AuthCodeURL("s", pkce, none), "login_required", apptest.NewBrowser()},
		{"PromptNoneNoGrant", cfg.AuthCodeURL("s", pkce, none), "consent_required", alices},
	}
	back := regexp.MustCompile(`<a class="button quiet" rel="noreferrer noopener" href="([^"]+)">Go back to Account Security at 127.0.0.1:9</a>`)
	for _, r := range refused {
		t.Run("Shown/"+r.name, func(t *testing.T) {
			p := r.b.Get(t, r.url)
			if p.Status != http.StatusBadRequest || p.Location != "" || !strings.Contains(p.Body, "Account Security") || !strings.Contains(p.Body, "("+r.error+")") {
				t.Fatalf("an app no operator vouched for, refused: %d %q\n%s", p.Status, p.Location, p.Body)
			}
			link := back.FindStringSubmatch(p.Body)
			if link == nil {
				t.Fatalf("the page leads back to no app:\n%s", p.Body)
			}
			if got := appResponse(t, html.UnescapeString(link[1])).Query(); got.Get("error") != r.error || got.Get("state") != "s" || got.Get("iss") != env.URL {
				t.Errorf("the page leads back with %v, want %s, the state and iss", got, r.error)
			}
		})
	}
	t.Run("Denied", func(t *testing.T) {
		if got := alices.SignIn(t, cfg.AuthCodeURL("s", pkce), "alice", apptest.Answer{Deny: true}); got.Get("error") != "access_denied" {
			t.Errorf("a member who said no went back with %v", got)
		}
	})

	if _, err := env.Server.Service.ApproveApp(service.ConsoleContext(ctx), app.ClientID); err != nil {
		t.Fatal(err)
	}
	for _, r := range refused {
		t.Run("Approved/"+r.name, func(t *testing.T) {
			p := r.b.Get(t, r.url)
			if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
				t.Fatalf("an app an operator approved, refused: a page was shown, %d\n%s", p.Status, p.Body)
			}
			if got := appResponse(t, p.Location).Query(); got.Get("error") != r.error || got.Get("state") != "s" || got.Get("iss") != env.URL {
				t.Errorf("answered %v, want %s", got, r.error)
			}
		})
	}
}

// onlyGrant returns the member's one connected app: its grant.
func onlyGrant(t *testing.T, member *client.Client) *client.ConnectedApp {
	t.Helper()
	apps, err := member.ConnectedApps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 {
		t.Fatalf("%d connected apps, want 1", len(apps))
	}
	return apps[0]
}

func TestAuthorize_UnsupportedResponseTypeGoesToTheApp(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	native := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	for _, p := range []*apptest.Partner{partner, native} {
		for name, c := range map[string]struct{ responseType, mode, want string }{
			"Token":            {"token", "", "unsupported_response_type"},
			"IDToken":          {"id_token", "", "unsupported_response_type"},
			"Hybrid":           {"code id_token", "", "unsupported_response_type"},
			"HybridInFragment": {"code id_token", "fragment", "unsupported_response_type"},
			"Missing":          {"", "", "invalid_request"},
			"MissingFragment":  {"", "fragment", "invalid_request"},
		} {
			t.Run(p.App.Name+"/"+name, func(t *testing.T) {
				cfg := *p.Config
				cfg.Scopes = []string{"openid"}
				u, _ := url.Parse(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
					oauth2.SetAuthURLParam("nonce", "n")))
				q := u.Query()
				q.Del("response_type")
				if c.responseType != "" {
					q.Set("response_type", c.responseType)
				}
				if c.mode != "" {
					q.Set("response_mode", c.mode)
				}
				u.RawQuery = q.Encode()
				resp := rawAuthorize(t, http.MethodGet, u.String(), nil)
				body := readBody(t, resp)
				if resp.StatusCode != http.StatusFound {
					t.Fatalf("answered %d %q, want a redirect to the app", resp.StatusCode, body)
				}
				got := appResponse(t, resp.Header.Get("Location"))
				params := got.Query()
				if c.mode == "fragment" {
					if got.RawQuery != "" {
						t.Errorf("response %s: want it in the fragment only", got)
					}
					params = fragmentOf(t, got)
				}
				if params.Get("error") != c.want || params.Get("state") != "s" || params.Get("iss") != env.URL || params.Has("code") {
					t.Errorf("response %s, want error %s with state and iss", got, c.want)
				}
			})
		}
	}
}

func TestAuthorize_RegisteredRedirectURIOfAnyScheme(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	// A confidential app may register a private-use scheme, as registration
	// allows: its requests go on like any other.
	const private = "com.example.tunes:/callback"
	partner := env.MustPartner(t, "Tunes", func(a *service.NewApp) { a.RedirectURIs = []string{private} })
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
	body := readBody(t, resp)
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/oauth2/login?id=") {
		t.Fatalf("answered %d %q, Location %q: want the sign-in page", resp.StatusCode, body, loc)
	}
	// Its errors go to it too.
	resp = rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "token")), nil)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), private+"?") || loc.Query().Get("error") != "unsupported_response_type" ||
		loc.Query().Get("iss") != env.URL {
		t.Errorf("answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A native app listens on whatever port the system gives it for the one
// sign-in: an http redirect URI on a loopback IP literal matches at any
// port (RFC 8252 section 7.3, RFC 9700 section 4.1.3), and nothing else of
// it may differ. Any other redirect URI, "localhost" included, is matched
// byte for byte (TestAttack_RedirectURIVariants).
func TestAuthorize_LoopbackRedirectAtAnyPort(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	registered := []string{"http://127.0.0.1/callback", "http://[::1]/callback", "http://127.0.0.1:8400/cb", "http://localhost:8400/cb"}
	native := env.MustPartner(t, "Native", func(a *service.NewApp) { a.Public, a.RedirectURIs = true, registered })
	for name, uri := range map[string]string{
		"IPv4":           "http://127.0.0.1:51234/callback",
		"IPv4NoPort":     "http://127.0.0.1/callback",
		"IPv6":           "http://[::1]:51234/callback",
		"OtherPort":      "http://127.0.0.1:9/cb",
		"WithoutThePort": "http://127.0.0.1/cb",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := *native.Config
			cfg.RedirectURL, cfg.Scopes = uri, []string{"openid"}
			verifier := oauth2.GenerateVerifier()
			browser := apptest.NewBrowser()
			browser.HTTP.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if "http://"+req.URL.Host != env.URL {
					return http.ErrUseLastResponse // the app's: the test has its code
				}
				return nil
			}
			got := browser.Authorize(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{})
			if back := got.Scheme + "://" + got.Host + got.Path; back != uri {
				t.Fatalf("the browser went to %s, want %s", got, uri)
			}
			if _, err := cfg.Exchange(context.Background(), got.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
				t.Fatalf("exchange with the redirect URI of the request: %v", err)
			}
		})
	}
	for name, uri := range map[string]string{
		"OtherLoopbackIP": "http://127.0.0.2:51234/callback",
		"LongerIP":        "http://127.0.0.10/callback",
		"Localhost":       "http://localhost:51234/cb",
		"OtherPath":       "http://127.0.0.1:51234/callback/more",
		"Query":           "http://127.0.0.1:51234/callback?next=/evil",
		"Https":           "https://127.0.0.1:51234/callback",
		"EmptyPort":       "http://127.0.0.1:/callback",
		"PortZero":        "http://127.0.0.1:0/callback",
		"PortTooLarge":    "http://127.0.0.1:65536/callback",
		"LeadingZero":     "http://127.0.0.1:080/callback",
		"Userinfo":        "http://127.0.0.1:80@evil.example/callback",
		"IPv6Port":        "http://[::1]:x/callback",
	} {
		t.Run("Refused/"+name, func(t *testing.T) {
			cfg := *native.Config
			cfg.RedirectURL, cfg.Scopes = uri, []string{"openid"}
			page := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			if page.Status != http.StatusBadRequest || page.Location != "" {
				t.Errorf("status %d, Location %q: the error must be shown, never redirected", page.Status, page.Location)
			}
		})
	}
}

func TestAuthorize_RequestURINotSupported(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	var d map[string]any
	getJSON(t, env.URL+"/.well-known/openid-configuration", &d)
	if d["request_uri_parameter_supported"] != false {
		t.Fatalf("discovery: request_uri_parameter_supported = %v", d["request_uri_parameter_supported"])
	}
	for name, mode := range map[string]string{"Query": "query", "Fragment": "fragment"} {
		t.Run(name, func(t *testing.T) {
			resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
				oauth2.SetAuthURLParam("request_uri", "https://tunes.example/requests/1"), oauth2.SetAuthURLParam("response_mode", mode)), nil)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("answered %d %q, want a redirect to the app", resp.StatusCode, body)
			}
			u := appResponse(t, resp.Header.Get("Location"))
			params := u.Query()
			if mode == "fragment" {
				params = fragmentOf(t, u)
			}
			if params.Get("error") != "request_uri_not_supported" || params.Get("state") != "s" || params.Get("iss") != env.URL {
				t.Errorf("response %s, want request_uri_not_supported with state and iss", u)
			}
		})
	}
}

func TestAuthorize_RequestObjectNotSupported(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
		oauth2.SetAuthURLParam("request", "eyJhbGciOiJub25lIn0.e30.")), nil)
	resp.Body.Close()
	if q := appResponse(t, resp.Header.Get("Location")).Query(); q.Get("error") != "request_not_supported" || q.Get("state") != "s" ||
		q.Get("iss") != env.URL {
		t.Errorf("response %v, want request_not_supported with state and iss", q)
	}
}

// A parameter that the request's row keeps must be text both engines
// store as sent: anything else is invalid_request, to the app, before the
// request is stored, as a row PostgreSQL refuses would stop the copy of
// the install to PostgreSQL.
func TestAuthorize_ParameterThatIsNotTextIsInvalidRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	for _, p := range []struct{ name, value string }{
		{"state", "\xff\xfe"},
		{"state", "line\nbreak"},
		{"nonce", "a\x00b"},
		{"nonce", strings.Repeat("n", 4097)},
	} {
		t.Run(p.name, func(t *testing.T) {
			u := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam(p.name, p.value))
			resp := rawAuthorize(t, http.MethodGet, u, nil)
			resp.Body.Close()
			q := appResponse(t, resp.Header.Get("Location")).Query()
			if q.Get("error") != "invalid_request" || q.Get("iss") != env.URL || q.Has("code") ||
				!strings.Contains(q.Get("error_description"), p.name+" must be text") {
				t.Errorf("%q: answered %d %v", p.value, resp.StatusCode, q)
			}
		})
	}
}

// A request none of whose scopes Parley grants asks for nothing a member
// could approve: it is invalid_scope at the redirect URI (RFC 6749
// sections 3.3 and 4.1.2.1), not a consent page with nothing on it and a
// grant of no scope.
func TestAuthorize_NoScopeParleyGrantsIsInvalidScope(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	for _, scope := range []string{"email", "bogus", "email phone address"} {
		t.Run(scope, func(t *testing.T) {
			cfg := *partner.Config
			cfg.Scopes = strings.Fields(scope)
			resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
			resp.Body.Close()
			q := appResponse(t, resp.Header.Get("Location")).Query()
			if q.Get("error") != "invalid_scope" || q.Get("state") != "s" || q.Get("iss") != env.URL || q.Has("code") {
				t.Errorf("answered %v, want invalid_scope with the state and the issuer", q)
			}
		})
	}
}

// prompt holds only the values OpenID Connect defines (Core section
// 3.1.2.1); any other is invalid_request, so that what a request's row
// keeps is bounded.
func TestAuthorize_UnknownPromptIsInvalidRequest(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	for _, prompt := range []string{"bogus", "login bogus", strings.Repeat("x", 4000)} {
		u := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", prompt))
		resp := rawAuthorize(t, http.MethodGet, u, nil)
		resp.Body.Close()
		q := appResponse(t, resp.Header.Get("Location")).Query()
		if q.Get("error") != "invalid_request" || !strings.Contains(q.Get("error_description"), "prompt may hold only") || q.Get("state") != "s" {
			t.Errorf("prompt %.20q: answered %v", prompt, q)
		}
	}
}

// Each authorization request is a row written before anyone signs in, for
// no more than an app's public client_id and redirect URI, so one client
// address may open 60 at once and then one a second; beyond that the app
// is told temporarily_unavailable, and nothing is stored.
func TestAuthorize_ManyRequestsFromOneAddressAreThrottled(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	for i := range 80 {
		resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), nil)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if strings.HasPrefix(loc, "/oauth2/login?") {
			continue
		}
		q := appResponse(t, loc).Query()
		if i < 60 || q.Get("error") != "temporarily_unavailable" || q.Get("state") != "s" ||
			!strings.HasPrefix(q.Get("error_description"), "too many authorization requests from this address; try again in ") {
			t.Fatalf("request %d: answered %v", i+1, q)
		}
		if got := env.Metric(t, `parley_rate_limited_total{policy="authorization requests"}`); got != 1 {
			t.Errorf("parley_rate_limited_total{policy=\"authorization requests\"} = %v, want 1", got)
		}
		return
	}
	t.Error("80 authorization requests from one address at once were all taken")
}

// prompt= (no value) is no prompt at all, as RFC 6749 section 3.1 treats a
// parameter sent without a value: the member is sent to sign in, as
// without it, and the app is not told invalid_request.
// (golang.org/x/oauth2's SetAuthURLParam("prompt", "") sends it so.)
func TestAuthorize_EmptyPromptIsAsIfOmitted(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	u := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", ""))
	if !strings.Contains(u, "&prompt=&") && !strings.HasSuffix(u, "&prompt=") {
		t.Fatalf("the request sends no empty prompt: %s", u)
	}
	resp := rawAuthorize(t, http.MethodGet, u, nil)
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/oauth2/login?") {
		t.Errorf("prompt= answered %d, Location %q; want the sign-in page, as without prompt", resp.StatusCode, loc)
	}
}

// The callback that answers the app, opened before the member answered
// (a link or a reload ahead of them), answers the app nothing and takes
// the member back to answering: the app hears of the request once, when
// the member has answered it.
func TestAuthorize_CallbackBeforeTheMemberAnswers(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	early := b.Get(t, env.URL+"/oauth2/authorize/callback?id="+url.QueryEscape(login.URL.Query().Get("id")))
	if early.Location != "" {
		t.Fatalf("the callback before the member answered sent the browser to %s", early.Location)
	}
	if !strings.Contains(early.Body, `name="password"`) {
		t.Fatalf("the callback before the member answered shows %d:\n%s", early.Status, early.Body)
	}
	consent := b.Submit(t, early, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	answer := b.Submit(t, consent, url.Values{"action": {"approve"}})
	if q := appResponse(t, answer.Location).Query(); q.Get("code") == "" || q.Get("state") != "s" {
		t.Errorf("the app's one answer: %v, want a code for state s", q)
	}
}

// RFC 6749 section 3.1.2: a registered redirect URI's query is kept when
// the response adds its own, in a code's answer and in an error's.
func TestAuthorize_TheRedirectURIsQueryIsKept(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	const registered = apptest.RedirectURI + "?tenant=acme&region=eu"
	partner := env.MustPartner(t, "Tunes", func(a *service.NewApp) { a.RedirectURIs = []string{registered} })
	cfg := *partner.Config
	cfg.RedirectURL, cfg.Scopes = registered, []string{"openid"}
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())

	code := apptest.NewBrowser().Authorize(t, cfg.AuthCodeURL("s", challenge), "alice", apptest.Answer{}).Query()
	resp := rawAuthorize(t, http.MethodGet, cfg.AuthCodeURL("s", challenge, oauth2.SetAuthURLParam("scope", "email")), nil)
	resp.Body.Close()
	refused := appResponse(t, resp.Header.Get("Location")).Query()
	if !code.Has("code") || refused.Get("error") != "invalid_scope" {
		t.Fatalf("the responses: %v and %v, want a code and invalid_scope", code, refused)
	}
	for _, q := range []url.Values{code, refused} {
		if q.Get("tenant") != "acme" || q.Get("region") != "eu" || q.Get("state") != "s" {
			t.Errorf("the response's query %v, want tenant=acme and region=eu kept", q)
		}
	}
}
