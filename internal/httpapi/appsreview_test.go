package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// An app's homepage is a link on the consent page, and its redirect URIs
// are where members' browsers are sent with their codes: neither may carry
// a user name or password before its host (RFC 3986 section 3.2.1 calls the
// form deprecated), which makes "https://parley.example@evil.example/" read
// as Parley's address while it leads elsewhere; and an https redirect URI
// needs a host (RFC 9110 section 4.2.2): "https:cb" is, to a browser, a path
// on Parley's own origin.
func TestApps_RegisterRefusesMisleadingURIs(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	const cb = "https://x.example/cb"
	for name, body := range map[string]map[string]any{
		"ErrHomepageUserinfo":         {"name": "X", "redirect_uris": []string{cb}, "homepage": "https://parley.example@evil.example/"},
		"ErrHomepageUserPassword":     {"name": "X", "redirect_uris": []string{cb}, "homepage": "https://parley.example:login@evil.example/"},
		"ErrRedirectURIUserinfo":      {"name": "X", "redirect_uris": []string{"https://x.example@evil.example/cb"}},
		"ErrLoopbackRedirectUserinfo": {"name": "X", "redirect_uris": []string{"http://me@127.0.0.1:7000/cb"}},
		"ErrHTTPSRedirectNoHost":      {"name": "X", "redirect_uris": []string{"https:cb"}},
		"ErrHTTPSRedirectEmptyHost":   {"name": "X", "redirect_uris": []string{"https:///cb"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alice.Do(ctx, "POST", "/api/v1/apps", body, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	// The developer console's edit of the redirect URIs holds them to the
	// same rules.
	t.Run("ErrEditedRedirectURI", func(t *testing.T) {
		svc := env.Server.Service
		caller, err := svc.Authenticate(ctx, alice.Token())
		if err != nil {
			t.Fatal(err)
		}
		tunes := env.MustPartnerOf(t, "Tunes", "alice")
		for _, uri := range []string{"https:cb", "https://x.example@evil.example/cb"} {
			_, err := svc.SetRedirectURIs(parley.NewContextWithCaller(ctx, caller), tunes.App.ClientID, []string{uri})
			if parley.ErrorCode(err) != parley.EINVALID {
				t.Errorf("SetRedirectURIs(%q) = %v, want EINVALID", uri, err)
			}
		}
	})
}

// An app's name is what the consent page asks the member to trust: "1 to
// 64 printable characters", as the refusal says. A character that shows
// nothing (a zero-width space, a word joiner, a byte order mark, a soft
// hyphen: Unicode's format characters) makes a name that looks empty, or
// exactly like another one ("Par\u200bley" as Parley).
func TestApps_NameRefusesInvisibleCharacters(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	for name, appName := range map[string]string{
		"ErrOnlyZeroWidthSpace": "\u200b",
		"ErrZeroWidthInside":    "Par\u200bley",
		"ErrWordJoiner":         "\u2060Tunes",
		"ErrByteOrderMark":      "\ufeff",
		"ErrSoftHyphen":         "Par\u00adley",
		"ErrLineSeparator":      "Tunes\u2028Parley",
		// Graphic, but drawn as nothing, or as blank space.
		"ErrHangulFiller":         "\u3164",
		"ErrBlankBraille":         "\u2800",
		"ErrGraphemeJoiner":       "Par\u034fley",
		"ErrVariationOfALetter":   "Par\ufe00ley",
		"ErrIdeographicVariation": "Par\U000E0100ley",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": appName, "redirect_uris": []string{"https://x.example/cb"}}, nil)
			wantProblem(t, err, http.StatusBadRequest, "invalid")
		})
	}
	t.Run("OKLettersOfAnyScript", func(t *testing.T) {
		for _, appName := range []string{"Ciné Club", "映画クラブ", "Tunes 🎵", "Films \u2764\ufe0f", "Cine\u0301 Fans"} {
			if _, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": appName, "redirect_uris": []string{"https://x.example/cb"}}, nil); err != nil {
				t.Errorf("%q: %v", appName, err)
			}
		}
	})
}

// Operators approve an app for reach "all" with its redirect URIs, where
// members' codes go, before them: its owner's change to a URI they did not
// see (one added, or one in another's place) withdraws the approval, and
// their vouching for it, the app waits for review again, and the change
// is recorded beside the operators' decisions with the owner as actor.
// Taking a URI out only keeps the approval. The grants members gave the
// app for all conversations stay.
func TestApps_RedirectChangeWithdrawsReachAll(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	mallory := env.MustMember(t, "mallory")
	const second = "http://127.0.0.1:9/second"
	films := env.MustPartnerOf(t, "Films", "mallory", func(a *service.NewApp) { a.RedirectURIs = append(a.RedirectURIs, second) })
	svc := env.Server.Service
	console := service.ConsoleContext(ctx)
	if _, err := svc.ApproveAllThreads(console, films.App.ClientID); err != nil {
		t.Fatal(err)
	}
	env.MustToken(t, films, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
	caller, err := svc.Authenticate(ctx, mallory.Token())
	if err != nil {
		t.Fatal(err)
	}
	owner := parley.NewContextWithCaller(ctx, caller)
	state := func() (approved, waiting, vouched bool, latest string) {
		t.Helper()
		r, err := svc.ReviewApps(console)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range r.Reviewed {
			approved = approved || a.ClientID == films.App.ClientID
		}
		for _, a := range r.Waiting {
			waiting = waiting || a.ClientID == films.App.ClientID
		}
		if vouched, err = svc.AppVouchedFor(ctx, films.App.ClientID); err != nil {
			t.Fatal(err)
		}
		if len(r.Decisions) > 0 {
			latest = r.Decisions[0].Action + " by " + r.Decisions[0].Actor
		}
		return approved, waiting, vouched, latest
	}

	// Taking the second URI out: codes go to fewer places operators saw.
	app, err := svc.SetRedirectURIs(owner, films.App.ClientID, []string{apptest.RedirectURI})
	if err != nil || !app.AllThreadsApproved {
		t.Fatalf("taking a redirect URI out: %+v, %v; want still approved for reach all", app, err)
	}
	if approved, waiting, vouched, latest := state(); !approved || waiting || !vouched || latest != parley.ActionAppApproveAll+" by console" {
		t.Errorf("after taking a URI out: approved %v, waiting %v, vouched %v, latest decision %q; want approved, vouched, nothing recorded",
			approved, waiting, vouched, latest)
	}

	// Putting another in its place.
	app, err = svc.SetRedirectURIs(owner, films.App.ClientID, []string{"http://127.0.0.1:9/elsewhere"})
	if err != nil || app.AllThreadsApproved {
		t.Fatalf("a new redirect URI: %+v, %v; want the approval for reach all withdrawn", app, err)
	}
	if approved, waiting, vouched, latest := state(); approved || !waiting || vouched || latest != parley.ActionAppRedirectChanged+" by mallory" {
		t.Errorf("after a new URI: approved %v, waiting %v, vouched %v, latest decision %q; want waiting for review, not vouched for, %s by mallory",
			approved, waiting, vouched, latest, parley.ActionAppRedirectChanged)
	}
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 || apps[0].ThreadScope != parley.ThreadScopeAll {
		t.Errorf("alice's grant of all conversations: %+v, %v; want it to stay", apps, err)
	}

	// Approved again, it is vouched for again.
	if _, err := svc.ApproveAllThreads(console, films.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if approved, _, vouched, _ := state(); !approved || !vouched {
		t.Errorf("approved again: approved %v, vouched %v", approved, vouched)
	}
}

// Where operators review every member's app (--apps-require-review), an
// approved app's owner who changes its redirect URIs to one the operators
// did not see sends it back to review: it is pending, no one may connect
// it, its tokens are refused, and the change is recorded beside the
// operators' decisions with the owner as actor. The grants members gave it
// stay, and work again once an operator approves it again. Taking a URI
// out only changes nothing.
func TestApps_RedirectChangeUnderReviewWaitsForReviewAgain(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.AppsRequireReview = true })
	ctx := context.Background()
	mallory := env.MustMember(t, "mallory")
	env.MustMember(t, "alice")
	svc := env.Server.Service
	console := service.ConsoleContext(ctx)
	const second = "http://127.0.0.1:9/second"
	var reg registeredApp
	if _, err := mallory.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": "Steal", "redirect_uris": []string{apptest.RedirectURI, second}}, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.State != parley.AppPending {
		t.Fatalf("registered while review is required: %s, want pending", reg.State)
	}
	if _, err := svc.ApproveApp(console, reg.ClientID); err != nil {
		t.Fatal(err)
	}
	steal := &apptest.Partner{App: &service.RegisteredApp{App: &parley.App{ClientID: reg.ClientID}, ClientSecret: reg.ClientSecret}, Config: &oauth2.Config{
		ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: apptest.RedirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: env.URL + "/oauth2/authorize", TokenURL: env.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleInHeader},
	}}
	tok := env.MustToken(t, steal, "alice", []string{"openid", "profile"}, apptest.Answer{})
	app := env.Client.WithToken(tok.AccessToken)
	caller, err := svc.Authenticate(ctx, mallory.Token())
	if err != nil {
		t.Fatal(err)
	}
	owner := parley.NewContextWithCaller(ctx, caller)
	latest := func() string {
		t.Helper()
		r, err := svc.ReviewApps(console)
		if err != nil {
			t.Fatal(err)
		}
		return r.Decisions[0].Action + " by " + r.Decisions[0].Actor
	}

	a, err := svc.SetRedirectURIs(owner, reg.ClientID, []string{apptest.RedirectURI})
	if err != nil || a.State != parley.AppActive || latest() != parley.ActionAppApprove+" by console" {
		t.Fatalf("taking a redirect URI out: %+v, %v, latest decision %q; want active, nothing recorded", a, err, latest())
	}

	a, err = svc.SetRedirectURIs(owner, reg.ClientID, []string{apptest.RedirectURI, "https://evil.example/steal"})
	if err != nil || a.State != parley.AppPending {
		t.Fatalf("a redirect URI operators did not see: %+v, %v; want the app pending", a, err)
	}
	if got, want := latest(), parley.ActionAppRedirectChanged+" by mallory"; got != want {
		t.Errorf("latest decision %q, want %q", got, want)
	}
	if _, err := svc.OAuthApp(ctx, reg.ClientID); parley.ErrorCode(err) != parley.EFORBIDDEN {
		t.Errorf("starting a sign-in with the app waiting for review: %v, want EFORBIDDEN", err)
	}
	wantProblem(t, func() error { _, err := app.Me(ctx); return err }(), http.StatusUnauthorized, "unauthorized")

	if _, err := svc.ApproveApp(console, reg.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Me(ctx); err != nil {
		t.Errorf("alice's grant once the app is approved again: %v", err)
	}
}
