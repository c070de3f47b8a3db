package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
)

// A page open on a chat, something written in its field, when the
// member's account ends elsewhere (they delete it from their phone, an
// operator disables it): the page goes to the sign-in page, which says
// so, not that the session ended and what was written is kept, and the
// tab keeps no draft.
func TestMessenger_Browser_AccountEndedElsewhere(t *testing.T) {
	for name, tc := range map[string]struct {
		end  func(t *testing.T, env *apptest.Env, bob *client.Client)
		done string
		says string
	}{
		"Deleted": {func(t *testing.T, env *apptest.Env, bob *client.Client) {
			must(t, bob.DeleteAccount(context.Background(), apptest.Password("bob")))
		}, "deleted", "Your account is deleted"},
		"Disabled": {func(t *testing.T, env *apptest.Env, bob *client.Client) {
			_, err := env.Server.Service.SetDisabled(service.ConsoleContext(context.Background()), "bob", true)
			must(t, err)
		}, "disabled", "An operator of this server disabled your account"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := apptest.Start(t)
			alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
			apptest.MustFriends(t, alice, bob)
			th := apptest.MustThread(t, alice, "bob").ID
			apptest.MustSend(t, alice, th, "first")
			b := liveThread(t, env.URL, th, "bob")
			// A draft kept for another chat too, as visiting it leaves one.
			evaluate[bool](t, b, `(sessionStorage.setItem("parley.draft."+document.body.dataset.me+".another", JSON.stringify({ text: "for later" })), true)`)
			must(t, chromedp.Do(b, chromedp.SendKeys(chromedp.CSS(`#text`), "half written")))

			tc.end(t, env, bob)
			waitFor(t, b, `location.pathname === "/sign-in" && document.readyState === "complete"`)
			if got, want := location(t, b).RawQuery, "done="+tc.done; got != want {
				t.Errorf("the sign-in page is asked with %q, want %q", got, want)
			}
			if got := text(t, b, `.notice`); !strings.HasPrefix(got, tc.says) {
				t.Errorf("the sign-in page, come to by itself, says %q, want it to begin %q", got, tc.says)
			}
			if kept := evaluate[string](t, b, `Object.keys(sessionStorage).filter((k) => k.startsWith("parley.draft.")).join(" ")`); kept != "" {
				t.Errorf("the tab keeps drafts once the account ended: %s", kept)
			}
			apptest.Screenshot(t, b, "signed-out")
		})
	}
}
