package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// pageForms are the forms of the server's pages a signed-in member may
// post, their paths' parameters named as fuzzPages fills them in; signing
// out, which would end the fuzzing member's session, is left out.
var pageForms = []string{
	"/sign-up", "/sign-in", "/oauth2/login", "/oauth2/consent", "/account/sign-in",
	"/friends", "/friends/{user}/remove", "/blocks", "/blocks/{user}/remove", "/new",
	"/t/{thread}/messages", "/t/{thread}/messages/{message}/edit", "/t/{thread}/messages/{message}/delete",
	"/t/{thread}/messages/{message}/react", "/t/{thread}/messages/{message}/flag", "/t/{thread}/read",
	"/t/{thread}/typing", "/t/{thread}/participants", "/t/{thread}/leave", "/t/{thread}/remove",
	"/t/{thread}/title", "/t/{thread}/mute", "/t/{thread}/apps",
	"/account/sign-out-others", "/account/name", "/account/password", "/account/delete",
	"/account/apps/{grant}/narrow", "/account/apps/{grant}/revoke",
	"/account/developer/apps", "/account/developer/apps/{app}/redirect-uris", "/account/developer/apps/{app}/secret",
	"/account/developer/apps/{app}/secret/end-old", "/account/developer/apps/{app}/webhooks",
	"/account/developer/apps/{app}/webhooks/{hook}/delete",
	"/account/developer/apps/{app}/webhooks/{hook}/deliveries/{delivery}/redeliver",
	"/operator/apps/{app}/approve", "/operator/reports/{message}/dismiss",
}

// FuzzPages_AnyForm posts any form, with a valid CSRF token, to every form
// of the pages (pageForms) as a signed-in operator who owns an app, has
// connected it and shares a chat with a friend; and, in place of the
// path's last parameter, any ID. No post gets a 5xx: a form the server
// cannot take is an error page or a redirect, never a crash. `go test
// -fuzz FuzzPages_AnyForm ./internal/web` looks beyond the seeds.
func FuzzPages_AnyForm(f *testing.F) {
	env := apptest.Start(f, apptest.Unlimited, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	ctx := context.Background()
	alice, bob := env.MustMember(f, "alice"), env.MustMember(f, "bob")
	mustOperator(f, env, "alice")
	apptest.MustFriends(f, alice, bob)
	th := apptest.MustThread(f, alice, "bob")
	hello := apptest.MustSend(f, bob, th.ID, "hello")
	films := env.MustOwnApp(f, alice, "Films")
	ids := map[string]string{
		"{user}": apptest.MustMe(f, bob).ID, "{thread}": th.ID, "{message}": hello.ID, "{grant}": films.GrantID,
		"{app}": films.App.ClientID, "{hook}": films.EndpointID, "{delivery}": "none",
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string) {
		resp, err := browser.Get(env.URL + path)
		if err != nil {
			f.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	_, signIn := get("/sign-in")
	resp, err := browser.PostForm(env.URL+"/sign-in", url.Values{"csrf": {csrfOf(f, signIn)}, "username": {"alice"}, "password": {apptest.Password("alice")}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		f.Fatalf("signing in: %v %v", resp, err)
	}
	resp.Body.Close()
	status, inbox := get("/")
	if status != http.StatusOK {
		f.Fatalf("the inbox: %d\n%s", status, inbox)
	}
	csrf := csrfOf(f, inbox)

	for _, form := range []string{
		"", "text=hi", "text=hi&text=again", "text=%00", "text=%FF", "text=" + strings.Repeat("a", 20000),
		"username=bob", "username=bob&username=alice", "username=%00", "title=t&title=" + strings.Repeat("%E2%80%AE", 50),
		"emoji=%F0%9F%91%8D", "emoji=x", "reason=spam&note=x", "seq=-1", "seq=99999999999999999999", "reply_to=1&key=k",
		"muted=on", "allowed=on", "scope=messages.read&threads=" + th.ID, "name=Films&redirect_uris=https://a.example/cb",
		"url=http://127.0.0.1:9/h&events=message.created", "current_password=x&new_password=y", "display_name=%E2%80%AE",
		"id=x&action=approve&expiry=30d", "next=//evil.example", "next=https://evil.example", "%", "a=%zz&&=",
	} {
		for i := range pageForms {
			f.Add(uint8(i), "", form)
		}
	}
	for _, id := range []string{"x", "\x00", "\xff", "..", strings.Repeat("0", 26), strings.ToLower(th.ID), "%2F"} {
		for i := range pageForms {
			f.Add(uint8(i), id, "text=hi")
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, id, form string) {
		segments := strings.Split(pageForms[int(route)%len(pageForms)], "/")
		last := -1
		for i, s := range segments {
			if value, ok := ids[s]; ok {
				segments[i], last = value, i
			}
		}
		if id != "" && last >= 0 {
			segments[last] = url.PathEscape(id)
		}
		target := env.URL + strings.Join(segments, "/")
		req, err := http.NewRequestWithContext(ctx, "POST", target, strings.NewReader(form+"&csrf="+url.QueryEscape(csrf)))
		if err != nil {
			return // no URL net/http sends
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("POST %s %q: %d\n%s", target, form, resp.StatusCode, body)
		}
	})
}
