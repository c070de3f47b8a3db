package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// In a real browser, "Sign in with Parley" as a member meets it: the
// sign-in page, a wrong password, the consent page, the way back to the app
// with a code and the issuer, the consent page again when the app asks for
// it (prompt=consent), the page for a request Parley cannot answer to the
// app, the sign-in page again when the app wants a fresh sign-in
// (prompt=login), and once failed guesses are throttled. With
// PARLEY_SCREENSHOTS set, each page is saved at 1280 and 375 px.
func TestSignInWithParley_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Films</title><h1 id="back">Back at Films</h1>`)
	}))
	t.Cleanup(app.Close)
	films := env.MustPartner(t, "Films", func(a *service.NewApp) { a.RedirectURIs = []string{app.URL + "/callback"} })
	cfg := *films.Config
	cfg.Scopes = []string{"openid", "profile", "shares.write"}
	challenge := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())

	ctx := apptest.Chromium(t)
	// signIn submits the sign-in form and waits for the page that answers
	// it, which never keeps a password in its form.
	signIn := func(password string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)),
			chromedp.SetValue(chromedp.CSS(`input[name=username]`), "alice"),
			chromedp.SetValue(chromedp.CSS(`input[name=password]`), password),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
				const answered = `document.readyState === "complete" && !(document.querySelector("input[name=password]") || {}).value`
				for {
					// While the page navigates, evaluating fails: try again.
					if done, err := chromedp.Run(ctx, chromedp.Evaluate[bool](answered)); err == nil && done {
						return nil
					}
					select {
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(50 * time.Millisecond):
					}
				}
			}),
		)
	}

	t.Run("SignIn", func(t *testing.T) {
		must(t, chromedp.Do(ctx, chromedp.Navigate(cfg.AuthCodeURL("s1", challenge)), chromedp.WaitVisible(chromedp.CSS(`form`))))
		if page := text(t, ctx, `main`); !strings.Contains(page, "Films asks you to sign in") {
			t.Errorf("the sign-in page does not name the app:\n%s", page)
		}
		apptest.Screenshot(t, ctx, "signin")
		checkAccessibility(t, ctx, "sign-in")
		must(t, chromedp.Do(ctx, signIn("not the password"), chromedp.WaitVisible(chromedp.CSS(`.error`))))
		if msg := text(t, ctx, `.error`); !strings.Contains(msg, "Wrong username or password.") {
			t.Errorf("a wrong password says %q", msg)
		}
		apptest.Screenshot(t, ctx, "wrong-password")
		checkAccessibility(t, ctx, "wrong password")
	})

	t.Run("Consent", func(t *testing.T) {
		must(t, chromedp.Do(ctx, signIn(apptest.Password("alice")), chromedp.WaitVisible(chromedp.CSS(`#scopes`))))
		scopes := text(t, ctx, `#scopes`)
		if !strings.Contains(scopes, "Send links to your friends as you") {
			t.Errorf("the consent page's scopes:\n%s", scopes)
		}
		// Alice has no conversations to tick: choosing to tick some is
		// not offered, and the page says why.
		if disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("input[name=thread_scope][value=selected]").disabled`)); err != nil || !disabled {
			t.Errorf("with no conversations, the choice of ticked ones: disabled %v, %v", disabled, err)
		}
		if reach := text(t, ctx, `#reach`); !strings.Contains(reach, "You have no conversations yet.") {
			t.Errorf("with no conversations, the page does not say so:\n%s", reach)
		}
		checkHangingLabels(t, ctx, "consent")
		apptest.Screenshot(t, ctx, "consent")
		checkAccessibility(t, ctx, "consent")
		must(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[value=approve]`)), chromedp.WaitVisible(chromedp.CSS(`#back`))))
		got := location(t, ctx)
		if got.Query().Get("code") == "" || got.Query().Get("iss") != env.URL || got.Query().Get("state") != "s1" {
			t.Errorf("back at the app with %s, want a code, state s1 and iss %s", got, env.URL)
		}
	})

	t.Run("AccountPages", func(t *testing.T) {
		must(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/account/apps"), chromedp.WaitVisible(chromedp.CSS(`section.app`))))
		checkAccessibility(t, ctx, "connected apps")
		must(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/account/access-log"), chromedp.WaitVisible(chromedp.CSS(`h1`))))
		checkAccessibility(t, ctx, "access log")
	})

	t.Run("PromptConsent", func(t *testing.T) {
		again := cfg.AuthCodeURL("s2", challenge, oauth2.SetAuthURLParam("prompt", "consent"))
		must(t, chromedp.Do(ctx, chromedp.Navigate(again), chromedp.WaitVisible(chromedp.CSS(`#scopes`))))
		// Denying a request of an app already connected keeps what the
		// app has, and the page says so, not that it asks to connect.
		if page := text(t, ctx, `main`); !strings.Contains(page, "already connected") || !strings.Contains(page, "go on using your Parley account?") ||
			!strings.Contains(page, "Deny refuses only this request") {
			t.Errorf("prompt=consent for a covered request:\n%s", page)
		}
		apptest.Screenshot(t, ctx, "consent-again")
		checkAccessibility(t, ctx, "consent again")
	})

	t.Run("RequestInDoubt", func(t *testing.T) {
		doubtful := cfg.AuthCodeURL("s3", challenge) + "&client_id=" + url.QueryEscape(films.App.ClientID)
		must(t, chromedp.Do(ctx, chromedp.Navigate(doubtful), chromedp.WaitVisible(chromedp.CSS(`.error`))))
		if msg := text(t, ctx, `.error`); !strings.Contains(msg, "client_id") {
			t.Errorf("a repeated client_id says %q", msg)
		}
		apptest.Screenshot(t, ctx, "request-in-doubt")
		checkAccessibility(t, ctx, "error")
	})

	t.Run("Throttled", func(t *testing.T) {
		relogin := cfg.AuthCodeURL("s4", challenge, oauth2.SetAuthURLParam("prompt", "login"))
		must(t, chromedp.Do(ctx, chromedp.Navigate(relogin), chromedp.WaitVisible(chromedp.CSS(`form`))))
		if page := text(t, ctx, `main`); !strings.Contains(page, "Films asks you to enter your password again") {
			t.Errorf("prompt=login with a session does not say why it asks:\n%s", page)
		}
		// The clock stands still, so that the sixth failure comes within a
		// second of the fifth however slow the machine: after five, the
		// next attempt waits a second from the last.
		env.Clock.Freeze()
		for range 6 {
			must(t, chromedp.Do(ctx, signIn("still not it"), chromedp.WaitVisible(chromedp.CSS(`.error`))))
		}
		if msg := text(t, ctx, `.error`); !strings.Contains(msg, "try again in") {
			t.Errorf("the sixth wrong password in a row says %q", msg)
		}
		apptest.Screenshot(t, ctx, "throttled")
	})
}

func location(t *testing.T, ctx context.Context) *url.URL {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	u, err := url.Parse(loc)
	must(t, err)
	return u
}

// A username typed with capitals, as a phone's keyboard starts a word, is
// taken in small letters on both forms, as the API takes it: the sign-up
// form lets it through, the account is made in small letters, and the
// sign-in form signs in with the capitals too. Neither field lets a
// phone capitalize or spell-check what is typed.
func TestSignUp_Browser_CapitalsAreTakenAsSmallLetters(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := apptest.Chromium(t)
	// usernameField reports whether the page's username field takes
	// value, and whether it keeps a phone from capitalizing and spelling.
	usernameField := func(value string) (valid, plain bool) {
		t.Helper()
		field := `document.querySelector("input[name=username]")`
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]bool](`[(() => { const f = `+field+`; f.value = "`+value+`"; return f.checkValidity(); })(), `+
			field+`.autocapitalize === "none" && `+field+`.spellcheck === false]`))
		if err != nil || len(got) != 2 {
			t.Fatalf("reading the username field: %v, %v", got, err)
		}
		return got[0], got[1]
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(env.URL+"/sign-up"), chromedp.WaitVisible(chromedp.CSS(`input[name=display_name]`))))
	if valid, plain := usernameField("Carol.B"); !valid || !plain {
		t.Fatalf("on the sign-up form, Carol.B is valid: %v; the field neither capitalizes nor spell-checks: %v", valid, plain)
	}
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), apptest.Password("carol.b")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.welcome`)),
	))
	if _, err := env.Client.SignIn(context.Background(), "carol.b", apptest.Password("carol.b")); err != nil {
		t.Fatalf("the account is not carol.b: %v", err)
	}
	must(t, chromedp.Do(ctx,
		chromedp.Submit(chromedp.CSS(`form[action="/sign-out"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/sign-up"]`)),
	))
	if valid, plain := usernameField("Carol.B"); !valid || !plain {
		t.Fatalf("on the sign-in form, Carol.B is valid: %v; the field neither capitalizes nor spell-checks: %v", valid, plain)
	}
	must(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), apptest.Password("carol.b")),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.welcome`)),
	))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
