package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// The attacks RFC 9700 names, each refused.

func TestAttack_PKCE(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}

	t.Run("Missing", func(t *testing.T) {
		p := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s"))
		assertAuthError(t, env, p, "invalid_request")
	})
	t.Run("Plain", func(t *testing.T) {
		p := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s",
			oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqr"),
			oauth2.SetAuthURLParam("code_challenge_method", "plain")))
		assertAuthError(t, env, p, "invalid_request")
	})
	// A code_challenge is 43 to 128 characters of the unreserved set
	// (RFC 7636 section 4.2); S256's is 43.
	for name, challenge := range map[string]string{
		"ChallengeTooShort":    strings.Repeat("a", 42),
		"ChallengeTooLong":     strings.Repeat("a", 129),
		"ChallengeBase64Std":   strings.Repeat("a", 41) + "+/",
		"ChallengePadded":      strings.Repeat("a", 43) + "=",
		"ChallengeSpace":       strings.Repeat("a", 42) + " ",
		"ChallengeNonASCII":    strings.Repeat("a", 42) + "é",
		"ChallengePercentSign": strings.Repeat("a", 42) + "%",
	} {
		t.Run(name, func(t *testing.T) {
			p := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", challenge),
				oauth2.SetAuthURLParam("code_challenge_method", "S256")))
			assertAuthError(t, env, p, "invalid_request")
		})
	}
	for name, challenge := range map[string]string{
		"Challenge43":         strings.Repeat("a", 43),
		"Challenge128":        strings.Repeat("a", 128),
		"ChallengeUnreserved": "AZaz09-._~" + strings.Repeat("a", 33),
	} {
		t.Run(name, func(t *testing.T) {
			p := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("code_challenge", challenge),
				oauth2.SetAuthURLParam("code_challenge_method", "S256")))
			if p.URL.Path != "/oauth2/login" {
				t.Errorf("a well-formed code_challenge was refused: %d %s %s", p.Status, p.URL, p.Location)
			}
		})
	}
	t.Run("WrongVerifier", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{})
		_, err := cfg.Exchange(context.Background(), got.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		assertTokenError(t, err, "invalid_grant")
		// The failed attempt did not spend the code.
		if _, err = cfg.Exchange(context.Background(), got.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
			t.Errorf("the right verifier after a wrong one: %v", err)
		}
	})
	// A code_verifier is 43 to 128 characters of the unreserved set (RFC
	// 7636 section 4.1), enough entropy that it cannot be guessed; one that
	// is not is refused, although its challenge matches.
	for name, verifier := range map[string]string{
		"VerifierTooShort":  "short",
		"VerifierTooLong":   strings.Repeat("a", 129),
		"VerifierReserved":  strings.Repeat("a", 42) + "+",
		"VerifierNonASCII":  strings.Repeat("a", 42) + "é",
		"VerifierWithSpace": strings.Repeat("a", 42) + " ",
	} {
		t.Run(name, func(t *testing.T) {
			got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{})
			_, err := cfg.Exchange(context.Background(), got.Get("code"), oauth2.VerifierOption(verifier))
			assertTokenError(t, err, "invalid_grant")
		})
	}
	t.Run("NoVerifier", func(t *testing.T) {
		got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
			"alice", apptest.Answer{})
		_, err := cfg.Exchange(context.Background(), got.Get("code"))
		assertTokenError(t, err, "invalid_grant")
	})
}

func TestAttack_RedirectURIVariants(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	confidential := env.MustPartner(t, "Web")
	public := env.MustPartner(t, "Native", func(a *service.NewApp) { a.Public = true })
	for _, p := range []*apptest.Partner{confidential, public} {
		for name, uri := range map[string]string{
			"AddedPath":     apptest.RedirectURI + "/more",
			"Query":         apptest.RedirectURI + "?next=/evil",
			"TrailingSlash": apptest.RedirectURI + "/",
			"OtherHost":     "http://127.0.0.2:9/callback",
			"OtherScheme":   "https://127.0.0.1:9/callback",
		} {
			t.Run(p.App.Name+"/"+name, func(t *testing.T) {
				cfg := *p.Config
				cfg.RedirectURL, cfg.Scopes = uri, []string{"openid"}
				page := apptest.NewBrowser().Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
				if page.Status != http.StatusBadRequest || page.Location != "" {
					t.Errorf("status %d, Location %q: the error must be shown, never redirected", page.Status, page.Location)
				}
			})
		}
	}
}

func TestAttack_CodeReplayRevokesTokens(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "profile", "offline_access"}
	verifier := oauth2.GenerateVerifier()
	got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{})
	ctx := context.Background()
	tok, err := cfg.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
	assertTokenError(t, err, "invalid_grant")
	assertRevoked(t, env, partner, tok)
	assertReplayLogged(t, env, partner)
}

// assertReplayLogged fails the test unless the server warned of a
// credential of the partner's presented again (RFC 9700 section 4.14), a
// sign that it was stolen, naming the app.
func assertReplayLogged(t *testing.T, env *apptest.Env, partner *apptest.Partner) {
	t.Helper()
	for line := range strings.Lines(env.Logs.String()) {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "credential presented again") &&
			strings.Contains(line, partner.App.ClientID) {
			return
		}
	}
	t.Errorf("no warning in the server's log of %s's credential presented again", partner.App.ClientID)
}

// TestAttack_RacingCodeReplayRevokesTokens: a code presented twice at once,
// as by an attacker racing the app with a stolen code, is a replay like any
// other: one exchange wins, and the others revoke what it issued, however
// the exchanges interleave (RFC 6749 section 4.1.2). Several rounds make
// each interleaving likely.
func TestAttack_RacingCodeReplayRevokesTokens(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "offline_access"}
	ctx := context.Background()
	for round := range 8 {
		verifier := oauth2.GenerateVerifier()
		code := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{}).Get("code")
		const n = 4
		winners := race(n, func() (*oauth2.Token, error) { return cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)) })
		if len(winners) != 1 {
			t.Fatalf("round %d: %d of %d racing exchanges succeeded, want 1", round, len(winners), n)
		}
		if got := introspect(t, env.URL, partner, winners[0].AccessToken); got["active"] != false {
			t.Errorf("round %d: the winner's access token introspects %v after the replays", round, got)
		}
		_, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: winners[0].RefreshToken}).Token()
		assertTokenError(t, err, "invalid_grant")
	}
}

func TestAttack_RefreshReuseRevokesFamily(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	first := env.MustToken(t, partner, "alice", []string{"openid", "profile", "offline_access"}, apptest.Answer{})
	second, err := partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	// The first refresh token leaked and is used again.
	_, err = partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: first.RefreshToken}).Token()
	assertTokenError(t, err, "invalid_grant")
	assertRevoked(t, env, partner, second)
	assertReplayLogged(t, env, partner)
}

func TestAttack_DeadTokens(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	// Only Advance moves the clock: what expires is refused at the very
	// instant it expires, as an access token is.
	env.Clock.Freeze()
	ctx := context.Background()
	scopes := []string{"openid", "profile", "offline_access"}

	t.Run("Revoked", func(t *testing.T) {
		partner := env.MustPartner(t, "Revoked")
		tok := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		revoke(t, env.URL, partner, tok.AccessToken)
		assertRefused(t, env, tok.AccessToken)
	})
	t.Run("Expired", func(t *testing.T) {
		partner := env.MustPartner(t, "Expired")
		tok := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		env.Clock.Advance(time.Hour + time.Second) // an access token lasts an hour
		assertRefused(t, env, tok.AccessToken)
	})
	t.Run("GrantExpired", func(t *testing.T) {
		partner := env.MustPartner(t, "GrantExpired")
		tok := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		env.Clock.Advance(30*24*time.Hour + time.Second) // the grant was for 30 days
		assertRevoked(t, env, partner, tok)
		// Consenting again replaces the grant that ran out.
		again := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		if _, err := env.Client.WithToken(again.AccessToken).Me(ctx); err != nil {
			t.Errorf("a new grant after the old one expired: %v", err)
		}
	})
	t.Run("SuspendedApp", func(t *testing.T) {
		partner := env.MustPartner(t, "Suspended")
		tok := env.MustToken(t, partner, "alice", scopes, apptest.Answer{})
		if _, err := env.Server.Service.SuspendApp(service.ConsoleContext(ctx), partner.App.ClientID); err != nil {
			t.Fatal(err)
		}
		assertRefused(t, env, tok.AccessToken)
		_, err := partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err == nil {
			t.Error("a suspended app refreshed its token")
		}
	})
	t.Run("ExpiredCode", func(t *testing.T) {
		partner := env.MustPartner(t, "SlowCode")
		cfg := *partner.Config
		cfg.Scopes = scopes
		verifier := oauth2.GenerateVerifier()
		got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{})
		env.Clock.Advance(time.Minute) // a code lasts a minute from consent
		_, err := cfg.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
		assertTokenError(t, err, "invalid_grant")
	})
	t.Run("ExpiredAuthRequest", func(t *testing.T) {
		partner := env.MustPartner(t, "SlowMember")
		cfg := *partner.Config
		cfg.Scopes = scopes
		browser := apptest.NewBrowser()
		login := browser.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if !strings.Contains(login.Body, `name="password"`) {
			t.Fatalf("want the sign-in page, got %d %s", login.Status, login.URL)
		}
		env.Clock.Advance(10 * time.Minute) // a request waits ten minutes for the member
		p := browser.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		if p.Location != "" || !strings.Contains(p.Body, "expired") {
			t.Errorf("signing in to an expired request: %d %s, Location %q", p.Status, p.URL, p.Location)
		}
	})
	// A request approved in time, whose browser reaches the callback
	// after the request expired, issues no code.
	t.Run("ExpiredAuthRequestAtTheCallback", func(t *testing.T) {
		partner := env.MustPartner(t, "SlowBrowser")
		cfg := *partner.Config
		cfg.Scopes = scopes
		browser := apptest.NewBrowser()
		_, callback := approvedAtTheCallback(t, browser, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		env.Clock.Advance(10 * time.Minute) // a request waits ten minutes for the member
		if p := browser.Get(t, callback); strings.Contains(p.Location, "code=") {
			t.Errorf("the callback of an expired request sent the app %s", p.Location)
		}
	})
	t.Run("WrongClientSecret", func(t *testing.T) {
		partner := env.MustPartner(t, "WrongSecret")
		cfg := *partner.Config
		cfg.Scopes = scopes
		verifier := oauth2.GenerateVerifier()
		got := apptest.NewBrowser().SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "alice", apptest.Answer{})
		cfg.ClientSecret = "pcs_guess"
		_, err := cfg.Exchange(ctx, got.Get("code"), oauth2.VerifierOption(verifier))
		assertTokenError(t, err, "invalid_client")
	})
	t.Run("SessionTokenIsNotAnAppToken", func(t *testing.T) {
		var info map[string]any
		alice, err := env.Client.SignIn(ctx, "alice", apptest.Password("alice"))
		if err != nil {
			t.Fatal(err)
		}
		if err := bearerJSON(env.URL+"/oauth2/userinfo", alice.Token, &info); err == nil {
			t.Errorf("userinfo answered a session token: %v", info)
		}
	})
}

func TestPublicClient(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Phone", func(a *service.NewApp) { a.Public = true })
	if partner.App.ClientSecret != "" {
		t.Fatal("a public client got a secret")
	}
	partner.Config.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	tok := env.MustToken(t, partner, "alice", []string{"openid", "profile"}, apptest.Answer{})
	if me, err := env.Client.WithToken(tok.AccessToken).Me(context.Background()); err != nil || me.Username != "alice" {
		t.Fatalf("me = %+v, %v", me, err)
	}
}

// TestAttack_LateCodeReplayRevokesTokens: a code presented again after its
// minute is still a replay, and revokes what it issued (RFC 6749 section
// 4.1.2): the attacker who stole it is no less one for being slow.
func TestAttack_LateCodeReplayRevokesTokens(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	code, verifier := signedIn(t, partner, "openid", "offline_access")
	tok, err := partner.Config.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(10 * time.Minute) // the code lived a minute; the access token lives an hour
	replay := basic(t, env.URL+"/oauth2/token", partner, codeForm(partner, code, verifier))
	replay.want(t, http.StatusBadRequest, "invalid_grant")
	if replay.Body["error_description"] != "code already used; the tokens it issued are revoked" {
		t.Errorf("replay: %v", replay.Body)
	}
	assertRevoked(t, env, partner, tok)
}

// TestAttack_AnsweredRequestIsNotAnsweredAgain: once a request is
// approved and its code issued, opening its pages or its callback again
// answers nothing: the app gets no second answer, and the code still
// lives a minute from the consent (RFC 6749 section 4.1.2), not from the
// last time the browser came by.
func TestAttack_AnsweredRequestIsNotAnsweredAgain(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	verifier := oauth2.GenerateVerifier()
	browser := apptest.NewBrowser()
	id, callback := approvedAtTheCallback(t, browser, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	code := appResponse(t, browser.Get(t, callback).Location).Query().Get("code")
	if p := browser.Get(t, callback); p.Location != "" {
		t.Errorf("the callback, opened again, sent the browser to %s", p.Location)
	}
	env.Clock.Advance(50 * time.Second)
	if p := browser.Get(t, env.URL+"/oauth2/consent?id="+id); p.Location != "" || !strings.Contains(p.Body, "already answered") {
		t.Errorf("the answered request's consent page, again: %d %s, Location %q", p.Status, p.URL, p.Location)
	}
	env.Clock.Advance(20 * time.Second)
	_, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	assertTokenError(t, err, "invalid_grant")
}

// approvedAtTheCallback opens authURL in the browser, signs alice in and
// approves, and returns the request's ID and the callback that issues its
// code, which the browser has yet to open.
func approvedAtTheCallback(t *testing.T, b *apptest.Browser, authURL string) (id, callback string) {
	t.Helper()
	login := b.Get(t, authURL)
	consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	paused := &apptest.Browser{HTTP: &http.Client{Jar: b.HTTP.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	approved := paused.Submit(t, consent, url.Values{"action": {"approve"}})
	u, err := approved.URL.Parse(approved.Location)
	if err != nil || u.Path != "/oauth2/authorize/callback" {
		t.Fatalf("approving: %d, Location %q", approved.Status, approved.Location)
	}
	return login.URL.Query().Get("id"), u.String()
}

// TestAttack_RefreshTokenOfAnotherClient: a refresh token is bound to the
// client it was issued to (RFC 6749 section 6): another client presenting
// it, with its own good credentials, gets nothing, and does not use it up,
// nor, once it was used, revoke its family.
func TestAttack_RefreshTokenOfAnotherClient(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	thief := env.MustPartner(t, "Thief")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
	stolen := basic(t, env.URL+"/oauth2/token", thief, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	stolen.want(t, http.StatusBadRequest, "invalid_grant")
	if stolen.Body["access_token"] != nil || stolen.Body["refresh_token"] != nil {
		t.Fatalf("another client got tokens: %v", stolen.Body)
	}
	next, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("the client the token was issued to, after another client presented it: %v", err)
	}
	// Nor does another client presenting the token once it was used
	// revoke its family, as its own client presenting it would: the
	// client's live refresh token still works.
	used := basic(t, env.URL+"/oauth2/token", thief, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	used.want(t, http.StatusBadRequest, "invalid_grant")
	if used.Body["error_description"] != "the refresh token was issued to another client" {
		t.Errorf("another client presenting a used refresh token is told %v", used.Body)
	}
	if _, err := partner.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); err != nil {
		t.Errorf("the client's live refresh token, after another client presented its used one: %v", err)
	}
}

// TestAttack_RacingRefreshOneWins: a refresh token presented twice at
// once, as by an attacker racing the app with a stolen one, is exchanged
// once: one exchange wins, and the others, reusing it, revoke the family
// the winner's tokens belong to (RFC 9700 section 4.14.2). Several rounds
// make each interleaving likely.
func TestAttack_RacingRefreshOneWins(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	ctx := context.Background()
	for round := range 8 {
		tok := env.MustToken(t, partner, "alice", []string{"openid", "offline_access"}, apptest.Answer{})
		const n = 4
		winners := race(n, func() (*oauth2.Token, error) {
			return partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		})
		if len(winners) != 1 {
			t.Fatalf("round %d: %d of %d racing refreshes succeeded, want 1", round, len(winners), n)
		}
		_, err := partner.Config.TokenSource(ctx, &oauth2.Token{RefreshToken: winners[0].RefreshToken}).Token()
		assertTokenError(t, err, "invalid_grant")
	}
}

// race runs exchange n times at once, each started at the same signal, and
// returns the tokens of those that succeeded.
func race(n int, exchange func() (*oauth2.Token, error)) []*oauth2.Token {
	won := make(chan *oauth2.Token, n)
	start := make(chan struct{})
	for range n {
		go func() {
			<-start
			tok, err := exchange()
			if err != nil {
				tok = nil
			}
			won <- tok
		}()
	}
	close(start)
	var winners []*oauth2.Token
	for range n {
		if tok := <-won; tok != nil {
			winners = append(winners, tok)
		}
	}
	return winners
}

// assertAuthError checks an authorization error sent back to the app, with
// the issuer (RFC 9207).
func assertAuthError(t *testing.T, env *apptest.Env, p *apptest.Page, code string) {
	t.Helper()
	u, err := url.Parse(p.Location)
	if err != nil || !strings.HasPrefix(p.Location, apptest.RedirectURI) {
		t.Fatalf("expected a redirect to the app, got %d %q\n%s", p.Status, p.Location, p.Body)
	}
	if q := u.Query(); q.Get("error") != code || q.Get("iss") != env.URL || q.Get("state") != "s" || q.Has("code") {
		t.Errorf("authorization response %v, want error %s", q, code)
	}
}

func assertTokenError(t *testing.T, err error, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != code {
		t.Errorf("token endpoint answered %v, want %s", err, code)
	}
}

// assertRevoked checks that tok is over as a whole: its access token is
// refused and its refresh token exchanges for nothing.
func assertRevoked(t *testing.T, env *apptest.Env, p *apptest.Partner, tok *oauth2.Token) {
	t.Helper()
	assertRefused(t, env, tok.AccessToken)
	_, err := p.Config.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	assertTokenError(t, err, "invalid_grant")
}

// assertRefused checks that the API refuses the access token as invalid.
func assertRefused(t *testing.T, env *apptest.Env, token string) {
	t.Helper()
	_, err := env.Client.WithToken(token).Me(context.Background())
	e, ok := errors.AsType[*client.Error](err)
	if !ok || e.Status != http.StatusUnauthorized || !strings.Contains(e.WWWAuthenticate, `error="invalid_token"`) {
		t.Errorf("API answered %v, want 401 with error=\"invalid_token\"", err)
	}
}

// TestAttack_CallbackOfAnAppEndedSinceTheConsent: an app suspended or
// deleted between the member's consent and the callback that would issue
// its code hears nothing: the member is shown why on Parley's page, and
// the browser is not sent to the app (RFC 6749 section 4.1.2.1).
func TestAttack_CallbackOfAnAppEndedSinceTheConsent(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	ctx := service.ConsoleContext(context.Background())
	why := map[string]string{"Suspended": "the app is suspended", "Deleted": "unknown client"}
	for name, end := range map[string]func(*service.Service, context.Context, string) (*parley.App, error){
		"Suspended": (*service.Service).SuspendApp, "Deleted": (*service.Service).DeleteApp,
	} {
		partner := env.MustPartner(t, "Tunes "+name)
		cfg := *partner.Config
		cfg.Scopes = []string{"openid"}
		b := apptest.NewBrowser()
		_, callback := approvedAtTheCallback(t, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if _, err := end(env.Server.Service, ctx, partner.App.ClientID); err != nil {
			t.Fatal(err)
		}
		if p := b.Get(t, callback); p.Location != "" || p.Status != http.StatusBadRequest || !strings.Contains(p.Body, why[name]) {
			t.Errorf("%s: the callback answered %d, to %q; want the page saying %q", name, p.Status, p.Location, why[name])
		}
	}
}

// TestAttack_CallbackTakesTheBrowsersRequestOnly: the callback that issues
// codes is a GET, the redirect the pages send: a POST naming the
// browser's own request in the URL and another in its body, whose code
// the library would have issued, is refused.
func TestAttack_CallbackTakesTheBrowsersRequestOnly(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	other, _ := approvedAtTheCallback(t, apptest.NewBrowser(), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	b := apptest.NewBrowser()
	own := b.Get(t, cfg.AuthCodeURL("m", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))).URL.Query().Get("id")
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := b.HTTP.PostForm(env.URL+"/oauth2/authorize/callback?id="+url.QueryEscape(own), url.Values{"id": {other}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMethodNotAllowed || strings.Contains(loc, "code=") {
		t.Errorf("a POST to the callback: %d, to %q; want 405 and no code", resp.StatusCode, loc)
	}
}

// TestAttack_RefusedRequestIsNotApprovedLater: a request that went back to
// its app refused, the member having said no or prompt=none not being met,
// is answered: the app was told no for its state, and no code follows it,
// whether the consent page's form is posted again or the member signs in
// and opens the request's page once more.
func TestAttack_RefusedRequestIsNotApprovedLater(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	t.Run("Denied", func(t *testing.T) {
		b := apptest.NewBrowser()
		login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		// Deny twice, as a double click does: both go back to the app.
		for range 2 {
			denied := b.Submit(t, consent, url.Values{"action": {"deny"}})
			if q := appResponse(t, denied.Location).Query(); q.Get("error") != "access_denied" || q.Get("state") != "s" {
				t.Errorf("denying answered %v", q)
			}
		}
		if p := b.Submit(t, consent, url.Values{"action": {"approve"}}); p.Location != "" || !strings.Contains(p.Body, "already answered") {
			t.Errorf("approving the denied request: %d, to %q", p.Status, p.Location)
		}
		if apps, err := alice.ConnectedApps(context.Background()); err != nil || len(apps) != 0 {
			t.Errorf("connected apps after approving a denied request: %v, %v", apps, err)
		}
		// Nor does the callback, opened by hand, tell the app anything
		// more.
		if p := b.Get(t, env.URL+"/oauth2/authorize/callback?id="+url.QueryEscape(login.URL.Query().Get("id"))); p.Location != "" {
			t.Errorf("the denied request's callback sent the browser to %s", p.Location)
		}
	})
	// A sign-in posted for a prompt=none request, whose page was never
	// shown, tells the app login_required, and signs no one in.
	t.Run("PromptNoneSignInPosted", func(t *testing.T) {
		b := apptest.NewBrowser()
		form := b.Get(t, cfg.AuthCodeURL("other", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		var loginPage string
		b.HTTP.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/oauth2/login" {
				loginPage = req.URL.String()
				return http.ErrUseLastResponse
			}
			return nil
		}
		b.Get(t, cfg.AuthCodeURL("none", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
		u, err := url.Parse(loginPage)
		if err != nil || loginPage == "" {
			t.Fatalf("the prompt=none request's sign-in page: %q, %v", loginPage, err)
		}
		b.HTTP.CheckRedirect = apptest.NewBrowser().HTTP.CheckRedirect
		p := b.Submit(t, form, url.Values{"id": {u.Query().Get("id")}, "username": {"alice"}, "password": {apptest.Password("alice")}})
		if q := appResponse(t, p.Location).Query(); q.Get("error") != "login_required" || q.Get("state") != "none" {
			t.Errorf("the posted sign-in answered the app %v", q)
		}
		if home := b.Get(t, env.URL+"/"); strings.Contains(home.Body, "Sign out") {
			t.Error("the posted sign-in of a prompt=none request signed alice in")
		}
	})
	t.Run("PromptNone", func(t *testing.T) {
		b := apptest.NewBrowser()
		// Not signed in: the app is told login_required.
		u := cfg.AuthCodeURL("none", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none"))
		var loginPage string
		b.HTTP.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/oauth2/login" && loginPage == "" {
				loginPage = req.URL.String()
			}
			if strings.HasPrefix(req.URL.String(), apptest.RedirectURI) {
				return http.ErrUseLastResponse
			}
			return nil
		}
		if q := appResponse(t, b.Get(t, u).Location).Query(); q.Get("error") != "login_required" || loginPage == "" {
			t.Fatalf("answered %v, by way of %q", q, loginPage)
		}
		// Alice signs in and grants the app what it asked; the refused
		// request's page, opened again, is not approved within that grant.
		exchange(t, &cfg, b, "alice", "later")
		if p := b.Get(t, loginPage); p.Location != "" || !strings.Contains(p.Body, "already answered") {
			t.Errorf("the refused request's page, after signing in: %d, to %q", p.Status, p.Location)
		}
	})
}
