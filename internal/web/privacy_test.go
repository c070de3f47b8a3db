package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// On the connected apps page a member sees each app's scopes, the threads
// it reaches, its calls and last access; unticking a scope and a thread
// narrows the grant so that the app's very next call, with the token it
// already has, can no longer do or see them; revoking ends it. Each
// change is in the access log.
func TestConnectedApps_NarrowAndRevoke(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	withBob, withCarol := apptest.MustThread(t, alice, "bob").ID, apptest.MustThread(t, alice, "carol").ID
	apptest.MustSend(t, bob, withBob, "hello")
	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "threads.read", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{withBob, withCarol}})
	app := env.Client.WithToken(tok.AccessToken)
	if _, err := app.Messages(ctx, withBob, client.MessagesQuery{}); err != nil {
		t.Fatal(err)
	}

	b := newScriptless(t, env.URL)
	b.signIn("alice")
	apps := b.get("/account/apps")
	section := between(t, apps.body, `<section class="app`, `</section>`)
	for _, want := range []string{"Films", "See your conversations&#39; titles", "Read messages in your conversations",
		`value="` + withBob + `" checked> Member bob`, `value="` + withCarol + `" checked> Member carol`, "It looked at your data <strong>once</strong>, last on ", `aria-current="page">Apps`} {
		if !strings.Contains(apps.body, want) {
			t.Errorf("connected apps page lacks %q:\n%s", want, section)
		}
	}
	if !strings.Contains(section, `value="openid" checked disabled`) {
		t.Errorf("openid can be unticked:\n%s", section)
	}

	narrow := regexp.MustCompile(`action="(/account/apps/[^"]+/narrow)"`).FindStringSubmatch(apps.body)[1]
	saved := b.post(apps, narrow, url.Values{"scopes": {"messages.read"}, "threads": {withBob}, "shown_threads": {withBob, withCarol}})
	if saved.url.Path != "/account/apps" || !strings.Contains(saved.body, "Saved: the app can do less") ||
		strings.Contains(saved.body, `data-scope="threads.read"`) || strings.Contains(saved.body, `value="`+withCarol+`"`) {
		t.Fatalf("after narrowing, %s:\n%s", saved.url, saved.body)
	}
	if _, err := app.Threads(ctx, client.ThreadsQuery{}); client.StatusOf(err) != http.StatusForbidden {
		t.Errorf("listing threads after threads.read was unticked: %v, want 403", err)
	}
	if _, err := app.Messages(ctx, withCarol, client.MessagesQuery{}); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("reading the unticked thread: %v, want 404", err)
	}
	if _, err := app.Messages(ctx, withBob, client.MessagesQuery{}); err != nil {
		t.Errorf("reading the thread kept: %v", err)
	}
	connected, err := alice.ConnectedApps(ctx)
	if err != nil || len(connected) != 1 || !slices.Equal(connected[0].Scopes, []string{"openid", "messages.read"}) || len(connected[0].Threads) != 1 {
		t.Fatalf("connected apps after narrowing: %+v, %v", connected, err)
	}

	t.Run("OnlyNarrows", func(t *testing.T) {
		for name, form := range map[string]url.Values{
			"ScopeNotHeld":  {"scopes": {"messages.read", "friends.read"}},
			"ThreadNotHeld": {"scopes": {"messages.read"}, "threads": {withBob, withCarol}, "shown_threads": {withBob, withCarol}},
		} {
			if p := b.post(b.get("/account/apps"), narrow, form); p.status != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400:\n%s", name, p.status, p.body)
			}
		}
		if p := b.post(b.get("/account/apps"), "/account/apps/"+"no-such-grant/narrow", url.Values{}); p.status != http.StatusNotFound {
			t.Errorf("another's or no grant: %d, want 404", p.status)
		}
		bobs := newScriptless(t, env.URL)
		bobs.signIn("bob")
		if p := bobs.post(bobs.get("/account/apps"), narrow, url.Values{}); p.status != http.StatusNotFound {
			t.Errorf("bob narrowing alice's grant: %d, want 404", p.status)
		}
	})

	revoke := regexp.MustCompile(`action="(/account/apps/[^"]+/revoke)"`).FindStringSubmatch(saved.body)[1]
	if p := b.post(saved, revoke, url.Values{}); !strings.Contains(p.body, `id="no-apps"`) || !strings.Contains(p.body, "Revoked") {
		t.Fatalf("after revoking:\n%s", p.body)
	}
	if _, err := app.Messages(ctx, withBob, client.MessagesQuery{}); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("Films after revoking: %v, want 401", err)
	}
	log := b.get("/account/access-log").body
	for _, want := range []string{"You connected Films", "You narrowed what Films may do", "You revoked Films&#39;s access",
		"Films read 1 message in your conversation with Member bob"} {
		if !strings.Contains(log, want) {
			t.Errorf("access log lacks %q:\n%s", want, between(t, log, `<ol id="log"`, `</ol>`))
		}
	}
}

// The access log reads as sentences, an app polling a conversation as one
// line, and pages never cut such a run: with 50 lines to a page, a run
// that would straddle the first page's end is whole on it, and the second
// page starts with the line after it. The verification (on the first page
// alone) and the JSON download come with it.
func TestAccessLogPage_GroupsAcrossPages(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	withBob, withCarol := apptest.MustThread(t, alice, "bob").ID, apptest.MustThread(t, alice, "carol").ID
	films := env.MustPartner(t, "MovieClub")
	tok := env.MustToken(t, films, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{withBob, withCarol}})
	app := env.Client.WithToken(tok.AccessToken)
	read := func(thread string) {
		t.Helper()
		if _, err := app.Messages(ctx, thread, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(10 * time.Second)
	}
	alternate := func(n int, first, second string) {
		for i := range n {
			read([]string{first, second}[i%2])
		}
	}
	// Oldest first: 21 lines ending with carol's conversation, a run of
	// 30 polls of bob's in which bob writes 3 messages, then 49 lines
	// starting with carol's.
	alternate(21, withCarol, withBob)
	for i := range 30 {
		if i == 10 || i == 20 || i == 25 {
			apptest.MustSend(t, bob, withBob, "new")
		}
		read(withBob)
	}
	alternate(49, withCarol, withBob)

	b := newScriptless(t, env.URL)
	b.signIn("alice")
	first := b.get("/account/access-log?app=" + url.QueryEscape(films.Config.ClientID))
	lines := logItems(between(t, first.body, `<ol id="log"`, `</ol>`))
	if len(lines) != 50 {
		t.Fatalf("%d lines on the first page, want 50", len(lines))
	}
	run := lines[49]
	if !regexp.MustCompile(`^MovieClub checked your conversation with Member bob 30 times between .+ and .+ and read 3 new messages$`).MatchString(run) {
		t.Errorf("the first page's last line: %q", run)
	}
	if !regexp.MustCompile(`^MovieClub checked your conversation with Member carol and found nothing new, \d+ \w+ \d{4} \d\d:\d\d UTC$`).MatchString(lines[0]) {
		t.Errorf("the newest line: %q", lines[0])
	}
	if !strings.Contains(first.body, "Verified: your whole log, all 101 entries of every app") || !strings.Contains(first.body, "<h1>What MovieClub did</h1>") {
		t.Errorf("title or verification:\n%s", first.body)
	}
	next := regexp.MustCompile(`href="(/account/access-log\?[^"]+)">Older entries`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatal("no link to older entries")
	}
	second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	older := logItems(between(t, second.body, `<ol id="log"`, `</ol>`))
	if strings.Contains(second.body, `id="verification"`) {
		t.Errorf("an older page verifies the whole log again:\n%s", second.body)
	}
	if len(older) != 22 || !strings.Contains(older[0], "your conversation with Member carol and found nothing new") ||
		!strings.HasPrefix(older[21], "You connected MovieClub") || strings.Contains(second.body, "Older entries") {
		t.Errorf("second page: %d lines, from %q", len(older), older)
	}

	download := b.get("/account/access-log.json")
	var export struct {
		Verification struct{ Intact bool } `json:"verification"`
		Entries      []parley.AccessEntry  `json:"entries"`
	}
	if err := json.Unmarshal([]byte(download.body), &export); err != nil {
		t.Fatalf("download: %v\n%s", err, download.body)
	}
	if download.header.Get("Content-Disposition") == "" || !export.Verification.Intact || len(export.Entries) != 101 ||
		export.Entries[0].Seq != 101 || len(export.Entries[0].Hash) == 0 {
		t.Errorf("download: %s, intact %v, %d entries", download.header.Get("Content-Disposition"), export.Verification.Intact, len(export.Entries))
	}
}

// The JSON download holds every entry of the log once, newest first, however
// many pages of the log it reads them in (none, or three), indented as
// json.MarshalIndent indents, with the chain's verification.
func TestAccessLogDownload_EveryEntryOnceAcrossPages(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	thread := apptest.MustThread(t, alice, "bob").ID
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	download := func(want int) {
		t.Helper()
		body := b.get("/account/access-log.json").body
		var export struct {
			Verification struct {
				Intact  bool
				Entries int
			} `json:"verification"`
			Entries []parley.AccessEntry `json:"entries"`
		}
		if err := json.Unmarshal([]byte(body), &export); err != nil {
			t.Fatalf("download: %v\n%s", err, body)
		}
		if !export.Verification.Intact || export.Verification.Entries != want || len(export.Entries) != want || export.Entries == nil {
			t.Fatalf("download: intact %v, verified %d entries, holds %d; want %d", export.Verification.Intact,
				export.Verification.Entries, len(export.Entries), want)
		}
		for i, e := range export.Entries {
			if e.Seq != int64(want-i) {
				t.Fatalf("entry %d has seq %d, want %d: each entry once, newest first", i, e.Seq, want-i)
			}
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, []byte(body), "", "  "); err != nil {
			t.Fatal(err)
		}
		if indented.String() != body {
			t.Errorf("the download is not indented as json.MarshalIndent indents:\n%s", body[:min(len(body), 2000)])
		}
	}
	download(0)

	films := env.MustPartner(t, "MovieClub")
	tok := env.MustToken(t, films, "alice", []string{"openid", "messages.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{thread}})
	app := env.Client.WithToken(tok.AccessToken)
	const reads = 2*parley.MaxMessageLimit + 10 // and the grant's entry: three pages
	for range reads {
		if _, err := app.Messages(ctx, thread, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	download(reads + 1)
}

// When two apps' reads interleave, the log of every app shows each run of
// one app's lines under that app's name, a link to its entries alone, and
// every line still there: none is merged or hidden. A thread closed to
// apps, which names no app, is a run of its own. The log of one app is a
// plain list of its lines.
func TestAccessLogPage_EachAppItsOwnRun(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	thread := apptest.MustThread(t, alice, "bob").ID
	read := map[string]func(){}
	partners := map[string]*apptest.Partner{}
	for _, name := range []string{"MovieClub", "Tunes"} {
		partners[name] = env.MustPartner(t, name)
		tok := env.MustToken(t, partners[name], "alice", []string{"openid", "messages.read"},
			apptest.Answer{ThreadScope: "selected", Threads: []string{thread}})
		app := env.Client.WithToken(tok.AccessToken)
		read[name] = func() {
			t.Helper()
			if _, err := app.Messages(ctx, thread, client.MessagesQuery{}); err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(10 * time.Second)
		}
	}
	// Oldest first: Tunes reads twice, MovieClub once, Tunes once,
	// MovieClub twice; then Alice closes the chat to apps.
	for _, name := range []string{"Tunes", "Tunes", "MovieClub", "Tunes", "MovieClub", "MovieClub"} {
		read[name]()
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	b.post(b.get("/t/"+thread), "/t/"+thread+"/apps", url.Values{"allowed": {"false"}})

	all := b.get("/account/access-log")
	type run struct {
		app   string
		lines []string
	}
	var runs []run
	for _, m := range regexp.MustCompile(`(?s)<h2 class="run-app">(.*?)</h2>\s*<ol class="lines">(.*?)</ol>`).FindAllStringSubmatch(all.body, -1) {
		r := run{app: regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], "")}
		for _, l := range logItems(m[2]) {
			r.lines = append(r.lines, strings.TrimSpace(regexp.MustCompile(`, \d+ \w+ \d{4} \d\d:\d\d UTC(\. .*)?$| (on|between) .*$`).ReplaceAllString(l, "")))
		}
		runs = append(runs, r)
	}
	want := []run{
		{"Conversations closed or reopened to apps", []string{"Member alice closed your conversation with Member bob to all apps"}},
		{"MovieClub: its entries alone", []string{"MovieClub checked your conversation with Member bob twice"}},
		{"Tunes: its entries alone", []string{"Tunes checked your conversation with Member bob and found nothing new"}},
		{"MovieClub: its entries alone", []string{"MovieClub checked your conversation with Member bob and found nothing new"}},
		{"Tunes: its entries alone", []string{"Tunes checked your conversation with Member bob twice", "You connected Tunes"}},
		{"MovieClub: its entries alone", []string{"You connected MovieClub"}},
	}
	if fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("the log of every app reads, by run:\n%q\nwant\n%q\n%s", runs, want, between(t, all.body, `<ol id="log"`, `</ol></li>
</ol>`))
	}
	if link := `<a href="/account/access-log?app=` + url.QueryEscape(partners["Tunes"].App.ClientID) + `">Tunes`; !strings.Contains(all.body, link) {
		t.Errorf("no link %s to Tunes's entries alone", link)
	}

	// MovieClub's own log groups its reads, which Tunes's split above.
	movies := b.get("/account/access-log?app=" + url.QueryEscape(partners["MovieClub"].App.ClientID))
	lines := logItems(between(t, movies.body, `<ol id="log"`, `</ol>`))
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "MovieClub checked your conversation with Member bob 3 times") ||
		strings.Contains(movies.body, `class="run-app"`) {
		t.Errorf("MovieClub's own log: %q", lines)
	}
}

// between returns the part of s from the first start to the end after it.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		t.Fatalf("no %q in:\n%s", start, s)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		return s[i:]
	}
	return s[i : i+j+len(end)]
}

// The privacy and developer pages carry the pages' strict policy, with
// images from the server only, and hold no inline script or style.
func TestPrivacyPages_StrictPolicy(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	tunes := env.MustPartnerOf(t, "Tunes", "alice")
	env.MustToken(t, tunes, "alice", []string{"openid"}, apptest.Answer{})
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	scripts := regexp.MustCompile(`(?i)<script[^>]*>[^<]*`)
	inline := regexp.MustCompile(`(?i)\sstyle=|<style|\son[a-z]+=`)
	for _, path := range []string{"/account/apps", "/account/access-log", "/account/developer", "/account/developer/apps/" + tunes.App.ClientID} {
		p := b.get(path)
		csp := p.header.Get("Content-Security-Policy")
		if p.status != http.StatusOK || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "img-src 'self'") ||
			!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: %d, policy %q", path, p.status, csp)
		}
		if m := inline.FindString(p.body); m != "" {
			t.Errorf("%s holds inline style or a handler: %q", path, m)
		}
		for _, sc := range scripts.FindAllString(p.body, -1) {
			if !strings.Contains(sc, ` src="/static/`) || !strings.HasSuffix(sc, ">") {
				t.Errorf("%s holds an inline script: %q", path, sc)
			}
		}
	}
}

// The Apps pages' own row of tabs marks the one a page is under: the tab's
// own page as the page, and the pages reached from it (one app's log, an
// app's page in the developer console) as within it; the bar marks its
// Apps tab. The account page is under the bar's avatar instead, with no
// row of tabs.
func TestAppsPages_TabsMarkWhereYouAre(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	films := env.MustPartnerOf(t, "Films", "alice")
	env.MustToken(t, films, "alice", []string{"openid"}, apptest.Answer{})
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	appURL := "/account/developer/apps/" + films.App.ClientID
	for path, want := range map[string]string{
		"/account/apps":       `<a href="/account/apps" aria-current="page">Connected apps</a>`,
		"/account/access-log": `<a href="/account/access-log" aria-current="page">Access log</a>`,
		"/account/access-log?app=" + url.QueryEscape(films.App.ClientID): `<a href="/account/access-log" aria-current="true">Access log</a>`,
		"/account/developer": `<a href="/account/developer" aria-current="page">Developer console</a>`,
		appURL:               `<a href="/account/developer" aria-current="true">Developer console</a>`,
	} {
		p := b.get(path)
		nav := between(t, p.body, `<nav class="subnav"`, `</nav>`)
		if p.status != http.StatusOK || !strings.Contains(nav, want) || strings.Count(nav, "aria-current") != 1 {
			t.Errorf("%s: %d, want only %s in:\n%s", path, p.status, want, nav)
		}
		if bar := between(t, p.body, `<header class="bar">`, `</header>`); !strings.Contains(bar, `<a href="/account/apps" aria-current="page">Apps</a>`) || strings.Count(bar, "aria-current") != 1 {
			t.Errorf("%s: the bar marks another tab than Apps:\n%s", path, bar)
		}
	}

	// The account page is the bar's avatar's, and none of the Apps tabs.
	p := b.get("/account/data")
	bar := between(t, p.body, `<header class="bar">`, `</header>`)
	if p.status != http.StatusOK || !strings.Contains(bar, `<a class="me" href="/account/data" title="@alice" aria-current="page">`) ||
		!strings.Contains(bar, `Your account: </span><span class="me-name">Member alice</span>`) || strings.Count(bar, "aria-current") != 1 || strings.Contains(p.body, `class="subnav"`) {
		t.Errorf("the account page's bar (%d):\n%s", p.status, bar)
	}
}

// The log's verification reads as the count it has: an empty log has
// nothing to verify, and a log of one entry is told as one.
func TestAccessLogPage_VerificationCountsInWords(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	if got := b.get("/account/access-log").body; !strings.Contains(got, "Your log holds no entries yet: nothing to verify.") {
		t.Errorf("an empty log's verification:\n%s", between(t, got, `<h1>`, `</p>`))
	}
	env.MustToken(t, env.MustPartner(t, "MovieClub"), "alice", []string{"openid"}, apptest.Answer{})
	if got := b.get("/account/access-log").body; !strings.Contains(got, "✓ Verified: your whole log, its one entry, is intact.") {
		t.Errorf("a log of one entry's verification:\n%s", between(t, got, `<h1>`, `</p>`))
	}
}

// An app that holds nothing the member could untick (only openid, which
// ends when the app is revoked) offers no Save button: there is nothing to
// save.
func TestConnectedApps_NothingToNarrowNoSave(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustToken(t, env.MustPartner(t, "Films"), "alice", []string{"openid"}, apptest.Answer{})
	env.MustToken(t, env.MustPartner(t, "Tunes"), "alice", []string{"openid", "profile"}, apptest.Answer{})
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	page := b.get("/account/apps").body
	if strings.Contains(page, "Save what Films may do") || !strings.Contains(page, "Save what Tunes may do") {
		t.Errorf("Films (openid alone) offers Save: %v; Tunes (profile too) does: %v",
			strings.Contains(page, "Save what Films may do"), strings.Contains(page, "Save what Tunes may do"))
	}
}

// The connected apps page's form says what it showed: saved from a page
// shown before the app started another conversation and was granted
// another scope, it takes out only what the member unticked there, and
// what the grant gained since stays.
func TestConnectedApps_NarrowingFromAnOlderPageKeepsWhatItDidNotShow(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	films := env.MustPartner(t, "Films")
	scopes := []string{"openid", "profile", "messages.read", "messages.write"}
	app := env.Client.WithToken(env.MustToken(t, films, "alice", scopes, apptest.Answer{}).AccessToken)
	shown, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Film night", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	page := b.get("/account/apps")
	form, narrow := narrowForm(t, page)
	// Meanwhile the app starts another conversation, and alice grants it
	// threads.read as well.
	later, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"carol"}, Title: "Book club", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	env.MustToken(t, films, "alice", append(scopes, "threads.read"), apptest.Answer{})

	// On the page she has, alice unticks profile and saves: the form
	// posts its hidden fields and what is still ticked.
	b.post(page, narrow, withHidden(form, url.Values{"threads": {shown.ID}, "scopes": {"messages.read", "messages.write"}}))
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if got, want := slices.Sorted(slices.Values(apps[0].Scopes)), []string{"messages.read", "messages.write", "openid", "threads.read"}; !slices.Equal(got, want) {
		t.Errorf("scopes after unticking profile on the older page: %q, want %q", got, want)
	}
	var threads []string
	for _, th := range apps[0].Threads {
		threads = append(threads, th.ThreadID)
	}
	if slices.Sort(threads); !slices.Equal(threads, slices.Sorted(slices.Values([]string{shown.ID, later.ID}))) {
		t.Errorf("threads after saving the older page: %q, want Film night %s and Book club %s", threads, shown.ID, later.ID)
	}
}

// narrowForm returns the connected apps page's form of its first app, and
// where it posts.
func narrowForm(t *testing.T, apps *page) (form, action string) {
	t.Helper()
	form = between(t, apps.body, `<form method="post" action="/account/apps/`, `</form>`)
	return form, formAction.FindStringSubmatch(form)[1]
}

// withHidden returns what a form posts: the values of its fields ticked or
// filled, and its hidden fields but the CSRF token, which post adds.
func withHidden(form string, v url.Values) url.Values {
	for _, f := range hiddenField.FindAllStringSubmatch(form, -1) {
		if f[1] != "csrf" {
			v.Add(f[1], f[2])
		}
	}
	return v
}

// A link to one of the account pages (the account page, the developer
// console, one app's access log) opened signed out leads to the sign-in,
// which comes back to that page; a next that leads off the site leads to
// the connected apps, as a sign-in from nowhere does.
func TestAccountPages_SignInComesBackToThePage(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	films := env.MustPartnerOf(t, "Films", "alice")
	for _, want := range []string{"/account/data", "/account/developer", "/account/developer/apps/" + films.App.ClientID, "/account/access-log?app=" + films.App.ClientID} {
		b := newScriptless(t, env.URL)
		form := b.get(want)
		if form.url.Path != "/account/sign-in" {
			t.Fatalf("%s signed out: %d at %s", want, form.status, form.url)
		}
		v := url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}}
		if m := regexp.MustCompile(`name="next" value="([^"]*)"`).FindStringSubmatch(form.body); m != nil {
			v.Set("next", html.UnescapeString(m[1]))
		}
		if p := b.post(form, "/account/sign-in", v); p.status != http.StatusOK || p.url.RequestURI() != want {
			t.Errorf("opening %s signed out, then signing in, ends at %d %s", want, p.status, p.url.RequestURI())
		}
	}
	b := newScriptless(t, env.URL)
	form := b.get("/account/sign-in?next=" + url.QueryEscape("//evil.example/"))
	if p := b.post(form, "/account/sign-in", url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}, "next": {"//evil.example/"}}); p.url.String() != env.URL+"/account/apps" {
		t.Errorf("signing in with a next off the site ends at %s, want the connected apps", p.url)
	}
}

// A connected apps page that showed no scope the member could untick
// (the grant held only openid), saved after the app was granted
// messages.read again, keeps that scope: the form says it showed none.
func TestConnectedApps_APageShowingNoScopeKeepsAScopeGrantedSince(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	films := env.MustPartner(t, "Films")
	scopes := []string{"openid", "messages.read", "messages.write"}
	app := env.Client.WithToken(env.MustToken(t, films, "alice", scopes, apptest.Answer{}).AccessToken)
	night, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Film night", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"carol"}, Title: "Book club", Kind: "group"}); err != nil {
		t.Fatal(err)
	}
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	// Alice takes every scope she can out, keeping the conversations.
	if _, err := alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+apps[0].ID, map[string]any{"scopes": []string{"openid"}}, nil); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	page := b.get("/account/apps")
	form, narrow := narrowForm(t, page)
	// Meanwhile she grants the app messages.read again.
	env.MustToken(t, films, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	if widened, err := alice.ConnectedApps(ctx); err != nil || !slices.Contains(widened[0].Scopes, "messages.read") || len(widened[0].Threads) != 2 {
		t.Fatalf("the grant widened: %+v, %v", widened, err)
	}
	// On the page she has, she unticks Book club and saves.
	if p := b.post(page, narrow, withHidden(form, url.Values{"threads": {night.ID}})); p.status != http.StatusOK {
		t.Fatalf("saving: %d\n%s", p.status, p.body)
	}
	if apps, err = alice.ConnectedApps(ctx); err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if !slices.Contains(apps[0].Scopes, "messages.read") {
		t.Errorf("scopes after saving a page shown before messages.read was granted again: %q; want messages.read kept", apps[0].Scopes)
	}
}

// A connected apps page of the release before forms said what they
// showed (its form says listed=1), saved after an upgrade with every
// conversation unticked, takes them all out, as it did then.
func TestConnectedApps_APageOfTheReleaseBeforeTakesOutWhatItUnticks(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	films := env.MustPartner(t, "Films")
	app := env.Client.WithToken(env.MustToken(t, films, "alice", []string{"openid", "messages.read", "messages.write"}, apptest.Answer{}).AccessToken)
	if _, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Film night", Kind: "group"}); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	page := b.get("/account/apps")
	_, narrow := narrowForm(t, page)
	saved := b.post(page, narrow, url.Values{"scopes": {"messages.read", "messages.write"}, "listed": {"1"}})
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if len(apps[0].Threads) != 0 {
		t.Errorf("an older page's form with every conversation unticked: %d, and the grant still lists %d", saved.status, len(apps[0].Threads))
	}
}
