package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// page is a messenger page as a browser without script gets it, its body
// as it reads: without the invisible marks that set people's names and
// titles apart from the sentences around them (U+2068 … U+2069, isolate),
// whose effect the browser tests measure (TestMessenger_NamesKeepTheirPlace_Browser).
type page struct {
	status int
	url    *url.URL
	body   string
	header http.Header
}

// unmarked drops the directional isolates (U+2068, U+2069) from s, which
// a reader does not see.
var unmarked = strings.NewReplacer("\u2068", "", "\u2069", "").Replace

// scriptless is a browser without script: it keeps cookies and follows
// redirects.
type scriptless struct {
	t    *testing.T
	base string
	http *http.Client
}

func newScriptless(t *testing.T, base string) *scriptless {
	jar, _ := cookiejar.New(nil)
	return &scriptless{t: t, base: base, http: &http.Client{Jar: jar}}
}

func (b *scriptless) answer(resp *http.Response, err error) *page {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return &page{status: resp.StatusCode, url: resp.Request.URL, body: unmarked(string(body)), header: resp.Header}
}

func (b *scriptless) get(path string) *page {
	b.t.Helper()
	return b.answer(b.http.Get(b.base + path))
}

// navigate gets path as a browser does that says, in Fetch Metadata, where
// the navigation came from (Sec-Fetch-Site); site "" is a browser that
// does not say.
func (b *scriptless) navigate(path, site string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if site != "" {
		req.Header.Set("Sec-Fetch-Site", site)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
	}
	return b.answer(b.http.Do(req))
}

// post posts a form with the CSRF token of the page it is on.
func (b *scriptless) post(on *page, path string, form url.Values) *page {
	b.t.Helper()
	if on != nil {
		form.Set("csrf", csrfOf(b.t, on.body))
	}
	return b.answer(b.http.PostForm(b.base+path, form))
}

// signIn signs the browser in through the messenger's sign-in page.
func (b *scriptless) signIn(username string) *page {
	b.t.Helper()
	p := b.post(b.get("/sign-in"), "/sign-in", url.Values{"username": {username}, "password": {apptest.Password(username)}})
	if p.url.Path != "/" || !strings.Contains(p.body, `class="welcome"`) {
		b.t.Fatalf("signing in as %s ends at %s:\n%s", username, p.url, p.body)
	}
	return p
}

// Opening a thread marks it read, as the member sees it: a navigation that
// another site started, which brings the session cookie along, or a HEAD,
// changes nothing, so that no other site can tell a thread's members that
// the member read what they wrote.
func TestMessenger_OnlyTheMemberOpeningAThreadReadsIt(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice")
	apptest.MustSend(t, bob, th.ID, "did you read this?")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	open := func(method, site string) {
		t.Helper()
		req, _ := http.NewRequest(method, env.URL+"/t/"+th.ID, nil)
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
			req.Header.Set("Sec-Fetch-Mode", "navigate")
		}
		if p := b.answer(b.http.Do(req)); p.status != http.StatusOK {
			t.Fatalf("%s /t/%s from %q: %d", method, th.ID, site, p.status)
		}
	}
	readTo := func() int64 {
		t.Helper()
		summary, err := alice.Thread(ctx, th.ID)
		if err != nil {
			t.Fatal(err)
		}
		return summary.LastReadSeq
	}
	open(http.MethodGet, "cross-site")
	open(http.MethodGet, "same-site")
	open(http.MethodHead, "same-origin")
	if seq := readTo(); seq != 0 {
		t.Fatalf("a cross-site navigation or a HEAD moved alice's read marker to %d: bob is told she read it", seq)
	}
	open(http.MethodGet, "same-origin")
	if seq := readTo(); seq != 1 {
		t.Errorf("alice opened the thread from her inbox: read to %d, want 1", seq)
	}
	apptest.MustSend(t, bob, th.ID, "and this?")
	open(http.MethodGet, "none")
	if seq := readTo(); seq != 2 {
		t.Errorf("alice opened the thread from a bookmark: read to %d, want 2", seq)
	}
}

// The messenger works without script: sign up, sign in, the inbox with
// unread counts and last messages, a thread's newest messages with a link
// to older ones, sending, deleting and signing out are all plain pages and
// forms.
func TestMessenger_WorksWithoutScript(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)

	t.Run("SignUp", func(t *testing.T) {
		first := b.get("/")
		if first.url.Path != "/sign-in" || !strings.Contains(first.body, `href="/sign-up"`) {
			t.Fatalf("a browser without a session at / ends at %s:\n%s", first.url, first.body)
		}
		welcome := b.post(b.get("/sign-up"), "/sign-up", url.Values{"username": {"bob"}, "display_name": {"Bob"}, "password": {apptest.Password("bob")}})
		if welcome.url.Path != "/" || !strings.Contains(welcome.body, "Welcome, Bob") {
			t.Fatalf("signing up ends at %s:\n%s", welcome.url, welcome.body)
		}
		taken := b.post(b.get("/sign-up"), "/sign-up", url.Values{"username": {"alice"}, "password": {"long enough"}})
		if taken.status != http.StatusConflict || !strings.Contains(taken.body, `class="error"`) {
			t.Errorf("signing up as a taken name: %d\n%s", taken.status, taken.body)
		}
	})

	bob := mustSignInClient(t, env, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := 1; i <= 60; i++ {
		apptest.MustSend(t, alice, th.ID, fmt.Sprintf("message %d", i))
	}

	t.Run("Inbox", func(t *testing.T) {
		inbox := b.get("/")
		for _, want := range []string{`href="/t/` + th.ID + `"`, "Member alice", `<span class="unread">60<span class="visually-hidden"> unread</span></span>`, `<span class="preview"><bdi>Member alice</bdi>: <bdi>message 60</bdi></span>`} {
			if !strings.Contains(inbox.body, want) {
				t.Errorf("the inbox lacks %q:\n%s", want, inbox.body)
			}
		}
	})

	t.Run("ThreadAndOlderMessages", func(t *testing.T) {
		thread := b.get("/t/" + th.ID)
		if n := strings.Count(thread.body, `<li id="m`); n != 50 {
			t.Errorf("the thread shows %d messages, want the newest 50", n)
		}
		if !strings.Contains(thread.body, ">message 60<") || strings.Contains(thread.body, ">message 10<") {
			t.Errorf("the thread does not show messages 11 to 60")
		}
		// A one-to-one chat's head names the other under their name, by
		// username alone: not again their name, nor the reader's.
		if want := `<p class="members"><span class="handle" data-name="Member alice">@alice</span></p>`; !strings.Contains(thread.body, want) ||
			strings.Contains(thread.body, "@bob</span>") {
			t.Errorf("the chat's head lacks %s, or names bob:\n%s", want, thread.body)
		}
		older := b.get("/t/" + th.ID + "?before=11")
		if !strings.Contains(thread.body, `href="/t/`+th.ID+`?before=11"`) || strings.Count(older.body, `<li id="m`) != 10 ||
			!strings.Contains(older.body, ">message 1<") || !strings.Contains(older.body, "Show the newest messages") {
			t.Errorf("the older messages' page:\n%s", older.body)
		}
		// A page before a message past the last is the newest.
		if newest := b.get("/t/" + th.ID + "?before=70"); !strings.Contains(newest.body, ">message 60<") ||
			strings.Contains(newest.body, "Show the newest messages") || !strings.Contains(newest.body, `data-more="false"`) {
			t.Errorf("the page before message 70 of 60:\n%s", newest.body)
		}
		// Opening the thread read it.
		if inbox := b.get("/"); strings.Contains(inbox.body, "unread") {
			t.Errorf("the inbox still counts unread messages after the thread was opened")
		}
	})

	t.Run("ReadMarkers", func(t *testing.T) {
		// Bob opened the thread above, which read it: Alice's page says so
		// under her last message, and Bob's own page does not. Each says,
		// for the script, how far its reader read.
		a := newScriptless(t, env.URL)
		a.signIn("alice")
		if seen := a.get("/t/" + th.ID + "/seen"); !strings.Contains(seen.body, `<p id="seen" class="seen" data-read="60">Seen by Bob</p>`) {
			t.Errorf("alice's read marker part:\n%s", seen.body)
		}
		if seen := b.get("/t/" + th.ID + "/seen"); !strings.Contains(seen.body, `<p id="seen" class="seen" data-read="60"></p>`) {
			t.Errorf("bob's read marker part, under alice's message:\n%s", seen.body)
		}
	})

	t.Run("SendAndDelete", func(t *testing.T) {
		thread := b.get("/t/" + th.ID)
		after := b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {"sent from a form"}, "key": {"k1"}})
		if after.url.Path != "/t/"+th.ID || !strings.Contains(after.body, ">sent from a form<") {
			t.Fatalf("sending ends at %s", after.url)
		}
		// Posted again (a retry), the same key is the same message.
		b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {"sent from a form"}, "key": {"k1"}})
		page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
		if err != nil {
			t.Fatal(err)
		}
		mine := page.Messages[len(page.Messages)-1]
		if mine.Text != "sent from a form" || mine.Seq != 61 {
			t.Fatalf("alice's last message is %d %q, want 61 \"sent from a form\" once", mine.Seq, mine.Text)
		}
		gone := b.post(after, "/t/"+th.ID+"/messages/"+mine.ID+"/delete", url.Values{})
		if !strings.Contains(gone.body, "Message deleted") || strings.Contains(gone.body, ">sent from a form<") {
			t.Errorf("after deleting, the thread shows:\n%s", gone.body)
		}
		// Alice's messages have no delete button for Bob, and his post
		// deleting one is refused by the service.
		theirs := page.Messages[0]
		if refused := b.post(after, "/t/"+th.ID+"/messages/"+theirs.ID+"/delete", url.Values{}); refused.status != http.StatusForbidden {
			t.Errorf("deleting another's message: %d, want 403", refused.status)
		}
	})

	t.Run("ErrNotInThread", func(t *testing.T) {
		carol := env.MustMember(t, "carol")
		apptest.MustFriends(t, alice, carol)
		theirs := apptest.MustThread(t, alice, "carol")
		for _, path := range []string{"/t/" + theirs.ID, "/t/" + theirs.ID + "/messages?after=0", "/t/" + theirs.ID + "/head", "/t/" + theirs.ID + "/seen"} {
			if p := b.get(path); p.status != http.StatusNotFound {
				t.Errorf("GET %s of another's thread: %d, want 404", path, p.status)
			}
		}
		if p := b.post(b.get("/"), "/t/"+theirs.ID+"/messages", url.Values{"text": {"let me in"}}); p.status != http.StatusNotFound {
			t.Errorf("sending into another's thread: %d, want 404", p.status)
		}
	})

	t.Run("SignOut", func(t *testing.T) {
		out := b.post(b.get("/"), "/sign-out", url.Values{})
		if out.url.Path != "/sign-in" {
			t.Fatalf("signing out ends at %s", out.url)
		}
		if again := b.get("/"); again.url.Path != "/sign-in" {
			t.Errorf("after signing out, / is %s", again.url)
		}
	})
}

// Every form of the messenger refuses a post without the page's CSRF token,
// and changes nothing.
func TestMessenger_FormsNeedCSRF(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	bobClient := env.MustMember(t, "bob")
	env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bobClient)
	th := apptest.MustThread(t, alice, "bob")
	m := apptest.MustSend(t, alice, th.ID, "hi")
	bobs := apptest.MustSend(t, bobClient, th.ID, "hello")
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "g", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	forms := map[string]url.Values{
		"/sign-out": {},
		"/friends":  {"username": {"carol"}},
		"/friends/" + apptest.MustMe(t, bobClient).ID + "/remove": {},
		"/new":                      {"username": {"bob"}, "title": {"new"}},
		"/t/" + th.ID + "/messages": {"text": {"forged"}},
		"/t/" + th.ID + "/messages/" + m.ID + "/edit":            {"text": {"forged"}},
		"/t/" + th.ID + "/messages/" + m.ID + "/delete":          {},
		"/t/" + th.ID + "/messages/" + m.ID + "/react":           {"emoji": {"👍"}},
		"/t/" + th.ID + "/messages/" + bobs.ID + "/flag":         {"reason": {"spam"}},
		"/t/" + th.ID + "/read":                                  {"seq": {"1"}},
		"/t/" + th.ID + "/typing":                                {},
		"/t/" + group.ID + "/title":                              {"title": {"forged"}},
		"/t/" + th.ID + "/mute":                                  {"muted": {"true"}},
		"/t/" + group.ID + "/leave":                              {},
		"/t/" + group.ID + "/remove":                             {"user": {apptest.MustMe(t, bobClient).ID}},
		"/blocks":                                                {"username": {"bob"}, "thread": {th.ID}},
		"/blocks/" + apptest.MustMe(t, bobClient).ID + "/remove": {},
		"/account/name":                                          {"display_name": {"Forged"}},
		"/account/sign-out-others":                               {},
		"/account/password":                                      {"current": {apptest.Password("alice")}, "new": {"a forged password"}},
		"/account/delete":                                        {"password": {apptest.Password("alice")}, "confirm": {"yes"}},
	}
	for path, form := range forms {
		for name, token := range map[string]string{"NoToken": "", "MadeUp": "AAAA"} {
			sent := url.Values{}
			for k, v := range form {
				sent[k] = v
			}
			if token != "" {
				sent.Set("csrf", token)
			}
			if p := b.post(nil, path, sent); p.status != http.StatusForbidden {
				t.Errorf("%s: POST %s: %d, want 403", name, path, p.status)
			}
		}
	}
	// Nothing changed: alice is still signed in, here and through the API
	// (a new password would have ended that session), and keeps her name,
	// the message is there, the group keeps its name and its people, no
	// request went out.
	if p := b.get("/"); p.url.Path != "/" {
		t.Fatalf("alice was signed out by a forged form")
	}
	if me := apptest.MustMe(t, alice); me.DisplayName != "Member alice" {
		t.Errorf("alice is named %q after forged forms", me.DisplayName)
	}
	page, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
	if err != nil || len(page.Messages) != 2 || page.Messages[1].DeletedAt != nil || page.Messages[1].Reactions != nil {
		t.Errorf("the thread after forged forms: %+v, %v", page, err)
	}
	if _, err := alice.Flag(ctx, bobs.ID); client.StatusOf(err) != http.StatusNotFound {
		t.Errorf("bob's message after a forged report: %v, want no report of alice's", err)
	}
	if blocked, err := alice.BlockedMembers(ctx); err != nil || len(blocked) != 0 {
		t.Errorf("alice blocks %+v after forged forms (%v)", blocked, err)
	}
	if d, err := alice.Thread(ctx, th.ID); err != nil || d.Muted {
		t.Errorf("the direct thread after forged forms: %+v, %v", d, err)
	}
	g, err := alice.Thread(ctx, group.ID)
	if err != nil || g.Title != "g" {
		t.Errorf("the group after forged forms: %+v, %v", g, err)
	}
	if people, err := alice.Participants(ctx, group.ID); err != nil || len(people) != 2 {
		t.Errorf("the group's people after forged forms: %+v, %v", people, err)
	}
	reqs, err := alice.FriendRequests(ctx)
	if err != nil || len(reqs.Outgoing) != 0 {
		t.Errorf("friend requests after forged forms: %+v, %v", reqs, err)
	}
}

// The messenger's pages allow no inline script or style and no framing,
// and its session cookie is HttpOnly and SameSite=Lax, Secure and the
// host's own (__Host-) when the public URL is https.
func TestMessenger_SecurityHeaders(t *testing.T) {
	for public, name := range map[string]string{"": "parley_session", "https://parley.example": "__Host-parley_session"} {
		env := apptest.Start(t, func(c *config.Config) { c.PublicURL = public })
		env.MustMember(t, "alice")
		b := newScriptless(t, env.URL)
		signIn := b.get("/sign-in")
		csp := signIn.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP %q allows unsafe sources", csp)
		}
		form := url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}, "csrf": {csrfOf(t, signIn.body)}}
		req, _ := http.NewRequest("POST", env.URL+"/sign-in", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range b.http.Jar.Cookies(req.URL) {
			req.AddCookie(c)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var session *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == name {
				session = c
			}
		}
		if session == nil {
			t.Fatalf("with public URL %q signing in set no cookie %s (status %d)", public, name, resp.StatusCode)
		}
		if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure != (public != "") {
			t.Errorf("with public URL %q the session cookie is %s", public, session)
		}
	}
}

// mustSignInClient returns an API client signed in as the member.
func mustSignInClient(t *testing.T, env *apptest.Env, username string) *client.Client {
	t.Helper()
	s, err := env.Client.SignIn(context.Background(), username, apptest.Password(username))
	if err != nil {
		t.Fatal(err)
	}
	return env.Client.WithToken(s.Token)
}

// A share card shows its title, note and the member's own tracked link,
// and a message an app wrote names the app: all as text, but that a web
// address in the note is a link, as in a message.
func TestMessenger_SharesAndApps(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bobAPI := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bobAPI)
	partner := env.MustPartner(t, xssScript)
	tok := env.MustToken(t, partner, "alice", []string{"shares.write", "messages.write"}, apptest.Answer{})
	app := env.Client.WithToken(tok.AccessToken)
	card, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/w/1", Title: xssImg, Note: "watch " + xssScript + " https://films.example/trailer"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.SendMessage(ctx, card.ThreadID, "written by the app", ""); err != nil {
		t.Fatal(err)
	}

	b := newScriptless(t, env.URL)
	b.signIn("bob")
	thread := b.get("/t/" + card.ThreadID)
	for _, want := range []string{
		`<span class="ctitle">&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</span>`,
		`<p class="note">watch &lt;script&gt;alert(1)&lt;/script&gt; <a href="https://films.example/trailer" rel="noopener noreferrer nofollow ugc" target="_blank" dir="ltr">https://films.example/trailer</a></p>`,
		`<span class="chost">films.example</span>`,
		`<span class="via">via &lt;script&gt;alert(1)&lt;/script&gt;</span>`,
	} {
		if !strings.Contains(thread.body, want) {
			t.Errorf("the thread lacks %s:\n%s", want, thread.body)
		}
	}
	// The card leads through Bob's own tracked link, which goes on to the
	// page, straight for him (TestShareLinks_OnlyTheRecipientGoesStraightOn).
	link := regexpFind(t, thread.body, `<a class="card" href="([^"]+)"`)
	if !strings.HasPrefix(link, env.URL+"/s/") {
		t.Fatalf("the card links to %q, want bob's tracked link", link)
	}
	b.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if got := b.navigate(strings.TrimPrefix(link, env.URL), "same-origin").header.Get("Location"); got != "https://films.example/w/1" {
		t.Errorf("bob's link goes to %q", got)
	}
	if strings.Contains(thread.body, "<script>alert") || strings.Contains(thread.body, "<img src=x") {
		t.Errorf("markup from the app reached the page unescaped")
	}
}

// regexpFind returns the first group of the pattern's first match in s.
func regexpFind(t *testing.T, s, pattern string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", pattern, s)
	}
	return m[1]
}

// TestMessenger_DiskFull: a send the full disk refuses shows a page that
// says so, with 507, not an internal error, and is not logged at every
// page; once space is freed, the same form sends.
func TestMessenger_DiskFull(t *testing.T) {
	disk := sqlstoretest.SmallDisk(t, 8<<20)
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.Database, c.DataDir = "", disk })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	thread := b.get("/t/" + th.ID)

	free := sqlstoretest.Fill(t, disk)
	var refused *page
	for i := 0; refused == nil; i++ {
		if i == 200 {
			t.Fatal("200 sends on a full disk, none refused")
		}
		switch p := b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {strings.Repeat("x", 4000)}}); p.status {
		case http.StatusOK:
		case http.StatusInsufficientStorage:
			refused = p
		default:
			t.Fatalf("a send on a full disk: %d\n%s", p.status, p.body)
		}
	}
	for _, want := range []string{"<h1>Insufficient Storage</h1>", `class="error"`, "The server is out of storage space, so nothing was saved"} {
		if !strings.Contains(refused.body, want) {
			t.Errorf("the page of a refused send lacks %q:\n%s", want, refused.body)
		}
	}
	if strings.Contains(env.Logs.String(), "page error") {
		t.Error("a refused page was logged as an error of its own")
	}

	free()
	if p := b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {"after"}}); p.status != http.StatusOK || !strings.Contains(p.body, "after") {
		t.Fatalf("a send once space is freed: %d", p.status)
	}
}

// The bar's Chats tab is lit on every page under it: the inbox (the page
// itself), an open chat and the page that starts one (the section the
// page is in); on the friends page and the apps pages it is not.
func TestMessenger_BarMarksChats(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	thread := apptest.MustThread(t, alice, "bob").ID
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	for path, want := range map[string]string{
		"/":                   `<a href="/" aria-current="page">Chats</a>`,
		"/t/" + thread:        `<a href="/" aria-current="true">Chats</a>`,
		"/new":                `<a href="/" aria-current="true">Chats</a>`,
		"/friends":            `<a href="/">Chats</a>`,
		"/account/apps":       `<a href="/">Chats</a>`,
		"/account/access-log": `<a href="/">Chats</a>`,
	} {
		if p := b.get(path); p.status != http.StatusOK || !strings.Contains(p.body, want) {
			t.Errorf("%s: %d, want %s in:\n%s", path, p.status, want, between(t, p.body, `<nav aria-label="Main">`, `</nav>`))
		}
	}
}

// A browser that kept its sign-in but not its CSRF cookie, which lasts
// only until the browser closes, gets one cookie with a thread's page, and
// every form on that page works with it.
func TestMessenger_FormsWorkOnceTheCSRFCookieIsGone(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	th := apptest.MustThread(t, alice, "bob")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	base, _ := url.Parse(env.URL)
	restarted, _ := cookiejar.New(nil)
	for _, c := range b.http.Jar.Cookies(base) {
		if c.Name == "parley_session" {
			restarted.SetCookies(base, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
		}
	}
	b.http.Jar = restarted

	thread := b.get("/t/" + th.ID)
	if cookies := thread.header.Values("Set-Cookie"); len(cookies) != 1 {
		t.Errorf("the thread's page set %d cookies: %q", len(cookies), cookies)
	}
	tokens := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindAllStringSubmatch(thread.body, -1)
	for _, tok := range tokens[1:] {
		if tok[1] != tokens[0][1] {
			t.Fatalf("the page's forms carry different tokens: %q and %q", tokens[0][1], tok[1])
		}
	}
	sent := b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {"after a restart"}, "key": {"k1"}})
	if sent.status != http.StatusOK || !strings.Contains(sent.body, ">after a restart<") {
		t.Errorf("sending after the CSRF cookie was gone: %d\n%s", sent.status, sent.body)
	}
}

// The send form takes a message as long as the API does in any script: a
// form encodes each byte of a character beyond ASCII as three. A longer
// form is refused with a page that says so.
func TestMessenger_SendsTheLongestMessageInAnyScript(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	th := apptest.MustThread(t, alice, "bob")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	thread := b.get("/t/" + th.ID)

	text := strings.Repeat("😀", parley.MaxTextLen) // four bytes each, twelve in a form
	sent := b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {text}, "key": {"k-long"}})
	if sent.status != http.StatusOK || !strings.Contains(sent.body, "😀😀😀😀") {
		t.Errorf("a message of %d characters of four bytes from the form: %d", parley.MaxTextLen, sent.status)
	}
	tooLong := b.post(thread, "/t/"+th.ID+"/messages", url.Values{"text": {text + text}, "key": {"k-longer"}})
	if tooLong.status != http.StatusBadRequest || !strings.Contains(tooLong.body, "too long") {
		t.Errorf("a form twice as long: %d\n%s", tooLong.status, tooLong.body)
	}
}

// A member in more chats than the inbox shows at once pages through all of
// them, from the newest: each page links to the one older, and back to the
// newest.
func TestMessenger_InboxPagesThroughEveryChat(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	var oldest, newest string
	for i := range parley.MaxThreadLimit + 1 {
		th, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: fmt.Sprintf("group %03d", i), Kind: "group"})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			oldest = th.ID
		}
		newest = th.ID
	}
	b := newScriptless(t, env.URL)
	inbox := b.signIn("alice")
	if n := strings.Count(inbox.body, `data-thread="`); n != parley.MaxThreadLimit || strings.Contains(inbox.body, `data-thread="`+oldest+`"`) {
		t.Fatalf("the inbox's first page lists %d chats", n)
	}
	older := regexp.MustCompile(`<a href="(/\?chats=[^"]+)">Older chats</a>`).FindStringSubmatch(inbox.body)
	if older == nil || strings.Contains(inbox.body, "Newest chats") {
		t.Fatalf("the first page has no link to older chats")
	}
	page := b.get(html.UnescapeString(older[1]))
	if page.status != http.StatusOK || strings.Count(page.body, `data-thread="`) != 1 || !strings.Contains(page.body, `data-thread="`+oldest+`"`) {
		t.Fatalf("the page of older chats: %d\n%s", page.status, page.body)
	}
	if strings.Contains(page.body, "Older chats") || !strings.Contains(page.body, `<a href="/">Newest chats</a>`) {
		t.Errorf("the last page's links:\n%s", page.body)
	}
	// What the script fetches to refresh the list stays on its page.
	part := b.get("/parts/inbox?chats=" + url.QueryEscape(html.UnescapeString(strings.TrimPrefix(older[1], "/?chats="))))
	if !strings.Contains(part.body, `data-thread="`+oldest+`"`) || strings.Contains(part.body, `data-thread="`+newest+`"`) {
		t.Errorf("the refreshed page of older chats:\n%s", part.body)
	}
}

// Signing in again in a browser that is signed in ends the session it
// held: its cookie is replaced, and nothing should hold that session on.
func TestMessenger_SigningInAgainEndsTheSessionReplaced(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	b := newScriptless(t, env.URL)
	inbox := b.signIn("alice")
	base, _ := url.Parse(env.URL)
	var old string
	for _, c := range b.http.Jar.Cookies(base) {
		if c.Name == "parley_session" {
			old = c.Value
		}
	}
	again := b.post(inbox, "/sign-in", url.Values{"username": {"bob"}, "password": {apptest.Password("bob")}})
	if again.url.Path != "/" || !strings.Contains(again.body, "@bob") {
		t.Fatalf("signing in as bob ends at %s", again.url)
	}
	if _, err := env.Client.WithToken(old).Me(context.Background()); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("alice's replaced session: %v, want 401", err)
	}
}

// While registration is closed, the sign-in page offers no account, and
// the sign-up page says it is closed before anyone fills a form in.
func TestMessenger_RegistrationClosedOffersNoAccount(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.Registration = config.RegistrationClosed })
	b := newScriptless(t, env.URL)
	if p := b.get("/sign-in"); p.status != http.StatusOK || strings.Contains(p.body, `href="/sign-up"`) {
		t.Errorf("the sign-in page of a closed server: %d, offering an account:\n%s", p.status, p.body)
	}
	p := b.get("/sign-up")
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "Registration is closed on this server") || strings.Contains(p.body, "<form") {
		t.Errorf("the sign-up page of a closed server: %d\n%s", p.status, p.body)
	}
}

// The session cookie lasts as long as the session, as --session-ttl sets
// it, not a fixed month.
func TestMessenger_SessionCookieLastsAsLongAsTheSession(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.SessionTTL = 2 * time.Hour })
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	signIn := b.get("/sign-in")
	noFollow := &http.Client{Jar: b.http.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.PostForm(env.URL+"/sign-in", url.Values{"csrf": {csrfOf(t, signIn.body)}, "username": {"alice"}, "password": {apptest.Password("alice")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			session = c
		}
	}
	if session == nil || session.MaxAge != int((2*time.Hour).Seconds()) {
		t.Errorf("the session cookie after signing in: %v, want Max-Age=7200", session)
	}
}

// A member who opens a link to a chat while signed out comes back to it
// once signed in; a next that leads off the site, or to the provider's
// endpoints, which answer at an app's redirect URI, leads to the inbox.
func TestMessenger_SignInGoesBackToTheLink(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	apptest.MustFriends(t, alice, env.MustMember(t, "bob"))
	th := apptest.MustThread(t, alice, "bob")
	b := newScriptless(t, env.URL)
	signIn := b.get("/t/" + th.ID + "?before=5")
	if signIn.url.Path != "/sign-in" || signIn.url.Query().Get("next") != "/t/"+th.ID+"?before=5" {
		t.Fatalf("the chat's link, signed out, leads to %s", signIn.url)
	}
	p := b.post(signIn, "/sign-in", url.Values{"next": {regexpFind(t, signIn.body, `name="next" value="([^"]+)"`)}, "username": {"alice"}, "password": {"wrong"}})
	if !strings.Contains(p.body, `name="next"`) {
		t.Fatalf("the sign-in page, after a wrong password, forgot where to go:\n%s", p.body)
	}
	p = b.post(p, "/sign-in", url.Values{"next": {regexpFind(t, p.body, `name="next" value="([^"]+)"`)}, "username": {"alice"}, "password": {apptest.Password("alice")}})
	if p.url.RequestURI() != "/t/"+th.ID+"?before=5" || p.status != http.StatusOK {
		t.Errorf("signing in from the chat's link ends at %d %s", p.status, p.url)
	}

	noFollow := &http.Client{Jar: b.http.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, next := range []string{"//evil.example/", "/\\evil.example/", "https://evil.example/", "/\t/evil.example/", "evil.example",
		// A share link, which leads to the card's site.
		"/s/token", "/t/../s/token", "/%73/token",
		// The provider's paths, which answer at an app's redirect URI,
		// any site a member registered.
		"/oauth2/authorize?client_id=pc_x&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code",
		"/%6fauth2/authorize?client_id=pc_x", "/t/../oauth2/authorize?client_id=pc_x", "/oauth2/login/../authorize?client_id=pc_x",
		"/oauth2/authorize/callback?id=x", "/oauth2/consent?id=x"} {
		t.Run("OffSite", func(t *testing.T) {
			// Signed in already, and signing in.
			resp, err := noFollow.Get(env.URL + "/sign-in?next=" + url.QueryEscape(next))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Location"); got != "/" {
				t.Errorf("/sign-in?next=%q, signed in, leads to %q, want /", next, got)
			}
			inbox := b.get("/")
			resp, err = noFollow.PostForm(env.URL+"/sign-in", url.Values{"csrf": {csrfOf(t, inbox.body)}, "next": {next}, "username": {"alice"}, "password": {apptest.Password("alice")}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != "/" {
				t.Errorf("signing in with next=%q: %d to %q, want /", next, resp.StatusCode, got)
			}
		})
	}
}

// A member whose session ended, with two tabs sent to the sign-in page,
// signs in on one, then on the other: the second, whose form was shown
// before the first signed in, goes on where it was going rather than being
// refused as expired. A messenger's form that did expire says to reload
// the page, as there is no app to go back to.
func TestMessenger_SignInOnASecondTabGoesOn(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	tabA := b.get("/sign-in?done=ended&next=%2Ffriends")
	tabB := b.get("/sign-in?done=ended&next=%2Fsearch")
	signIn := func(tab *page, next string) *page {
		return b.post(tab, "/sign-in", url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}, "next": {next}})
	}
	if p := signIn(tabA, "/friends"); p.status != http.StatusOK || p.url.Path != "/friends" {
		t.Fatalf("signing in on the first tab: %d at %s", p.status, p.url)
	}
	if p := signIn(tabB, "/search"); p.status != http.StatusOK || p.url.Path != "/search" {
		t.Errorf("signing in on the second tab: %d at %s, want 200 at /search:\n%s", p.status, p.url, p.body)
	}
	expired := b.post(nil, "/friends", url.Values{"csrf": {"expired"}, "username": {"bob"}})
	if expired.status != http.StatusForbidden || !strings.Contains(expired.body, "Reload the page and try again.") || strings.Contains(expired.body, "Go back to the app") {
		t.Errorf("an expired form of the messenger: %d\n%s", expired.status, expired.body)
	}
}

// Bob, whom alice blocked, is not told by his page when she opens their
// conversation: no "Seen by" crosses a block, as no typing does.
func TestMessenger_NoReadMarkerCrossesABlock(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, bob, "alice")
	apptest.MustSend(t, bob, th.ID, "you there?")
	apptest.MustSend(t, bob, th.ID, "answer me")
	if _, err := alice.Block(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("bob")
	if seen := b.get("/t/" + th.ID + "/seen"); strings.Contains(seen.body, "Seen by") {
		t.Fatalf("before alice opens it, bob's page already says %s", seen.body)
	}

	// Alice, who blocked bob, opens the conversation later: it reads it.
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	a.get("/t/" + th.ID)

	if seen := b.get("/t/" + th.ID + "/seen"); strings.Contains(seen.body, "Seen by") {
		t.Errorf("bob, whom alice blocked, learns when she opens their conversation: %s", seen.body)
	}
}

// The page to start a chat, refused, shows again with why and with what
// the member typed and ticked, as the friends page, sign-up and the
// account page keep theirs.
func TestMessenger_NewChatKeepsWhatWasTypedOnError(t *testing.T) {
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	a := newScriptless(t, env.URL)
	a.signIn("alice")

	form := a.get("/new")
	refused := a.post(form, "/new", url.Values{"title": {"Film club on Friday"}, "key": {regexpFind(t, form.body, `name="key" value="([^"]+)"`)}})
	if refused.status != http.StatusUnprocessableEntity && refused.status != http.StatusBadRequest {
		t.Fatalf("a group with no one in it: %d at %s", refused.status, refused.url)
	}
	if !strings.Contains(refused.body, `class="error"`) {
		t.Fatalf("the refused page does not say why:\n%s", refused.body)
	}
	if !strings.Contains(refused.body, `value="Film club on Friday"`) {
		t.Errorf("the group name the member typed is gone from the page that says why it was refused")
	}

	// Ticked friends too: Carol stops being Alice's friend while Alice
	// fills the form in; the page says so, and Bob stays ticked.
	form = a.get("/new")
	if err := carol.RemoveFriend(t.Context(), apptest.MustMe(t, alice).ID); err != nil {
		t.Fatal(err)
	}
	refused = a.post(form, "/new", url.Values{"title": {"Film club on Friday"}, "username": {"bob", "carol"}, "key": {regexpFind(t, form.body, `name="key" value="([^"]+)"`)}})
	if !strings.Contains(refused.body, `class="error"`) {
		t.Fatalf("a chat with a friend no more was not refused: %d %s", refused.status, refused.url)
	}
	if !strings.Contains(refused.body, `value="bob" checked`) {
		t.Errorf("bob, ticked, is no longer ticked on the page that says why the chat was refused")
	}
	if !strings.Contains(refused.body, `value="Film club on Friday"`) {
		t.Errorf("the group name the member typed is gone from the page that says why it was refused")
	}
}

// A sign-in form shown before the browser signed in as alice, in another
// tab, and posted as bob (a shared computer) is refused as expired, to be
// reloaded: it does not go on as alice, bob's password unread.
func TestMessenger_AnOlderTabSigningInAsAnotherMemberIsRefused(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	b := newScriptless(t, env.URL)
	tabA := b.get("/sign-in?next=%2Ffriends")
	tabB := b.get("/sign-in?next=%2Ffriends")
	if p := b.post(tabA, "/sign-in", url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}, "next": {"/friends"}}); p.status != http.StatusOK {
		t.Fatalf("alice signs in: %d", p.status)
	}
	p := b.post(tabB, "/sign-in", url.Values{"username": {"bob"}, "password": {apptest.Password("bob")}, "next": {"/friends"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "Reload the page and try again") {
		t.Errorf("bob's sign-in on the older tab: %d at %s; want 403, Form expired:\n%s", p.status, p.url, p.body)
	}
}
