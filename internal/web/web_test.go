package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"golang.org/x/oauth2"
)

// The sign-in and consent forms refuse posts that did not come from the
// pages themselves.
func TestForms_CSRF(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	id := login.URL.Query().Get("id")
	creds := url.Values{"id": {id}, "username": {"alice"}, "password": {apptest.Password("alice")}}

	t.Run("NoToken", func(t *testing.T) {
		resp, err := b.HTTP.PostForm(env.URL+"/oauth2/login", creds)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d: a login without the CSRF token went through", resp.StatusCode)
		}
	})
	t.Run("CrossOrigin", func(t *testing.T) {
		form := url.Values{}
		for k, v := range creds {
			form[k] = v
		}
		form.Set("csrf", csrfOf(t, login.Body))
		req, _ := http.NewRequest("POST", env.URL+"/oauth2/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := b.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d: a cross-site form post went through", resp.StatusCode)
		}
	})
	t.Run("ConsentWithAnotherBrowsersToken", func(t *testing.T) {
		consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		other := apptest.NewBrowser()
		otherLogin := other.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		resp, err := b.HTTP.PostForm(env.URL+"/oauth2/consent", url.Values{
			"id": {consent.URL.Query().Get("id")}, "csrf": {csrfOf(t, otherLogin.Body)}, "action": {"approve"},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d: consent with a foreign CSRF token went through", resp.StatusCode)
		}
	})
}

func TestPages_SecurityHeaders(t *testing.T) {
	env := apptest.Start(t)
	resp, err := http.Get(env.URL + "/oauth2/login?id=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'none'",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	} {
		if got := resp.Header.Get(name); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	_, rest, ok := strings.Cut(body, `name="csrf" value="`)
	token, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 || token == "" {
		t.Fatalf("no CSRF token on the page:\n%s", body)
	}
	return token
}

// A sign-in request started in one browser cannot be answered, or its code
// taken, from another: a request ID alone is worth nothing.
func TestForms_RequestBoundToBrowser(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	// Alice has connected the app before, so her consent is not asked again.
	env.MustToken(t, partner, "alice", cfg.Scopes, apptest.Answer{})

	attacker := apptest.NewBrowser()
	id := attacker.Get(t, cfg.AuthCodeURL("attackers-state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))).URL.Query().Get("id")

	victim := apptest.NewBrowser()
	victim.SignIn(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), "alice", apptest.Answer{})
	for _, path := range []string{"/oauth2/consent?id=", "/oauth2/login?id=", "/oauth2/authorize/callback?id="} {
		p := victim.Get(t, env.URL+path+id)
		if p.Status != http.StatusForbidden || p.Location != "" {
			t.Errorf("%s with another browser's request: %d %q", path, p.Status, p.Location)
		}
	}
	if p := attacker.Get(t, env.URL+"/oauth2/authorize/callback?id="+id); strings.Contains(p.Location, "code=") {
		t.Errorf("the attacker got a code for a request no one approved: %q", p.Location)
	}
}
