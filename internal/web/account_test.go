package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/oauth2"
)

// On the account page a member names themselves anew: the page says so and
// shows the new name, in its form and in the bar. A name that cannot be
// one is refused with why, the name as sent left in the form to mend, and
// changes nothing; an empty one is the username.
func TestAccountPage_Name(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")

	p := b.post(b.get("/account/data"), "/account/name", url.Values{"display_name": {" Alice Liddell "}})
	if p.status != http.StatusOK || p.url.RequestURI() != "/account/data?done=name" || !strings.Contains(p.body, "Your name is saved") {
		t.Fatalf("a new name: %d %s\n%s", p.status, p.url, p.body)
	}
	for _, want := range []string{`value="Alice Liddell"`, `<span class="me-name">Alice Liddell</span>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the account page after a new name lacks %s", want)
		}
	}

	bad := "Mallory\u202e"
	p = b.post(b.get("/account/data"), "/account/name", url.Values{"display_name": {bad}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="name-error"`) || !strings.Contains(p.body, `value="`+bad+`"`) {
		t.Errorf("a name with a control of the direction of text: %d\n%s", p.status, p.body)
	}
	if me := apptest.MustMe(t, alice); me.DisplayName != "Alice Liddell" {
		t.Errorf("after a refused name, alice is named %q", me.DisplayName)
	}

	b.post(b.get("/account/data"), "/account/name", url.Values{"display_name": {""}})
	if me := apptest.MustMe(t, alice); me.DisplayName != "alice" {
		t.Errorf("after an empty name, alice is named %q, want her username", me.DisplayName)
	}
}

// From the account page a member signs out everywhere else: their other
// sessions end, this browser's goes on.
func TestAccountPage_SignOutEverywhereElse(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")

	p := b.post(b.get("/account/data"), "/account/sign-out-others", url.Values{})
	if p.status != http.StatusOK || p.url.RequestURI() != "/account/data?done=others" || !strings.Contains(p.body, "You are signed out everywhere else") {
		t.Fatalf("signing out everywhere else: %d %s\n%s", p.status, p.url, p.body)
	}
	if _, err := alice.Me(context.Background()); statusOf(err) != http.StatusUnauthorized {
		t.Errorf("alice's other session: %v, want 401", err)
	}
	if p := b.get("/account/data"); p.url.Path != "/account/data" {
		t.Errorf("this browser was signed out too: %s", p.url)
	}
}

// Every sign-in page, the messenger's, the privacy pages' and an app's,
// tells a member who forgot their password who can give them a new one:
// with no email, an operator.
func TestSignInPages_SayWhoGivesANewPassword(t *testing.T) {
	env := apptest.Start(t)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	b := apptest.NewBrowser()
	for name, path := range map[string]string{
		"the messenger's":    env.URL + "/sign-in",
		"the privacy pages'": env.URL + "/account/sign-in",
		"an app's":           cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())),
	} {
		if p := b.Get(t, path); !strings.Contains(p.Body, "an operator of this server can give you a new one") {
			t.Errorf("%s sign-in page does not say who gives a new password:\n%s", name, p.Body)
		}
	}
}

// Shown again after a refusal, the account page has the field at fault
// focused and marked invalid: the new password when it is refused, the
// current one when it is wrong, the box when it was not ticked.
func TestAccountPage_FocusesTheFieldAtFault(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	for name, c := range map[string]struct {
		path   string
		form   url.Values
		field  string
		others []string
	}{
		"NewPasswordTooShort":   {"/account/password", url.Values{"current": {apptest.Password("alice")}, "new": {"short"}}, "new-password", []string{"current-password"}},
		"CurrentPasswordWrong":  {"/account/password", url.Values{"current": {"not it"}, "new": {"a long new password"}}, "current-password", []string{"new-password"}},
		"BoxNotTicked":          {"/account/delete", url.Values{"password": {apptest.Password("alice")}}, "", []string{"delete-password"}},
		"DeletionPasswordWrong": {"/account/delete", url.Values{"password": {"not it"}, "confirm": {"yes"}}, "delete-password", nil},
	} {
		p := a.post(a.get("/account/data"), c.path, c.form)
		focused := regexp.MustCompile(`<input[^>]*\sautofocus aria-invalid="true"[^>]*>`).FindAllString(p.body, -1)
		if len(focused) != 1 || c.field != "" && !strings.Contains(focused[0], `id="`+c.field+`"`) || c.field == "" && !strings.Contains(focused[0], `name="confirm"`) {
			t.Errorf("%s: the fields focused and marked invalid: %q; want %q alone", name, focused, c.field)
		}
		for _, other := range c.others {
			if strings.Contains(strings.Join(focused, ""), `id="`+other+`"`) {
				t.Errorf("%s: %s is marked invalid", name, other)
			}
		}
	}
}

// The account page's deletion section names the apps the member
// registered and says that they keep running without the account: their
// secrets and webhooks keep working, and only an operator can stop them
// once the account and its developer console are gone. A member who
// registered none reads nothing of it.
func TestAccountPage_DeletionSaysTheAppsRegisteredStay(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	env.MustPartnerOf(t, "Films", "alice")
	env.MustPartnerOf(t, "Tunes", "alice")
	deletion := func(username string) string {
		b := newScriptless(t, env.URL)
		b.signIn(username)
		return between(t, b.get("/account/data").body, `id="delete-title"`, `</section>`)
	}
	if got := deletion("alice"); !strings.Contains(got, `<p id="delete-apps">Apps you registered keep running for the members who use them: <strong>Films</strong>, <strong>Tunes</strong>.`) ||
		!strings.Contains(got, "only an operator of this server can stop them") {
		t.Errorf("alice's deletion section:\n%s", got)
	}
	if got := deletion("bob"); strings.Contains(got, "delete-apps") {
		t.Errorf("bob registered no app, and his deletion section says:\n%s", got)
	}
}
