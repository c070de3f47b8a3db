package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// pageForms are the forms of the server's pages a signed-in member may
// post, their paths' parameters named as pagesWorld fills them in;
// signing out, which would end the world's session, is left out. Those
// that take something out of the world (a friend, a grant, a secret, the
// account) come last, so that the seeds of the others find it whole.
var pageForms = []string{
	"/sign-up", "/sign-in", "/oauth2/login", "/oauth2/consent", "/account/sign-in", "/friends", "/blocks", "/new",
	"/t/{thread}/messages", "/t/{thread}/messages/{message}/edit", "/t/{thread}/messages/{message}/react",
	"/t/{thread}/messages/{message}/flag", "/t/{thread}/read", "/t/{thread}/typing", "/t/{thread}/participants",
	"/t/{thread}/title", "/t/{thread}/mute", "/t/{thread}/apps", "/account/name", "/account/apps/{grant}/narrow",
	"/account/developer/apps", "/account/developer/apps/{app}/redirect-uris", "/account/developer/apps/{app}/webhooks",
	"/account/developer/apps/{app}/webhooks/{hook}/deliveries/{delivery}/redeliver",
	"/operator/apps/{app}/approve", "/operator/reports/{message}/dismiss",
	"/t/{thread}/messages/{message}/delete", "/t/{thread}/leave", "/t/{thread}/remove", "/blocks/{user}/remove",
	"/friends/{user}/remove", "/account/apps/{grant}/revoke", "/account/developer/apps/{app}/secret",
	"/account/developer/apps/{app}/secret/end-old", "/account/developer/apps/{app}/webhooks/{hook}/delete",
	"/account/sign-out-others", "/account/password", "/account/delete",
}

// pagePaths are the server's pages a signed-in member may open, named
// as pageForms are; the static files are left out. The sign-in and
// consent pages of Sign in with Parley answer only the browser that
// started a sign-in, which the world's did not: their refusal is fuzzed.
var pagePaths = []string{
	"/", "/sign-up", "/sign-in", "/friends", "/new", "/search", "/parts/inbox",
	"/t/{thread}", "/t/{thread}/messages", "/t/{thread}/head", "/t/{thread}/seen", "/t/{thread}/apps",
	"/account/data", "/account/export", "/account/sign-in", "/account/apps", "/account/access-log", "/account/access-log.json",
	"/account/developer", "/account/developer/apps/{app}", "/account/developer/apps/{app}/report.svg",
	"/account/developer/apps/{app}/webhooks/{hook}", "/operator", "/operator/reports", "/oauth2/login", "/oauth2/consent",
}

// FuzzPages_AnyForm posts any form, with a valid CSRF token, to every form
// of the pages (pageForms) in a pagesWorld, and, in place of the path's
// last parameter, any ID. No post gets a 5xx: a form the server cannot
// take is an error page or a redirect, never a crash. `go test -fuzz
// FuzzPages_AnyForm ./internal/web` looks beyond the seeds.
func FuzzPages_AnyForm(f *testing.F) {
	w := newPagesWorld(f)
	forms := []string{
		"", "text=hi", "text=hi&text=again", "text=%00", "text=%FF", "text=" + strings.Repeat("a", 20000),
		"username=bob", "username=bob&username=alice", "username=%00", "title=t&title=" + strings.Repeat("%E2%80%AE", 50),
		"emoji=%F0%9F%91%8D", "emoji=x", "reason=spam&note=x", "seq=-1", "seq=99999999999999999999", "reply_to=1&key=k",
		"muted=on", "allowed=on", "scope=messages.read&threads=" + w.ids["{thread}"], "name=Films&redirect_uris=https://a.example/cb",
		"url=http://127.0.0.1:9/h&events=message.created", "current_password=x&new_password=y", "display_name=%E2%80%AE",
		"id=x&action=approve&expiry=30d", "next=//evil.example", "next=https://evil.example", "%", "a=%zz&&=",
	}
	for i := range pageForms { // a route with every form, before the next takes something away
		for _, form := range forms {
			f.Add(uint8(i), "", form)
		}
	}
	w.addIDs(f, len(pageForms), "text=hi")
	f.Fuzz(func(t *testing.T, route uint8, id, form string) {
		target := w.env.URL + w.path(pageForms[int(route)%len(pageForms)], id)
		req, err := http.NewRequest("POST", target, strings.NewReader(form+"&csrf="+url.QueryEscape(w.csrf)))
		if err != nil {
			return // no URL net/http sends
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if status, body := w.mustNotFail(t, req); status == http.StatusForbidden && strings.Contains(body, "Form expired") && !strings.Contains(form, "csrf") {
			t.Fatalf("POST %s %q: the world's CSRF token was refused, and the inputs after this one would test nothing", req.URL, form)
		}
	})
}

// FuzzPages_AnyQuery opens every page (pagePaths) in a pagesWorld with any
// query and, in place of the path's last parameter, any ID. No page gets a
// 5xx. `go test -fuzz FuzzPages_AnyQuery ./internal/web` looks beyond the
// seeds.
func FuzzPages_AnyQuery(f *testing.F) {
	w := newPagesWorld(f)
	for _, query := range []string{
		"", "before=abc", "before=-1", "after=99999999999999999999", "before=1&after=2", "chats=!!", "chats=" + strings.Repeat("A", 3000),
		"q=", "q=%ff", "q=" + strings.Repeat("%E2%80%AE", 300), "app=%FF", "app=" + w.ids["{app}"], "done=x", "id=x", "id=%00",
		"from=2026-02-30", "period=year", "next=//evil.example", "to=bob", "%", "a=%zz&&=",
	} {
		for i := range pagePaths {
			f.Add(uint8(i), "", query)
		}
	}
	w.addIDs(f, len(pagePaths), "")
	f.Fuzz(func(t *testing.T, route uint8, id, query string) {
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return // a request line net/http refuses before any handler, with its own 400
		}
		req, err := http.NewRequest("GET", w.env.URL+w.path(pagePaths[int(route)%len(pagePaths)], id)+"?"+query, nil)
		if err != nil {
			return // no URL net/http sends
		}
		w.mustNotFail(t, req)
	})
}

// pagesWorld is a browser signed in as an operator, alice, who owns an
// app, has connected it, and shares a chat with a friend, bob: something
// for every parameter of the pages' paths to name.
type pagesWorld struct {
	env     *apptest.Env
	browser *http.Client // follows no redirect
	csrf    string       // the token of the browser's forms
	ids     map[string]string
}

func newPagesWorld(f *testing.F) *pagesWorld {
	env := apptest.Start(f, apptest.Unlimited, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	alice, bob := env.MustMember(f, "alice"), env.MustMember(f, "bob")
	mustOperator(f, env, "alice")
	apptest.MustFriends(f, alice, bob)
	th := apptest.MustThread(f, alice, "bob")
	hello := apptest.MustSend(f, bob, th.ID, "hello")
	films := env.MustOwnApp(f, alice, "Films")
	jar, _ := cookiejar.New(nil)
	w := &pagesWorld{env: env, browser: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		ids: map[string]string{
			"{user}": apptest.MustMe(f, bob).ID, "{thread}": th.ID, "{message}": hello.ID, "{grant}": films.GrantID,
			"{app}": films.App.ClientID, "{hook}": films.EndpointID, "{delivery}": "none", // no delivery: the route's refusal
		}}
	get := func(path string) (int, string) {
		resp, err := w.browser.Get(env.URL + path)
		if err != nil {
			f.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	_, signIn := get("/sign-in")
	resp, err := w.browser.PostForm(env.URL+"/sign-in", url.Values{"csrf": {csrfOf(f, signIn)}, "username": {"alice"}, "password": {apptest.Password("alice")}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		f.Fatalf("signing in: %v %v", resp, err)
	}
	resp.Body.Close()
	status, inbox := get("/")
	if status != http.StatusOK {
		f.Fatalf("the inbox: %d\n%s", status, inbox)
	}
	w.csrf = csrfOf(f, inbox)
	for _, template := range append(slices.Clone(pageForms), pagePaths...) {
		if path := w.path(template, ""); strings.Contains(path, "{") {
			f.Fatalf("%s: the world names none of its parameters (%s)", template, path)
		}
	}
	return w
}

// addIDs adds the seeds of IDs that are not the world's for each of n
// routes, with input.
func (w *pagesWorld) addIDs(f *testing.F, n int, input string) {
	for _, id := range []string{"x", "\x00", "\xff", "..", strings.Repeat("0", 26), strings.ToLower(w.ids["{thread}"]), "%2F"} {
		for i := range n {
			f.Add(uint8(i), id, input)
		}
	}
}

// path fills in template's parameters from the world, and its last with
// id instead where id is not empty.
func (w *pagesWorld) path(template, id string) string {
	segments := strings.Split(template, "/")
	last := -1
	for i, s := range segments {
		if value, ok := w.ids[s]; ok {
			segments[i], last = value, i
		}
	}
	if id != "" && last >= 0 {
		segments[last] = url.PathEscape(id)
	}
	return strings.Join(segments, "/")
}

// mustNotFail sends req from the world's browser, fails t on a 5xx, and
// returns the answer's status and body.
func (w *pagesWorld) mustNotFail(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := w.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: %d\n%s", req.Method, req.URL, resp.StatusCode, body)
	}
	return resp.StatusCode, string(body)
}
