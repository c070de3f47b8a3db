package web_test

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// Sign-ins on the pages, failed ones, and operators' decisions (an app's
// suspension) are logged with the member and the client's address, which
// behind a trusted proxy is the one the proxy forwards.
func TestLogs_PagesSignInsAndDecisions(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.TrustedProxies = "127.0.0.1" })
	env.MustMember(t, "olga")
	mustOperator(t, env, "olga")
	films := env.MustPartner(t, "Films")
	const client = "198.51.100.4"
	jar, _ := cookiejar.New(nil)
	olga := &scriptless{t: t, base: env.URL, http: &http.Client{Jar: jar, Transport: apptest.ForwardedFor{Addr: client}}}

	failed := olga.post(olga.get("/sign-in"), "/sign-in", url.Values{"username": {"olga"}, "password": {"not-her-password"}})
	if failed.status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", failed.status)
	}
	olga.signIn("olga")
	review := olga.get("/operator")
	olga.post(review, "/operator/apps/"+films.App.ClientID+"/suspend", url.Values{})

	for _, want := range []struct {
		msg    string
		fields map[string]any
	}{
		{"sign-in failed", map[string]any{"user": "olga", "client": client, "reason": "wrong username or password"}},
		{"signed in", map[string]any{"user": "olga", "client": client}},
		{"operator action", map[string]any{"action": parley.ActionAppSuspend, "operator": "olga", "subject": "Films",
			"subject_id": films.App.ClientID, "client": client}},
	} {
		entries := env.LogEntries(t, want.msg)
		if len(entries) == 0 {
			t.Errorf("no line %q:\n%s", want.msg, env.Logs)
			continue
		}
		last := entries[len(entries)-1]
		for k, v := range want.fields {
			if last[k] != v {
				t.Errorf("%q logs %s=%v, want %v", want.msg, k, last[k], v)
			}
		}
	}
}
