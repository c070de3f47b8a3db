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
