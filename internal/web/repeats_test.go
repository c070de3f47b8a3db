package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/oauth2"
)

// The new-chat form posted twice, as a double click posts it, at once or
// one after the other, starts one group, and both posts lead to it; the
// form filled in again, with a key of its own, starts another.
func TestMessenger_NewChatPostedTwiceIsOneChat(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	apptest.MustFriends(t, alice, env.MustMember(t, "carol"))
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	groups := func() int {
		t.Helper()
		page, err := alice.Threads(context.Background(), client.ThreadsQuery{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, th := range page.Threads {
			if th.Kind == "group" {
				n++
			}
		}
		return n
	}
	form := func() url.Values {
		p := b.get("/new")
		return url.Values{"csrf": {csrfOf(t, p.body)}, "key": {regexpFind(t, p.body, `name="key" value="([^"]+)"`)}, "username": {"bob", "carol"}}
	}

	t.Run("AtOnce", func(t *testing.T) {
		f := form()
		var wg sync.WaitGroup
		landed := make([]string, 2)
		errs := make([]error, 2)
		for i := range landed {
			wg.Go(func() {
				resp, err := b.http.PostForm(env.URL+"/new", f)
				if err != nil {
					errs[i] = err
					return
				}
				resp.Body.Close()
				landed[i] = resp.Request.URL.Path
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("post %d: %v", i, err)
			}
		}
		if !strings.HasPrefix(landed[0], "/t/") || landed[0] != landed[1] {
			t.Errorf("the two posts led to %q and %q, want the same chat", landed[0], landed[1])
		}
		if n := groups(); n != 1 {
			t.Errorf("alice is in %d groups after posting the form twice at once, want 1", n)
		}
	})
	t.Run("OneAfterTheOther", func(t *testing.T) {
		f := form()
		first := b.answer(b.http.PostForm(env.URL+"/new", f))
		again := b.answer(b.http.PostForm(env.URL+"/new", f))
		if first.url.Path != again.url.Path || again.status != http.StatusOK {
			t.Errorf("the post again: %d at %s, want %s", again.status, again.url.Path, first.url.Path)
		}
		if n := groups(); n != 2 {
			t.Errorf("alice is in %d groups after a second form posted twice, want 2", n)
		}
	})
}

// The consent form's Approve posted twice (a double click: the browser
// drops the first answer and follows the second) leads the second time
// where the first did, to the callback, which gives the app its code; the
// app's one answer comes once.
func TestConsent_ApprovedTwiceGoesWhereTheFirstWent(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	paused := &apptest.Browser{HTTP: &http.Client{Jar: b.HTTP.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	first := paused.Submit(t, consent, url.Values{"action": {"approve"}})
	second := paused.Submit(t, consent, url.Values{"action": {"approve"}})
	if first.Status != http.StatusSeeOther || !strings.Contains(first.Location, "/oauth2/authorize/callback") {
		t.Fatalf("the first approval: %d to %q", first.Status, first.Location)
	}
	if second.Status != http.StatusSeeOther || second.Location != first.Location {
		t.Fatalf("the second approval: %d to %q, want a redirect to %q:\n%s", second.Status, second.Location, first.Location, second.Body)
	}
	app := b.Get(t, second.Location)
	if u, err := url.Parse(app.Location); err != nil || u.Query().Get("code") == "" {
		t.Errorf("the callback, reached from the second approval, sent the browser to %q, want the app with a code", app.Location)
	}

	// Another member signed in in the same browser gets no such pass.
	t.Run("AnotherMember", func(t *testing.T) {
		env.MustMember(t, "bob")
		// An app alice has not connected, so that she is asked.
		cfg := *env.MustPartner(t, "Radio").Config
		cfg.Scopes = []string{"openid"}
		b := apptest.NewBrowser()
		login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		paused := &apptest.Browser{HTTP: &http.Client{Jar: b.HTTP.Jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
		paused.Submit(t, consent, url.Values{"action": {"approve"}})
		// Bob signs in over alice, and approves again with a token of his
		// session's (the form's is for alice's).
		bob := b.Get(t, env.URL+"/")
		resp, err := b.HTTP.PostForm(env.URL+"/sign-in", url.Values{"csrf": {csrfOf(t, bob.Body)}, "username": {"bob"}, "password": {apptest.Password("bob")}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		bob = b.Get(t, env.URL+"/")
		if !strings.Contains(bob.Body, "@bob") {
			t.Fatalf("bob did not sign in:\n%s", bob.Body)
		}
		form := url.Values{"id": {consent.URL.Query().Get("id")}, "csrf": {csrfOf(t, bob.Body)}, "action": {"approve"}}
		resp, err = paused.HTTP.PostForm(env.URL+"/oauth2/consent", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict {
			t.Errorf("bob approving alice's answered request: %d to %q, want 409", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
