package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// A thread's page shows which apps can read it, through whose grant, and
// a notice for each app that came to reach it and each closing and
// reopening, to every participant, stored so that a reload shows them; any
// participant can close it to apps, and only those who closed it reopen it.
// App names are text.
func TestThreadApps_NoticesAndSwitch(t *testing.T) {
	env := apptest.Start(t)
	alice, bobAPI := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bobAPI)
	th := apptest.MustThread(t, alice, "bob").ID
	apptest.MustSend(t, alice, th, "hello")
	sneaky := env.MustPartner(t, xssScript, func(a *service.NewApp) { a.Purpose = xssImg })
	env.MustToken(t, sneaky, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{th}})

	a, b := newScriptless(t, env.URL), newScriptless(t, env.URL)
	a.signIn("alice")
	b.signIn("bob")
	const name = `&lt;script&gt;alert(1)&lt;/script&gt;`
	bobs := b.get("/t/" + th)
	for _, want := range []string{
		name + ` can now read this chat through Member alice&#39;s connection.`,
		`<span class="app" data-client="` + sneaky.App.ClientID + `">` + name + ` (reads messages), through Member alice&#39;s connection</span>`,
		`<input type="hidden" name="allowed" value="false">`,
		`>Keep apps out</button>`,
	} {
		if !strings.Contains(bobs.body, want) {
			t.Errorf("bob's thread page lacks %s:\n%s", want, section(bobs.body))
		}
	}
	if strings.Contains(bobs.body, "<script>alert") {
		t.Error("the app's name reached the page unescaped")
	}
	if alices := a.get("/t/" + th); !strings.Contains(alices.body, name+` can now read this chat through your connection.`) {
		t.Errorf("alice's thread page:\n%s", section(alices.body))
	}

	closed := b.post(bobs, "/t/"+th+"/apps", url.Values{"allowed": {"false"}})
	for _, want := range []string{"You closed this chat to apps.", "Closed to apps by you: no app can read this chat.", ">Let apps in again</button>"} {
		if closed.url.Path != "/t/"+th || !strings.Contains(closed.body, want) {
			t.Errorf("after closing, bob's page (%s) lacks %q:\n%s", closed.url, want, section(closed.body))
		}
	}
	alices := a.get("/t/" + th)
	for _, want := range []string{"Member bob closed this chat to apps.", "Closed to apps by Member bob", "Only Member bob can reopen it."} {
		if !strings.Contains(alices.body, want) {
			t.Errorf("after bob closed it, alice's page lacks %q:\n%s", want, section(alices.body))
		}
	}
	if strings.Contains(alices.body, `name="allowed" value="true"`) {
		t.Error("alice is offered to reopen what bob closed")
	}
	if p := a.post(alices, "/t/"+th+"/apps", url.Values{"allowed": {"true"}}); p.status != http.StatusForbidden || !strings.Contains(p.body, "only they can reopen it") {
		t.Errorf("alice reopening bob's closing: %d\n%s", p.status, p.body)
	}
	if p := b.post(closed, "/t/"+th+"/apps", url.Values{"allowed": {"maybe"}}); p.status != http.StatusBadRequest {
		t.Errorf("allowed=maybe: %d", p.status)
	}
	// Someone outside the thread neither sees nor changes it.
	env.MustMember(t, "carol")
	c := newScriptless(t, env.URL)
	home := c.signIn("carol")
	if p := c.get("/t/" + th + "/apps"); p.status != http.StatusNotFound || strings.Contains(p.body, "alert(1)") {
		t.Errorf("carol reading the apps of a thread she is not in: %d", p.status)
	}
	if p := c.post(home, "/t/"+th+"/apps", url.Values{"allowed": {"true"}}); p.status != http.StatusNotFound {
		t.Errorf("carol reopening a thread she is not in: %d", p.status)
	}
	if p := b.get("/t/" + th); strings.Contains(p.body, "reopened") {
		t.Errorf("a refused reopening left a notice:\n%s", section(p.body))
	}

	// An app let in while the thread is closed reaches nothing of it yet:
	// no notice says it can read it.
	tunes := env.MustPartner(t, "Tunes")
	env.MustToken(t, tunes, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{th}})
	if p := b.get("/t/" + th); strings.Contains(p.body, "Tunes can now") {
		t.Errorf("a notice for an app let into a closed thread:\n%s", section(p.body))
	}

	reopened := b.post(b.get("/t/"+th), "/t/"+th+"/apps", url.Values{"allowed": {"true"}})
	if !strings.Contains(reopened.body, "You stopped keeping this chat closed to apps.") || !strings.Contains(reopened.body, "Tunes (reads messages), through Member alice&#39;s connection") {
		t.Errorf("after reopening, bob's page:\n%s", section(reopened.body))
	}
	if p := a.get("/t/" + th); !strings.Contains(p.body, "Member bob stopped keeping this chat closed to apps.") {
		t.Errorf("after bob reopened it, alice's page:\n%s", section(p.body))
	}

	// The page keeps the latest notices: the oldest gives way.
	b.post(reopened, "/t/"+th+"/apps", url.Values{"allowed": {"false"}})
	part := b.get("/t/" + th + "/apps")
	if n := strings.Count(part.body, `class="tnotice"`); n != parley.ThreadNoticeLimit || strings.Contains(part.body, "can now read") {
		t.Errorf("the apps part shows %d notices, want the latest %d, without the first:\n%s", n, parley.ThreadNoticeLimit, part.body)
	}
}

// A member who closed a thread to apps and leaves it reopens it, as far
// as their closing went (their log and everyone's say so): the thread's
// page says so too, in a notice like that of a reopening by the switch,
// rather than leave the closing as the last word on a thread apps read
// again.
func TestThreadApps_CloserLeavingIsAReopening(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bobAPI, carolAPI := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bobAPI)
	apptest.MustFriends(t, alice, carolAPI)
	group := apptest.MustThread(t, alice, "bob", "carol").ID
	if _, err := carolAPI.SetThreadAppAccess(ctx, group, false); err != nil {
		t.Fatal(err)
	}
	// Her page tells her before she leaves; alice's, who keeps it open,
	// does not.
	warning := "You keep this chat closed to apps: once you leave, the others’ apps may read it"
	c, a := newScriptless(t, env.URL), newScriptless(t, env.URL)
	c.signIn("carol")
	a.signIn("alice")
	for _, part := range []string{"/t/" + group, "/t/" + group + "/head"} {
		if p := c.get(part); !strings.Contains(p.body, warning) {
			t.Errorf("carol's %s, before she leaves, does not warn her that leaving lets apps in", part)
		}
		if p := a.get(part); strings.Contains(p.body, warning) {
			t.Errorf("alice's %s warns her that leaving lets apps in, though she keeps nothing closed", part)
		}
	}
	if err := carolAPI.LeaveThread(ctx, group); err != nil {
		t.Fatal(err)
	}
	p := a.get("/t/" + group)
	if !strings.Contains(p.body, "Member carol stopped keeping this chat closed to apps.") || strings.Contains(p.body, "Closed to apps by") {
		t.Errorf("after carol, who closed the thread to apps, left it, alice's page:\n%s", section(p.body))
	}
}

// One of two members who closed a thread to apps withdrawing their closing
// leaves it closed: the notice says what they did, not that the thread is
// open again, beside who still keeps it closed.
func TestThreadApps_OneOfTwoClosersWithdrawing(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bobAPI, carolAPI := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bobAPI)
	apptest.MustFriends(t, alice, carolAPI)
	group := apptest.MustThread(t, alice, "bob", "carol").ID
	for _, c := range []*client.Client{bobAPI, carolAPI} {
		if _, err := c.SetThreadAppAccess(ctx, group, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bobAPI.SetThreadAppAccess(ctx, group, true); err != nil {
		t.Fatal(err)
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	p := a.get("/t/" + group)
	if !strings.Contains(p.body, "Member bob stopped keeping this chat closed to apps.") || strings.Contains(p.body, "reopened this") ||
		!strings.Contains(p.body, "Closed to apps by") {
		t.Errorf("after bob withdrew his closing and carol kept hers, alice's page:\n%s", section(p.body))
	}
	if log := a.get("/account/access-log").body; !strings.Contains(log, "Member bob stopped keeping your conversation with") || strings.Contains(log, "reopened your") {
		t.Errorf("alice's access log after bob withdrew his closing:\n%s", log)
	}
}

// A grant that reaches all conversations is a notice in each of the
// member's threads, and in each thread they come into later; one without
// messages.read says the app sees the conversation but not its messages,
// and one with messages.write that it may post as its member. A share into
// a thread is a notice too.
func TestThreadApps_EveryWayIn(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bobAPI, carolAPI := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bobAPI)
	apptest.MustFriends(t, alice, carolAPI)
	withBob, withCarol := apptest.MustThread(t, alice, "bob").ID, apptest.MustThread(t, alice, "carol").ID
	everything := env.MustPartner(t, "Everything")
	if _, err := env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), everything.App.ClientID); err != nil {
		t.Fatal(err)
	}
	env.MustToken(t, everything, "alice", []string{"openid", "threads.read"}, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
	sharer := env.MustPartner(t, "Sharer")
	tok := env.MustToken(t, sharer, "carol", []string{"openid", "shares.write"}, apptest.Answer{})
	if _, err := env.Client.WithToken(tok.AccessToken).Share(ctx, client.NewShare{To: "alice", URL: "https://films.example/1", Title: "A film"}); err != nil {
		t.Fatal(err)
	}

	b, c := newScriptless(t, env.URL), newScriptless(t, env.URL)
	b.signIn("bob")
	c.signIn("carol")
	if p := b.get("/t/" + withBob); !strings.Contains(p.body, "Everything can now see this chat, but not its messages, through Member alice&#39;s connection.") {
		t.Errorf("bob's thread with alice after alice's grant reaching all:\n%s", section(p.body))
	}
	poster := env.MustPartner(t, "Poster")
	env.MustToken(t, poster, "carol", []string{"openid", "messages.read", "messages.write"}, apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{withCarol}})
	p := c.get("/t/" + withCarol)
	for _, want := range []string{"Everything can now see this chat", "Sharer can now post links in this chat as you through your connection.",
		"Poster can now read this chat and post in it as you, through your connection.",
		"Poster (reads messages, posts as you), through your connection", "Sharer (sees the conversation, not its messages, posts links as you), through your connection"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("carol's thread with alice lacks %q:\n%s", want, section(p.body))
		}
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	if p := a.get("/t/" + withCarol); !strings.Contains(p.body, "Poster (reads messages, posts as Member carol), through Member carol&#39;s connection") {
		t.Errorf("alice's thread with carol:\n%s", section(p.body))
	}

	// Threads alice comes into later are reached too, and say so: one
	// she starts, and a group she is added to.
	started := apptest.MustThread(t, alice, "bob", "carol").ID
	if p := b.get("/t/" + started); !strings.Contains(p.body, "Everything can now see this chat") {
		t.Errorf("a group alice started:\n%s", section(p.body))
	}
	apptest.MustFriends(t, bobAPI, carolAPI)
	group, err := bobAPI.CreateThread(ctx, client.NewThread{Participants: []string{"carol"}, Kind: "group", Title: "Films"})
	if err != nil {
		t.Fatal(err)
	}
	if p := b.get("/t/" + group.ID); strings.Contains(p.body, "can now") {
		t.Errorf("a notice before alice is in the group:\n%s", section(p.body))
	}
	if _, err := bobAPI.AddParticipant(ctx, group.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if p := b.get("/t/" + group.ID); !strings.Contains(p.body, "Everything can now see this chat, but not its messages, through Member alice&#39;s connection.") {
		t.Errorf("the group after bob added alice:\n%s", section(p.body))
	}
}

// The consent page of an app whose developer deleted their account says
// it was registered by a deleted account, and names it by no username.
func TestConsentPage_AppOfADeletedDeveloper(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	dev := env.MustMember(t, "zorblax")
	films := env.MustPartnerOf(t, "Films", "zorblax")
	if err := dev.DeleteAccount(context.Background(), apptest.Password("zorblax")); err != nil {
		t.Fatal(err)
	}
	cfg := *films.Config
	cfg.Scopes = []string{"openid"}
	br := apptest.NewBrowser()
	page := br.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	page = br.Submit(t, page, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	if page.URL.Path != "/oauth2/consent" {
		t.Fatalf("not at the consent page: %s\n%s", page.URL, page.Body)
	}
	if want := "Registered by a member of this server whose account has since been deleted."; !strings.Contains(page.Body, want) || strings.Contains(page.Body, "zorblax") {
		t.Errorf("the consent page of a deleted developer's app lacks %q or names them:\n%s", want, page.Body)
	}
}

// The consent page says who asks, what for and where it lives, each scope
// in plain words with a box to untick (openid's fixed), the member's
// conversations with their last activity, and reach "all" only for a
// reviewed app, worded as the serious thing it is. All of it as text.
func TestConsentPage_SaysWhatItGrants(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	apptest.MustThread(t, alice, "bob")
	env.MustMember(t, "dev")
	sneaky := env.MustPartnerOf(t, xssScript, "dev", func(a *service.NewApp) {
		a.Purpose, a.Homepage = xssImg, "https://films.example/about"
	})
	consent := func(t *testing.T, p *apptest.Partner) string {
		cfg := *p.Config
		cfg.Scopes = []string{"openid", "profile", "messages.read"}
		br := apptest.NewBrowser()
		page := br.Get(t, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		page = br.Submit(t, page, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
		if page.URL.Path != "/oauth2/consent" {
			t.Fatalf("not at the consent page: %s\n%s", page.URL, page.Body)
		}
		return page.Body
	}
	body := consent(t, sneaky)
	for _, want := range []string{
		`<strong><bdi>&lt;script&gt;alert(1)&lt;/script&gt;</bdi></strong> asks to use your Parley account.`,
		`Registered by <strong>@dev</strong> <span class="note">(who shows as <bdi>Member dev</bdi>)</span>, a member of this server.`,
		`<blockquote class="purpose">&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</blockquote>`,
		`<a href="https://films.example/about" rel="noopener noreferrer" target="_blank">https://films.example/about</a>`,
		`<input type="hidden" name="scope" value="openid">`,
		`<input type="checkbox" checked disabled> Know that it is you who signed in`,
		`<input type="checkbox" name="scope" value="profile" checked> See your username and display name`,
		`<input type="checkbox" name="scope" value="messages.read" checked> Read messages in your conversations`,
		`Member bob <span class="note">· last active `,
		`<input type="radio" name="expiry" value="30d" checked> 30 days`,
		`<button type="submit" name="action" value="approve">Approve</button>`,
		`<button type="submit" name="action" value="deny">Deny</button>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the consent page lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, `value="all"`) || strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
		t.Errorf("an unreviewed app is offered all conversations, or markup reached the page:\n%s", body)
	}

	reviewed := env.MustPartner(t, "Reviewed")
	if _, err := env.Server.Service.ApproveAllThreads(service.ConsoleContext(context.Background()), reviewed.App.ClientID); err != nil {
		t.Fatal(err)
	}
	body = consent(t, reviewed)
	for _, want := range []string{`value="all" aria-describedby="all-warning"> All my conversations, now and in the future`,
		"including everything your friends wrote to you, who did not choose this app", "Registered by this server's operators."} {
		if !strings.Contains(body, want) {
			t.Errorf("a reviewed app's consent page lacks %q:\n%s", want, body)
		}
	}
}

// section returns the thread page's apps section, for failure messages.
func section(body string) string {
	_, rest, ok := strings.Cut(body, `<section id="thread-apps"`)
	if !ok {
		return body
	}
	s, _, _ := strings.Cut(rest, "</section>")
	return s
}

// What an app may do in a conversation is told to its other members in
// full, in the notice and in the list of apps that reach it: posting as
// the member without reading, deleting the member's messages, seeing who
// is in it.
func TestThreadApps_EveryPowerTold(t *testing.T) {
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob").ID
	reach := apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{th}}
	env.MustToken(t, env.MustPartner(t, "Poster"), "alice", []string{"openid", "messages.write"}, reach)
	env.MustToken(t, env.MustPartner(t, "Tidy"), "alice", []string{"openid", "messages.read", "messages.delete", "participants.read"}, reach)
	b := newScriptless(t, env.URL)
	b.signIn("bob")
	p := b.get("/t/" + th)
	for _, want := range []string{
		"Poster can now post in this chat as Member alice through Member alice&#39;s connection.",
		"Poster (sees the conversation, not its messages, posts as Member alice), through Member alice&#39;s connection",
		"Tidy can now read this chat, delete Member alice&#39;s messages in it and see who is in it, through Member alice&#39;s connection.",
		"Tidy (reads messages, deletes Member alice&#39;s messages, sees who takes part), through Member alice&#39;s connection",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("bob's thread lacks %q:\n%s", want, section(p.body))
		}
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	if p := a.get("/t/" + th); !strings.Contains(p.body, "Tidy can now read this chat, delete your messages in it and see who is in it, through your connection.") {
		t.Errorf("alice's thread:\n%s", section(p.body))
	}
}

// An app shares links into a member's conversation with a friend alone: a
// group its grant reaches is not told it may post links there.
func TestThreadApps_LinksOnlyWhereAppsShare(t *testing.T) {
	env := apptest.Start(t)
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol").ID
	direct := apptest.MustThread(t, alice, "bob").ID
	env.MustToken(t, env.MustPartner(t, "Films"), "alice", []string{"openid", "messages.read", "shares.write"},
		apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{group, direct}})
	b := newScriptless(t, env.URL)
	b.signIn("bob")
	if p := b.get("/t/" + group); strings.Contains(p.body, "links") || !strings.Contains(p.body, "Films (reads messages), through") {
		t.Errorf("bob's group:\n%s", section(p.body))
	}
	if p := b.get("/t/" + direct); !strings.Contains(p.body, "Films (reads messages, posts links as Member alice), through") {
		t.Errorf("bob's conversation with alice:\n%s", section(p.body))
	}
}

// A grant widened to do more in a conversation is told there again, in a
// notice of its own, and the first notice still says what the app could
// do when it was written; a widening to what the others are not told of
// (the member's profile) adds none. A conversation blocked when a grant
// reaching all conversations was connected, where no notice was written,
// is told of it once the block is lifted.
func TestThreadApps_WideningAndUnblockingTold(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	withBob, withCarol := apptest.MustThread(t, alice, "bob").ID, apptest.MustThread(t, alice, "carol").ID
	poster := env.MustPartner(t, "Poster")
	reach := apptest.Answer{ThreadScope: parley.ThreadScopeSelected, Threads: []string{withBob}}
	env.MustToken(t, poster, "alice", []string{"openid", "messages.write"}, reach)
	env.MustToken(t, poster, "alice", []string{"openid", "messages.write", "messages.read"}, reach)
	env.MustToken(t, poster, "alice", []string{"openid", "messages.write", "messages.read", "profile"}, reach)
	b := newScriptless(t, env.URL)
	b.signIn("bob")
	p := b.get("/t/" + withBob)
	first := "Poster can now post in this chat as Member alice through Member alice&#39;s connection."
	widened := "Poster can now read this chat and post in it as Member alice, through Member alice&#39;s connection."
	if n := strings.Count(p.body, "Poster can now"); n != 2 || !strings.Contains(p.body, first) || strings.Index(p.body, first) > strings.Index(p.body, widened) {
		t.Errorf("bob's thread after alice widened Poster's grant twice has %d notices of it, want %q then %q:\n%s", n, first, widened, section(p.body))
	}

	everything := env.MustPartner(t, "Everything")
	if _, err := env.Server.Service.ApproveAllThreads(service.ConsoleContext(ctx), everything.App.ClientID); err != nil {
		t.Fatal(err)
	}
	blocked, err := alice.Block(ctx, "carol")
	if err != nil {
		t.Fatal(err)
	}
	env.MustToken(t, everything, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: parley.ThreadScopeAll})
	c := newScriptless(t, env.URL)
	c.signIn("carol")
	if p := c.get("/t/" + withCarol); strings.Contains(p.body, "Everything can now") {
		t.Errorf("carol's chat, blocked by alice, tells her of alice's app:\n%s", section(p.body))
	}
	if err := alice.Unblock(ctx, blocked.User.ID); err != nil {
		t.Fatal(err)
	}
	if p := c.get("/t/" + withCarol); !strings.Contains(p.body, "Everything can now read this chat through Member alice&#39;s connection.") {
		t.Errorf("carol's chat, once alice lifted her block, does not tell her Everything reads it:\n%s", section(p.body))
	}
}
