package web_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/service"
)

// logLines returns the lines of an access log page, each without its time
// (but a grant's expiry, after it).
func logLines(t *testing.T, body string) []string {
	t.Helper()
	var lines []string
	for _, l := range logItems(body) {
		lines = append(lines, regexp.MustCompile(`, \d+ \w+ \d{4} \d\d:\d\d UTC($|\. )`).ReplaceAllString(l, "$1"))
	}
	return lines
}

// logItems returns the text of each line (<li>) of the access log in
// body, its times (<time>) as the page without script shows them, in UTC,
// and a grant's terms (<span class="terms">) after it.
func logItems(body string) []string {
	var items []string
	for _, m := range regexp.MustCompile(`<li>((?:[^<]|</?(?:time|span)[^>]*>)*)</li>`).FindAllStringSubmatch(body, -1) {
		items = append(items, regexp.MustCompile(`</?(?:time|span)[^>]*>`).ReplaceAllString(m[1], ""))
	}
	return items
}

// A write an app makes through one member's grant is in the log of
// everyone in the thread, and each reads whose words the app wrote, edited
// or deleted: the member who granted it is told the app wrote as them; the
// others, that it wrote as that member, never as themselves. So with a
// read of the member's friends: a friend reads that it was the member's
// list, which names them; and with reads of the thread: the others read
// through whose connection, as they connected nothing.
func TestAccessLogPage_WritesNameWhoseGrant(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	thread := apptest.MustThread(t, alice, "bob").ID
	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "messages.write", "messages.delete", "shares.write", "friends.read",
		"messages.read", "threads.read", "participants.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{thread}})
	app := env.Client.WithToken(tok.AccessToken)
	apptest.MustSend(t, bob, thread, "from bob")
	if _, err := app.Messages(ctx, thread, client.MessagesQuery{}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Thread(ctx, thread); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Participants(ctx, thread); err != nil {
		t.Fatal(err)
	}
	sent, err := app.SendMessage(ctx, thread, "from Films", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.EditMessage(ctx, sent.ID, "from Films, edited"); err != nil {
		t.Fatal(err)
	}
	if err := app.DeleteMessage(ctx, sent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/1", Title: "A film"}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Friends(ctx); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		member string
		want   []string
	}{
		{"alice", []string{
			"Films read your list of friends",
			"Films shared a link as you in your conversation with Member bob",
			"Films deleted a message of yours in your conversation with Member bob",
			"Films edited a message it sent as you in your conversation with Member bob",
			"Films sent a message as you in your conversation with Member bob",
			"Films saw who is in your conversation with Member bob",
			"Films read 1 message in your conversation with Member bob",
			"Films read the title and activity of your conversation with Member bob",
			"Films read 1 message in your conversation with Member bob",
		}},
		{"bob", []string{
			"Films read Member alice&#39;s list of friends, which names you",
			"Films shared a link as Member alice in your conversation with Member alice",
			"Films deleted a message Member alice sent in your conversation with Member alice",
			"Films edited a message it sent as Member alice in your conversation with Member alice",
			"Films sent a message as Member alice in your conversation with Member alice",
			"Films, through Member alice&#39;s connection, saw who is in your conversation with Member alice",
			"Films, through Member alice&#39;s connection, read 1 message in your conversation with Member alice",
			"Films, through Member alice&#39;s connection, read the title and activity of your conversation with Member alice",
			"Films, through Member alice&#39;s connection, read 1 message in your conversation with Member alice",
		}},
	} {
		b := newScriptless(t, env.URL)
		b.signIn(tc.member)
		lines := logLines(t, b.get("/account/access-log?app="+films.App.ClientID).body)
		if len(lines) < len(tc.want) || strings.Join(lines[:len(tc.want)], "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s's log reads:\n%s\nwant first:\n%s", tc.member, strings.Join(lines, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// An app that starts a conversation sends no message: the log says it
// started it, not that it sent a message.
func TestAccessLogPage_ThreadStartedIsNoMessage(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "messages.write"}, apptest.Answer{})
	app := env.Client.WithToken(tok.AccessToken)
	if _, err := app.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Film night", Kind: "group"}); err != nil {
		t.Fatal(err)
	}
	for member, want := range map[string]string{
		"alice": "Films started your conversation “Film night” as you",
		"bob":   "Films started your conversation “Film night” as Member alice",
	} {
		b := newScriptless(t, env.URL)
		b.signIn(member)
		if lines := logLines(t, b.get("/account/access-log?app="+films.App.ClientID).body); len(lines) == 0 || lines[0] != want {
			t.Errorf("%s's log reads %q, want first %q", member, lines, want)
		}
	}
}

// A grant an operator's decision ends (the app deleted or its reach of all
// conversations withdrawn, the member's account disabled) is not told to
// the member as their own revocation: their log says an operator ended it.
func TestAccessLogPage_OperatorsEndIsNotTheMembers(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	console := service.ConsoleContext(ctx)
	env.MustMember(t, "alice")
	deleted, unapproved, disabled := env.MustPartner(t, "Deleted"), env.MustPartner(t, "Narrowed"), env.MustPartner(t, "Stopped")
	if _, err := env.Server.Service.ApproveAllThreads(console, unapproved.App.ClientID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*apptest.Partner{deleted, unapproved, disabled} {
		answer := apptest.Answer{}
		if p == unapproved {
			answer.ThreadScope = "all"
		}
		env.MustToken(t, p, "alice", []string{"openid", "messages.read"}, answer)
	}
	if _, err := env.Server.Service.DeleteApp(console, deleted.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Service.UnapproveAllThreads(console, unapproved.App.ClientID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Service.SetDisabled(console, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Service.SetDisabled(console, "alice", false); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	lines := logLines(t, b.get("/account/access-log").body)
	want := []string{"An operator ended Stopped&#39;s access", "An operator ended Narrowed&#39;s access", "An operator ended Deleted&#39;s access"}
	if len(lines) < 3 || strings.Join(lines[:3], "\n") != strings.Join(want, "\n") {
		t.Errorf("alice's log reads:\n%s\nwant first:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// A grant that ended because the member who registered the app deleted
// it is told as that, neither as the member's revocation nor an
// operator's.
func TestAccessLogPage_DevelopersDeletionIsNotTheMembers(t *testing.T) {
	env := apptest.Start(t)
	dev := env.MustMember(t, "dev")
	env.MustMember(t, "alice")
	films := env.MustPartnerOf(t, "Films", "dev")
	env.MustToken(t, films, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	if err := dev.DeleteApp(context.Background(), films.App.ClientID); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	if lines := logLines(t, b.get("/account/access-log").body); len(lines) == 0 || lines[0] != "Films&#39;s developer deleted it, which ended its access" {
		t.Errorf("alice's log reads %q, want first that Films's developer deleted it", lines)
	}
}

// Userinfo gives an app with openid alone the member's ID, and with
// profile their username and display name too: the log says which.
func TestAccessLogPage_UserinfoSaysWhatItGave(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	for app, scopes := range map[string][]string{"IDOnly": {"openid"}, "Named": {"openid", "profile"}} {
		tok := env.MustToken(t, env.MustPartner(t, app), "alice", scopes, apptest.Answer{})
		req, err := http.NewRequest(http.MethodGet, env.URL+oauth.UserinfoPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s's userinfo: %s", app, resp.Status)
		}
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	lines := logLines(t, a.get("/account/access-log").body)
	for _, want := range []string{"IDOnly checked which Parley member you are", "Named read your username and display name"} {
		if !slices.Contains(lines, want) {
			t.Errorf("alice's log lacks %q:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

// A line that made or changed a grant says what the member agreed to, as
// the log keeps it: what the app may do, in which conversations (those
// ticked, by name), until when; a narrowing says what it took out, and
// what is left.
func TestAccessLogPage_GrantLinesSayWhatWasAgreed(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	withBob, withCarol := apptest.MustThread(t, alice, "bob").ID, apptest.MustThread(t, alice, "carol").ID
	films := env.MustPartner(t, "Films")
	env.MustToken(t, films, "alice", []string{"openid", "threads.read"},
		apptest.Answer{ThreadScope: "selected", Threads: []string{withBob, withCarol}, Expiry: "never"})
	env.MustToken(t, films, "alice", []string{"openid", "threads.read", "messages.read"}, apptest.Answer{})
	apps, err := alice.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("alice's apps: %v, %v", apps, err)
	}
	if _, err := alice.Do(ctx, "PATCH", "/api/v1/me/grants/"+apps[0].ID,
		map[string]any{"scopes": []string{"messages.read"}, "thread_ids": []string{withBob}}, nil); err != nil {
		t.Fatal(err)
	}
	notes := env.MustPartner(t, "Notes")
	env.MustToken(t, notes, "alice", []string{"openid"}, apptest.Answer{})

	b := newScriptless(t, env.URL)
	b.signIn("alice")
	lines := logLines(t, b.get("/account/access-log").body)
	until := regexp.MustCompile(`until \d+ \w+ \d{4} \d\d:\d\d UTC\.$`)
	want := []string{
		"You connected Notes. It may: know that it is you who signed in. Only in conversations Notes starts or shares into, until {30 days}.",
		"You narrowed what Films may do. You took out your conversation with Member carol. It may now: read messages in your conversations. " +
			"Only in the conversations you ticked and new ones Films starts, until you revoke it.",
		"You gave Films more access. It may now: see your conversations' titles and when they were last active; read messages in your conversations. " +
			"Only in the conversations you ticked and new ones Films starts, until you revoke it.",
		"You connected Films. It may: see your conversations' titles and when they were last active. " +
			"Only in the conversations you ticked (your conversation with Member bob, your conversation with Member carol) and new ones Films starts, until you revoke it.",
	}
	var got []string
	for _, l := range lines {
		got = append(got, until.ReplaceAllString(html.UnescapeString(l), "until {30 days}."))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("alice's log reads:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
