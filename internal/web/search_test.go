package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_Search, without a script: the inbox's field asks for the
// search page, which lists the messages of the member's chats holding the
// text, newest first, with the chat's name, who sent it and the words
// around it, escaped, each leading to the message in its chat; older ones
// a page on. Not the messages of a chat the member is not in. Nothing
// found, nothing asked and a text too long each say so.
func TestMessenger_Search(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, bob, carol)
	withBob := apptest.MustThread(t, alice, "bob")
	bobCarol := apptest.MustThread(t, bob, "carol")
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: "Team <lunch>", Kind: client.ThreadGroup})
	if err != nil {
		t.Fatal(err)
	}
	asked := apptest.MustSend(t, alice, withBob.ID, "Lunch on <b>Friday</b>?")
	apptest.MustSend(t, bob, withBob.ID, "dinner is better")
	apptest.MustSend(t, bob, bobCarol.ID, "a lunch alice must not find")
	answered := apptest.MustSend(t, bob, group.ID, strings.Repeat("blah ", 30)+"we could have LUNCH at noon")

	b := newScriptless(t, env.URL)
	b.signIn("alice")
	if p := b.get("/"); !strings.Contains(p.body, `<form class="search" role="search" method="get" action="/search">`) || !strings.Contains(p.body, `name="q"`) {
		t.Fatalf("the inbox has no search field:\n%s", p.body)
	}

	p := b.get("/search")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Look for words in the messages of all your chats.") || strings.Contains(p.body, `class="results"`) {
		t.Fatalf("/search without a text: %d\n%s", p.status, p.body)
	}
	if n := strings.Count(p.body, `role="search"`); n != 1 {
		t.Errorf("the search page has %d search fields, want its own alone", n)
	}

	p = b.get("/search?q=" + url.QueryEscape(" lunch "))
	if p.status != http.StatusOK {
		t.Fatalf("/search?q=lunch: %d", p.status)
	}
	results := resultsOf(t, p.body)
	if len(results) != 2 {
		t.Fatalf("found %d messages, want alice's and bob's in her chats:\n%s", len(results), p.body)
	}
	for i, want := range []struct {
		href, chat, who, said string
	}{
		{fmt.Sprintf("/t/%s?before=%d#m%d", group.ID, answered.Seq+11, answered.Seq), "Team &lt;lunch&gt;", "Member bob:", "…blah blah blah blah blah we could have <mark>LUNCH</mark> at noon"},
		{fmt.Sprintf("/t/%s?before=%d#m%d", withBob.ID, asked.Seq+11, asked.Seq), "Member bob", "You:", "<mark>Lunch</mark> on &lt;b&gt;Friday&lt;/b&gt;?"},
	} {
		r := results[i]
		if r.href != html.EscapeString(want.href) || r.chat != want.chat || r.who != want.who || r.said != want.said {
			t.Errorf("result %d = %+v, want %+v", i, r, want)
		}
	}
	if strings.Contains(p.body, "must not find") {
		t.Error("alice found a message of a chat she is not in")
	}
	if !strings.Contains(p.body, `value=" lunch "`) {
		t.Error("the page's field does not hold the text looked for")
	}
	if p := b.get(html.UnescapeString(results[1].href)); p.status != http.StatusOK || !strings.Contains(p.body, fmt.Sprintf(`id="m%d"`, asked.Seq)) {
		t.Errorf("the result's link: %d, without the message", p.status)
	}

	// Older results a page on.
	for i := range parley.DefaultSearchLimit {
		apptest.MustSend(t, alice, withBob.ID, fmt.Sprintf("more lunch %d", i))
	}
	p = b.get("/search?q=lunch")
	if n := len(resultsOf(t, p.body)); n != parley.DefaultSearchLimit {
		t.Fatalf("the first page holds %d results, want %d", n, parley.DefaultSearchLimit)
	}
	older := regexp.MustCompile(`<a href="(/search\?[^"]+)">Older messages</a>`).FindStringSubmatch(p.body)
	if older == nil {
		t.Fatalf("no link to older results:\n%s", p.body)
	}
	p = b.get(html.UnescapeString(older[1]))
	if got := resultsOf(t, p.body); len(got) != 2 || !strings.Contains(got[0].said, "at noon") || strings.Contains(p.body, "Older messages") {
		t.Fatalf("the older page holds %+v, want the two first found", got)
	}

	// A chat past the inbox's first page is named as the inbox would.
	apptest.MustFriends(t, alice, carol)
	old := apptest.MustThread(t, alice, "carol")
	apptest.MustSend(t, carol, old.ID, "an ancient lunch")
	for i := range parley.MaxThreadLimit {
		if _, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob"}, Title: fmt.Sprintf("Group %d", i), Kind: client.ThreadGroup}); err != nil {
			t.Fatal(err)
		}
	}
	p = b.get("/search?q=ancient")
	if got := resultsOf(t, p.body); len(got) != 1 || got[0].chat != "Member carol" || strings.Contains(p.body, `data-thread="`+old.ID+`"`) {
		t.Errorf("a chat past the inbox's first page: %+v", got)
	}

	if p := b.get("/search?q=supper"); !strings.Contains(p.body, "No messages with “supper”.") {
		t.Errorf("nothing found says:\n%s", p.body)
	}
	if p := b.get("/search?q=" + strings.Repeat("x", parley.MaxSearchLen+1)); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Type what to look for: up to 100 characters.") || !strings.Contains(p.body, `role="search"`) {
		t.Errorf("a text too long: %d\n%s", p.status, p.body)
	}
	if p := b.get("/search?q=lunch&cursor=not-one-it-gave"); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "These results can no longer be paged through: search again.") || !strings.Contains(p.body, `role="search"`) {
		t.Errorf("a page of results it did not give: %d\n%s", p.status, p.body)
	}
	if p := newScriptless(t, env.URL).get("/search?q=lunch"); p.url.Path != "/sign-in" {
		t.Errorf("/search to no one ends at %s, want the sign-in page", p.url)
	}
}

// result is a search result as the page shows it.
type result struct{ href, chat, who, said string }

var resultRE = regexp.MustCompile(`<li><a href="([^"]+)">\n<span class="line"><span class="tname" dir="auto">([^<]*)</span><time[^>]*>[^<]*</time></span>\n<span class="said"><span class="who" dir="auto">([^<]*)</span> <bdi>(.*)</bdi></span>\n</a></li>`)

// resultsOf returns the search results of a page, in order.
func resultsOf(t *testing.T, body string) []result {
	t.Helper()
	var found []result
	for _, m := range resultRE.FindAllStringSubmatch(body, -1) {
		found = append(found, result{href: m[1], chat: m[2], who: m[3], said: m[4]})
	}
	return found
}
