package web_test

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
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

// A consent form posted without its lifetime, which the page always
// sends, grants what the page ticks unasked, 30 days, not the widest of
// its choices.
func TestConsent_NoExpiryIsThePagesDefault(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	b.Submit(t, consent, url.Values{"action": {"approve"}, "expiry": nil})
	apps, err := alice.ConnectedApps(context.Background())
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if until := apps[0].ExpiresAt; until == nil || until.Sub(apps[0].CreatedAt) != 30*24*time.Hour {
		t.Errorf("the grant approved without a lifetime lasts until %v, want 30 days", until)
	}
}

// Choosing to tick conversations and approving with none ticked is
// refused, saying to tick one, and the page comes back as the member left
// it: that choice made, the lifetime chosen, and a scope they unticked
// still unticked, so that approving again from it, a conversation
// ticked, grants nothing they unticked.
func TestConsent_RefusedAnswerKeepsTheChoices(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "profile", "messages.read"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	refused := b.Submit(t, consent, url.Values{"action": {"approve"}, "thread_scope": {"selected"}, "expiry": {"90d"}, "scope": {"openid", "profile"}})
	if refused.Status != http.StatusBadRequest || !strings.Contains(refused.Body, `<p class="error" role="alert">Tick at least one conversation`) {
		t.Fatalf("approving with no conversation ticked: %d\n%s", refused.Status, refused.Body)
	}
	for _, want := range []string{
		`<input type="radio" name="thread_scope" value="selected" checked>`,
		`<input type="radio" name="expiry" value="90d" checked>`,
		`<input type="checkbox" name="scope" value="profile" checked>`,
		`<input type="checkbox" name="scope" value="messages.read">`,
		`<input type="checkbox" name="threads" value="` + th + `">`,
	} {
		if !strings.Contains(refused.Body, want) {
			t.Errorf("the page shown again lacks %s:\n%s", want, refused.Body)
		}
	}
	for _, unwanted := range []string{`value="app" checked`, `value="30d" checked`} {
		if strings.Contains(refused.Body, unwanted) {
			t.Errorf("the page shown again has %s, which the member did not choose", unwanted)
		}
	}

	back := b.Submit(t, refused, url.Values{"action": {"approve"}, "threads": {th}})
	if back.Location == "" {
		t.Fatalf("approving again: %d\n%s", back.Status, back.Body)
	}
	apps, err := alice.ConnectedApps(context.Background())
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	g := apps[0]
	if strings.Join(g.Scopes, " ") != "openid profile" || g.ThreadScope != "selected" || len(g.Threads) != 1 || g.Threads[0].ThreadID != th ||
		g.ExpiresAt == nil || g.ExpiresAt.Sub(g.CreatedAt) != 90*24*time.Hour {
		t.Errorf("the grant holds %v, reaches %s conversations %v, until %v; want openid and profile, the one ticked, 90 days", g.Scopes, g.ThreadScope, g.Threads, g.ExpiresAt)
	}
}

// A member in more conversations than the consent page lists (the
// parley.MaxThreadLimit most recently active) is told that the older ones
// are not among those to tick, and how to offer one; a member with no
// more is told nothing.
func TestConsent_OlderConversationsAreSaidToBeLeftOut(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "messages.read"}
	consentPage := func() string {
		t.Helper()
		b := apptest.NewBrowser()
		login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		return b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}}).Body
	}
	var oldest string
	for i := range parley.MaxThreadLimit {
		th, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: fmt.Sprintf("group %03d", i), Kind: "group"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			oldest = th.ID
		}
	}
	if page := consentPage(); strings.Count(page, `name="threads"`) != parley.MaxThreadLimit || strings.Contains(page, `id="older"`) {
		t.Fatalf("with %d conversations, the page lists %d, and says some are left out: %v", parley.MaxThreadLimit, strings.Count(page, `name="threads"`), strings.Contains(page, `id="older"`))
	}
	if _, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "the newest", Kind: "group"}); err != nil {
		t.Fatal(err)
	}
	page := consentPage()
	if strings.Count(page, `name="threads"`) != parley.MaxThreadLimit || strings.Contains(page, `value="`+oldest+`"`) {
		t.Errorf("with one more, the page lists %d, the oldest among them: %v", strings.Count(page, `name="threads"`), strings.Contains(page, `value="`+oldest+`"`))
	}
	if !strings.Contains(page, `<p class="note" id="older">These are your 200 most recently active conversations. To let Tunes reach an older one, send a message in it, then reload this page.</p>`) {
		t.Errorf("the page does not say older conversations are left out:\n%s", page)
	}
}

// The consent page names each conversation it lists with the same
// number of queries whatever their number: their members are read for
// all of them at once.
func TestConsent_CostsTheSameQueriesForAnyNumberOfConversations(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid", "messages.read"}
	b := apptest.NewBrowser()
	login := b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	consent := b.Submit(t, login, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	// queries returns the fewest queries the page cost in five tries (the
	// server's chores run queries of their own now and then), once it
	// lists n conversations.
	queries := func(n int) uint64 {
		t.Helper()
		fewest := uint64(1 << 62)
		for range 5 {
			before := env.Server.Store.Queries()
			page := b.Get(t, consent.URL.String())
			fewest = min(fewest, env.Server.Store.Queries()-before)
			if listed := strings.Count(page.Body, `name="threads"`); listed != n {
				t.Fatalf("the page lists %d conversations, want %d", listed, n)
			}
		}
		return fewest
	}
	newGroups := func(n int) {
		t.Helper()
		for i := range n {
			if _, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: fmt.Sprintf("group %d", i), Kind: "group"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	newGroups(2)
	few := queries(2)
	newGroups(10)
	if many := queries(12); many != few {
		t.Errorf("listing 2 conversations cost %d queries, 12 cost %d; want the same", few, many)
	}
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

// The static files the pages load are kept by the browser, which asks
// only whether they changed: Cache-Control no-cache with an ETag of their
// content, and 304 Not Modified, without the file, while it matches. The
// pages stay no-store.
func TestPages_StaticFilesRevalidate(t *testing.T) {
	env := apptest.Start(t)
	get := func(path, etag string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", env.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	for _, path := range []string{"/static/messenger.js", "/static/messenger.css", "/static/parley.css"} {
		first, body := get(path, "")
		etag := first.Header.Get("ETag")
		if first.StatusCode != http.StatusOK || body == "" || first.Header.Get("Cache-Control") != "no-cache" || etag == "" {
			t.Errorf("%s: %d, Cache-Control %q, ETag %q", path, first.StatusCode, first.Header.Get("Cache-Control"), etag)
			continue
		}
		if again, body := get(path, etag); again.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s asked again with its ETag: %d, %d bytes; want 304 and none", path, again.StatusCode, len(body))
		}
		if changed, body := get(path, `"another"`); changed.StatusCode != http.StatusOK || body == "" {
			t.Errorf("%s asked with another ETag: %d, %d bytes", path, changed.StatusCode, len(body))
		}
	}
	if page, _ := get("/sign-in", ""); page.Header.Get("Cache-Control") != "no-store" || page.Header.Get("ETag") != "" {
		t.Errorf("a page: Cache-Control %q, ETag %q; want no-store and none", page.Header.Get("Cache-Control"), page.Header.Get("ETag"))
	}
}

// A request the server has no route for is answered by a page when a
// browser asks and the path is not the API's, the provider's or a probe's:
// a person who mistypes an address, or whose browser sends a method a page
// does not take, reads why, in the pages' frame and under their security
// headers. Any client that does not ask for HTML gets a problem, as from
// the API.
func TestPages_NoSuchPage(t *testing.T) {
	env := apptest.Start(t)
	const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for name, c := range map[string]struct {
		method, path, accept string
		status               int
		contentType          string
		allow                string
	}{
		"UnknownPath":          {"GET", "/nothing-here", browser, 404, "text/html", ""},
		"UnknownUnderAccount":  {"GET", "/account/nothing", browser, 404, "text/html", ""},
		"UnknownUnderOperator": {"GET", "/operator/nothing", browser, 404, "text/html", ""},
		"PageUnderOtherMethod": {"DELETE", "/", browser, 405, "text/html", "GET, HEAD"},
		"FormUnderOtherMethod": {"PUT", "/friends", browser, 405, "text/html", "GET, HEAD, POST"},
		"StaticPosted":         {"POST", "/static/parley.css", browser, 405, "text/html", "GET, HEAD"},
		"UnknownPathNoAccept":  {"GET", "/nothing-here", "", 404, "application/problem+json", ""},
		"UnknownPathAnyType":   {"GET", "/nothing-here", "*/*", 404, "application/problem+json", ""},
		"PageAskedForJSON":     {"DELETE", "/", "application/json", 405, "application/problem+json", "GET, HEAD"},
		"OtherAPIVersion":      {"GET", "/api/v2/threads", browser, 404, "application/problem+json", ""},
		"HealthPosted":         {"POST", "/healthz", browser, 405, "application/problem+json", "GET, HEAD"},
		"ReadyPosted":          {"POST", "/readyz", "", 405, "application/problem+json", "GET, HEAD"},
		"UnknownProviderPath":  {"GET", "/oauth2/nothing", browser, 404, "application/problem+json", ""},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, env.URL+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.accept != "" {
				req.Header.Set("Accept", c.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.contentType) {
				t.Fatalf("%s %s: %d %s, want %d %s\n%s", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.status, c.contentType, body)
			}
			if got := resp.Header.Get("Allow"); got != c.allow {
				t.Errorf("Allow = %q, want %q", got, c.allow)
			}
			if c.contentType != "text/html" {
				return
			}
			if !strings.Contains(string(body), "<h1>"+map[int]string{404: "Page not found", 405: "Not allowed here"}[c.status]) {
				t.Errorf("the page does not say what went wrong:\n%s", body)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
		})
	}
}

func csrfOf(t testing.TB, body string) string {
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

// A browser that starts many sign-ins, as an app that sends it to the
// authorize endpoint again and again does, keeps the cookies of the latest
// 16: the newest goes through, as does the 16th newest, and one older than
// that is to be started again. Kept for all their 10 minutes, they made
// hundreds, until browsers dropped the member's session to keep them. Two
// sign-ins started at once, each answered before the browser kept the
// other's cookie, both go through.
func TestForms_ManySignInsOfOneBrowser(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	// Alice has connected the app before, so her consent is not asked again.
	env.MustToken(t, partner, "alice", cfg.Scopes, apptest.Answer{})
	authURL := func() string { return cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())) }
	b := apptest.NewBrowser()
	var ids []string
	for range 38 { // within the 60 requests at once an address may start
		ids = append(ids, b.Get(t, authURL()).URL.Query().Get("id"))
	}
	// Two more at once: both sent with the cookies the browser holds now.
	loginPage, _ := url.Parse(env.URL + "/oauth2/login")
	held := b.HTTP.Jar.Cookies(loginPage)
	var answers []*http.Response
	for range 2 {
		req, _ := http.NewRequest("GET", authURL(), nil)
		for _, c := range held {
			req.AddCookie(c)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		location, _ := resp.Location()
		ids = append(ids, location.Query().Get("id"))
		answers = append(answers, resp)
	}
	for _, resp := range answers {
		b.HTTP.Jar.SetCookies(loginPage, resp.Cookies())
	}
	var names []string
	for _, c := range b.HTTP.Jar.Cookies(loginPage) {
		if strings.HasPrefix(c.Name, "parley_req") {
			names = append(names, c.Name)
		}
	}
	if len(names) > 17 {
		t.Errorf("the browser holds %d cookies of its sign-ins: %v", len(names), names)
	}
	atOnce, sixteenth, older := ids[len(ids)-2:], ids[len(ids)-16], ids[len(ids)-18]
	if p := b.Get(t, env.URL+"/oauth2/login?id="+older); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "start again") {
		t.Errorf("a sign-in 18 sign-ins old: %d\n%s", p.Status, p.Body)
	}
	for _, id := range append([]string{sixteenth}, atOnce...) {
		p := b.Get(t, env.URL+"/oauth2/login?id="+id)
		if p.Status == http.StatusOK { // the sign-in page; once signed in, straight to the app
			p = b.Submit(t, p, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		}
		if !strings.Contains(p.Location, "code=") {
			t.Errorf("sign-in %s did not reach the app with a code: %d %q\n%s", id, p.Status, p.Location, p.Body)
		}
	}
}

// Every form refuses a post whose CSRF token is not the one the server
// made for this browser and session, and the post changes nothing: no
// session, no approval, no revocation.
func TestForms_CSRFTokenRefused(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	env.MustToken(t, partner, "alice", cfg.Scopes, apptest.Answer{})
	authURL := func() string { return cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())) }
	creds := url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}}

	type form struct {
		b     *apptest.Browser
		page  *apptest.Page
		extra url.Values
		// before is a token this browser's pages carried before it signed
		// in, for forms that need a session.
		before string
	}
	forms := map[string]*form{}
	{ // Sign in with Parley: the sign-in page of an authorization request.
		b := apptest.NewBrowser()
		p := b.Get(t, authURL())
		forms["OAuthSignIn"] = &form{b: b, page: p, extra: creds}
	}
	{ // The account pages' sign-in.
		b := apptest.NewBrowser()
		forms["AccountSignIn"] = &form{b: b, page: b.Get(t, env.URL+"/account/sign-in"), extra: creds}
	}
	{ // The consent page, asked again for a wider scope.
		b := apptest.NewBrowser()
		wider := cfg
		wider.Scopes = []string{"openid", "profile"}
		login := b.Get(t, wider.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		p := b.Submit(t, login, creds)
		forms["Consent"] = &form{b: b, page: p, extra: url.Values{"action": {"approve"}}, before: csrfOf(t, login.Body)}
	}
	{ // The revoke button of the connected apps page.
		b := apptest.NewBrowser()
		login := b.Get(t, env.URL+"/account/sign-in")
		p := b.Submit(t, login, creds)
		forms["Revoke"] = &form{b: b, page: onlyForm(t, p, "/revoke"), before: csrfOf(t, login.Body)}
		forms["Narrow"] = &form{b: b, page: onlyForm(t, p, "/narrow"), before: csrfOf(t, login.Body)}
		console := b.Get(t, env.URL+"/account/developer")
		forms["RegisterApp"] = &form{b: b, page: onlyForm(t, console, "/account/developer/apps"), before: csrfOf(t, login.Body),
			extra: url.Values{"name": {"Sneaky"}, "redirect_uris": {"https://sneaky.example/cb"}}}
	}
	foreign := csrfOf(t, apptest.NewBrowser().Get(t, env.URL+"/account/sign-in").Body)

	for formName, f := range forms {
		token := csrfOf(t, f.page.Body)
		cookie := ""
		for _, c := range f.b.HTTP.Jar.Cookies(f.page.URL) {
			if c.Name == "parley_csrf" {
				cookie = c.Value
			}
		}
		cases := map[string]*string{
			"Missing":        nil,
			"Empty":          ptr(""),
			"Short":          ptr(token[:len(token)/2]),
			"Longer":         ptr(token + "AAAA"),
			"ForeignBrowser": ptr(foreign),
			"CookieValue":    ptr(cookie), // the old double-submit
			"NotMadeByUs":    ptr(strings.Repeat("A", len(token))),
		}
		if f.before != "" {
			cases["AnotherSession"] = &f.before
		}
		for caseName, csrf := range cases {
			t.Run(formName+"/"+caseName, func(t *testing.T) {
				fields := url.Values{}
				for _, m := range hiddenField.FindAllStringSubmatch(f.page.Body, -1) {
					fields.Set(m[1], html.UnescapeString(m[2]))
				}
				for k, v := range f.extra {
					fields[k] = v
				}
				fields.Del("csrf")
				if csrf != nil {
					fields.Set("csrf", *csrf)
				}
				action := formAction.FindStringSubmatch(f.page.Body)[1]
				resp, err := f.b.HTTP.PostForm(env.URL+action, fields)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Form expired") {
					t.Errorf("status %d, want 403 Form expired:\n%s", resp.StatusCode, body)
				}
				for _, c := range resp.Cookies() {
					if c.Name == "parley_session" {
						t.Errorf("a refused form signed the browser in")
					}
				}
			})
		}
	}

	// Nothing changed: no app registered, the grant is as it was, and the
	// right token works.
	if mine, err := env.Server.Service.AllApps(service.ConsoleContext(context.Background())); err != nil || len(mine) != 1 {
		t.Fatalf("apps after refused forms: %d, %v", len(mine), err)
	}
	apps, err := alice.ConnectedApps(context.Background())
	if err != nil || len(apps) != 1 || len(apps[0].Scopes) != 1 {
		t.Fatalf("connected apps after refused forms: %+v, %v", apps, err)
	}
	revoke := forms["Revoke"]
	if p := revoke.b.Submit(t, revoke.page, nil); p.Status != http.StatusOK || !strings.Contains(p.Body, `id="no-apps"`) {
		t.Fatalf("revoke with the right token: %d\n%s", p.Status, p.Body)
	}
}

func ptr(s string) *string { return &s }

// onlyForm returns the page cut down to its form whose action ends in
// suffix, for Submit, which posts a page's first form.
func onlyForm(t *testing.T, p *apptest.Page, suffix string) *apptest.Page {
	t.Helper()
	for _, f := range regexp.MustCompile(`(?s)<form method="post" action="[^"]*".*?</form>`).FindAllString(p.Body, -1) {
		if strings.Contains(f, suffix+`"`) {
			cut := *p
			cut.Body = f
			return &cut
		}
	}
	t.Fatalf("no form posting to …%s on %s:\n%s", suffix, p.URL, p.Body)
	return nil
}

var (
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	formAction  = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

// Form values and query parameters that are not text are refused with a
// page that says so, before any handler sees them.
func TestForms_RefuseWhatIsNotText(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	b := apptest.NewBrowser()
	login := b.Get(t, env.URL+"/account/sign-in")
	for name, username := range map[string]string{"InvalidUTF8": "alice\xff", "NUL": "ali\x00ce"} {
		t.Run(name, func(t *testing.T) {
			p := b.Submit(t, login, url.Values{"username": {username}, "password": {apptest.Password("alice")}})
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "not text") {
				t.Errorf("status %d:\n%s", p.Status, p.Body)
			}
		})
	}
	t.Run("InQuery", func(t *testing.T) {
		if p := b.Get(t, env.URL+"/oauth2/login?id=%ff"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "not text") {
			t.Errorf("status %d:\n%s", p.Status, p.Body)
		}
	})
	// An ID in the path that is not text leads nowhere, and says so, for a
	// member signed in too: on PostgreSQL, which refuses such a string even
	// in a lookup, it was a 500.
	t.Run("InPath", func(t *testing.T) {
		signedIn := newScriptless(t, env.URL)
		signedIn.signIn("alice")
		for _, path := range []string{"/t/%ff", "/t/%00", "/t/%ff/apps", "/account/developer/apps/%ff"} {
			if p := signedIn.get(path); p.status != http.StatusNotFound || !strings.Contains(p.body, "not text") {
				t.Errorf("%s: status %d:\n%s", path, p.status, p.body)
			}
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		resp, err := b.HTTP.Post(env.URL+"/account/sign-in", "application/x-www-form-urlencoded", strings.NewReader("username=%zz"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

// Failed sign-ins on the pages count with those of the API, and a throttled
// sign-in gets a plain message, on the account pages and in Sign in with
// Parley alike.
func TestSignInPages_Throttled(t *testing.T) {
	env := apptest.Start(t)
	// After five failures the next attempt waits a second from the last:
	// with the clock standing still, however slow the machine.
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	cfg := *partner.Config
	cfg.Scopes = []string{"openid"}
	b := apptest.NewBrowser()
	p := b.Get(t, env.URL+"/account/sign-in")
	for i := range 4 {
		if p = b.Submit(t, p, url.Values{"username": {"alice"}, "password": {"wrong"}}); p.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, p.Status)
		}
	}
	if _, err := env.Client.SignIn(context.Background(), "alice", "wrong"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	for name, page := range map[string]*apptest.Page{
		"AccountSignIn": p,
		"OAuthSignIn":   b.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))),
	} {
		t.Run(name, func(t *testing.T) {
			resp := b.Submit(t, page, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
			if resp.Status != http.StatusTooManyRequests || !strings.Contains(resp.Body, "Too many failed sign-ins; try again in") {
				t.Errorf("status %d:\n%s", resp.Status, resp.Body)
			}
		})
	}
}

// A browser where a member signed in before is not held up by others'
// failed sign-ins to the member's username: a stranger who fails five
// times keeps every other browser waiting, but not the member's own. That
// browser's own failures slow it down alone, and a proof of another
// member's browser, or a forged one, is worth nothing.
func TestSignInPages_KnownBrowserIsNotHeldUpByOthersFailures(t *testing.T) {
	env := apptest.Start(t)
	env.Clock.Freeze() // as in TestSignInPages_Throttled
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	site, _ := url.Parse(env.URL)
	// signIn signs in from a browser whose session, if any, was let go,
	// as after signing out: its device proof stays.
	signIn := func(b *apptest.Browser, username, password string) *apptest.Page {
		t.Helper()
		b.HTTP.Jar.SetCookies(site, []*http.Cookie{{Name: "parley_session", MaxAge: -1}})
		return b.Submit(t, b.Get(t, env.URL+"/sign-in"), url.Values{"username": {username}, "password": {password}})
	}
	alices, bobs := apptest.NewBrowser(), apptest.NewBrowser()
	for name, b := range map[string]*apptest.Browser{"alice": alices, "bob": bobs} {
		if p := signIn(b, name, apptest.Password(name)); p.URL.Path != "/" {
			t.Fatalf("%s's first sign-in: %d %s", name, p.Status, p.URL)
		}
	}
	// A stranger fails five times, through the API.
	for range 5 {
		if _, err := env.Client.SignIn(context.Background(), "alice", "wrong"); statusOf(err) != http.StatusUnauthorized {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	if _, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice")); statusOf(err) != http.StatusTooManyRequests {
		t.Fatalf("the right password after five failures, without a proof: %v", err)
	}

	if p := signIn(alices, "alice", apptest.Password("alice")); p.URL.Path != "/" {
		t.Errorf("alice's browser after the stranger's failures: %d %s", p.Status, p.URL)
	}
	bobsForAlice := apptest.NewBrowser()
	bobsForAlice.HTTP.Jar = bobs.HTTP.Jar
	forged := apptest.NewBrowser()
	forged.HTTP.Jar.SetCookies(site, []*http.Cookie{{Name: "parley_device", Value: "pdv_" + strings.Repeat("A", 54)}})
	for name, b := range map[string]*apptest.Browser{"a new browser": apptest.NewBrowser(), "bob's browser": bobsForAlice, "a forged proof": forged} {
		if p := signIn(b, "alice", apptest.Password("alice")); p.Status != http.StatusTooManyRequests {
			t.Errorf("alice's right password from %s: %d, want 429", name, p.Status)
		}
	}

	for range 5 {
		if p := signIn(alices, "alice", "wrong"); p.Status != http.StatusUnauthorized {
			t.Fatalf("a wrong password in alice's browser: %d", p.Status)
		}
	}
	if p := signIn(alices, "alice", apptest.Password("alice")); p.Status != http.StatusTooManyRequests {
		t.Errorf("alice's browser after five failures of its own: %d, want 429", p.Status)
	}

	// A year on, the proof has run out: the browser waits with the others.
	env.Clock.Advance(service.DeviceProofTTL)
	for range 5 {
		env.Client.SignIn(context.Background(), "alice", "wrong")
	}
	if p := signIn(alices, "alice", apptest.Password("alice")); p.Status != http.StatusTooManyRequests {
		t.Errorf("alice's browser with a proof a year old: %d, want 429", p.Status)
	}
}

// A new password ends the device proofs made under the old one: whoever
// signed in with it, on a browser of theirs, waits with the strangers for
// the new one.
func TestSignInPages_ANewPasswordEndsTheProofs(t *testing.T) {
	env := apptest.Start(t)
	env.Clock.Freeze() // as in TestSignInPages_Throttled
	env.MustMember(t, "alice")
	b := apptest.NewBrowser()
	if p := b.Submit(t, b.Get(t, env.URL+"/sign-in"), url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}}); p.URL.Path != "/" {
		t.Fatalf("alice's sign-in: %d %s", p.Status, p.URL)
	}
	const fresh = "a new password for alice"
	if _, err := env.Server.Service.SetPassword(service.ConsoleContext(context.Background()), "alice", fresh); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		env.Client.SignIn(context.Background(), "alice", "wrong")
	}
	// The new password ended the session; the proof stays in the browser.
	if p := b.Submit(t, b.Get(t, env.URL+"/sign-in"), url.Values{"username": {"alice"}, "password": {fresh}}); p.Status != http.StatusTooManyRequests {
		t.Errorf("the new password, in a browser with a proof of the old: %d %s, want 429", p.Status, p.URL)
	}
}

// A member who changes their own password on the account page keeps, in
// that browser, a proof made under the new one: strangers' failures hold
// its sign-ins up no more than before.
func TestSignInPages_AMembersNewPasswordRenewsTheirProof(t *testing.T) {
	env := apptest.Start(t)
	env.Clock.Freeze() // as in TestSignInPages_Throttled
	env.MustMember(t, "alice")
	site, _ := url.Parse(env.URL)
	b := apptest.NewBrowser()
	if p := b.Submit(t, b.Get(t, env.URL+"/sign-in"), url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}}); p.URL.Path != "/" {
		t.Fatalf("alice's sign-in: %d %s", p.Status, p.URL)
	}
	const fresh = "a new password for alice"
	data := b.Get(t, env.URL+"/account/data")
	resp, err := b.HTTP.PostForm(env.URL+"/account/password", url.Values{"csrf": {csrfOf(t, data.Body)}, "current": {apptest.Password("alice")}, "new": {fresh}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.RequestURI() != "/account/data?done=password" {
		t.Fatalf("the new password's form ended at %d %s", resp.StatusCode, resp.Request.URL)
	}
	for range 5 {
		env.Client.SignIn(context.Background(), "alice", "wrong")
	}
	b.HTTP.Jar.SetCookies(site, []*http.Cookie{{Name: "parley_session", MaxAge: -1}})
	if p := b.Submit(t, b.Get(t, env.URL+"/sign-in"), url.Values{"username": {"alice"}, "password": {fresh}}); p.URL.Path != "/" {
		t.Errorf("the new password, in the browser that set it, after a stranger's failures: %d %s", p.Status, p.URL)
	}
}

// statusOf is the status of the API's answer that err, a client's, is.
func statusOf(err error) int {
	if e, ok := errors.AsType[*client.Error](err); ok {
		return e.Status
	}
	return 0
}

// A person without an account whom an app sends to sign in with Parley
// makes one from the sign-in page and goes on to the app's consent, then
// back to the app, without starting again; while registration is closed,
// or when a member is only asked to sign in again, no account is offered.
func TestSignInPages_AnAppsSignInOffersAnAccount(t *testing.T) {
	signUpLink := regexp.MustCompile(`<a href="(/sign-up[^"]*)">Create an account</a>`)
	authURL := func(cfg oauth2.Config, verifier string, extra ...oauth2.AuthCodeOption) string {
		return cfg.AuthCodeURL("s", append(extra, oauth2.S256ChallengeOption(verifier))...)
	}

	t.Run("Open", func(t *testing.T) {
		env := apptest.Start(t)
		partner := env.MustPartner(t, "Tunes")
		cfg := *partner.Config
		cfg.Scopes = []string{"openid", "profile"}
		verifier := oauth2.GenerateVerifier()
		b := apptest.NewBrowser()
		login := b.Get(t, authURL(cfg, verifier))
		link := signUpLink.FindStringSubmatch(login.Body)
		if link == nil {
			t.Fatalf("the app's sign-in page offers no account:\n%s", login.Body)
		}
		signUp := b.Get(t, env.URL+html.UnescapeString(link[1]))
		if !strings.Contains(signUp.Body, `href="/sign-in?next=`) {
			t.Errorf("the sign-up page reached from an app's sign-in does not lead back to it:\n%s", signUp.Body)
		}
		consent := b.Submit(t, signUp, url.Values{"username": {"dora"}, "display_name": {"Dora"}, "password": {apptest.Password("dora")}})
		if consent.URL.Path != "/oauth2/consent" || !strings.Contains(consent.Body, "Tunes") {
			t.Fatalf("signing up from an app's sign-in ends at %d %s:\n%s", consent.Status, consent.URL, consent.Body)
		}
		back := b.Submit(t, consent, url.Values{"action": {"approve"}})
		code := back.Location
		if u, err := url.Parse(code); err != nil || u.Query().Get("code") == "" {
			t.Fatalf("approving ends at %d %q, not the app with a code", back.Status, back.Location)
		}
		u, _ := url.Parse(code)
		tok, err := cfg.Exchange(context.Background(), u.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		me, err := env.Client.WithToken(tok.AccessToken).Me(context.Background())
		if err != nil || me.Username != "dora" {
			t.Errorf("the app's token stands for %v (%v), want dora", me, err)
		}

		again := b.Get(t, authURL(cfg, oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("prompt", "login")))
		if !strings.Contains(again.Body, `name="password"`) || signUpLink.MatchString(again.Body) {
			t.Errorf("a member asked to sign in again is offered an account:\n%s", again.Body)
		}
	})

	t.Run("OnlyToThisServer", func(t *testing.T) {
		env := apptest.Start(t)
		b := apptest.NewBrowser()
		signUp := b.Get(t, env.URL+"/sign-up?next="+url.QueryEscape("//evil.example/"))
		if strings.Contains(signUp.Body, "evil.example") {
			t.Fatalf("the sign-up page carries another site as where to go next:\n%s", signUp.Body)
		}
		form := url.Values{"username": {"dora"}, "password": {apptest.Password("dora")}, "next": {"https://evil.example/"}}
		if welcome := b.Submit(t, signUp, form); welcome.URL.Host != strings.TrimPrefix(env.URL, "http://") || welcome.URL.Path != "/" {
			t.Errorf("a sign-up posted with another site as next ends at %s", welcome.URL)
		}
	})

	t.Run("Closed", func(t *testing.T) {
		env := apptest.Start(t, func(c *config.Config) { c.Registration = config.RegistrationClosed })
		partner := env.MustPartner(t, "Tunes")
		cfg := *partner.Config
		cfg.Scopes = []string{"openid"}
		login := apptest.NewBrowser().Get(t, authURL(cfg, oauth2.GenerateVerifier()))
		if !strings.Contains(login.Body, `name="password"`) || signUpLink.MatchString(login.Body) {
			t.Errorf("the app's sign-in page of a closed server offers an account:\n%s", login.Body)
		}
	})
}
