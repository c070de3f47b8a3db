package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/httpapi"
)

// inboxThreads is how many threads the benchmarked inbox lists.
const inboxThreads = 51

// memberWithThreads starts a server with a member, alice, in inboxThreads
// threads, each with a few messages: direct chats with 26 friends and
// untitled groups of two of them, named by their members, as most inboxes
// are. It returns alice's session token.
func memberWithThreads(tb testing.TB) (*apptest.Env, string) {
	env := apptest.Start(tb, func(c *config.Config) {
		c.SignUpsPerAddress, c.RateLimitMember, c.RateLimitMemberBurst = 100, 10000, 10000
	})
	alice := env.MustMember(tb, "alice")
	const friends = 26
	names := make([]string, friends)
	for i := range friends {
		names[i] = fmt.Sprintf("friend%02d", i)
		apptest.MustFriends(tb, alice, env.MustMember(tb, names[i]))
	}
	var threads []*client.ThreadSummary
	for i := range friends {
		threads = append(threads, apptest.MustThread(tb, alice, names[i]))
	}
	for i := 0; len(threads) < inboxThreads; i++ {
		threads = append(threads, apptest.MustThread(tb, alice, names[i], names[(i+1)%friends]))
	}
	for i, th := range threads {
		for j := range 3 {
			apptest.MustSend(tb, alice, th.ID, fmt.Sprintf("message %d in thread %d", j, i))
		}
	}
	s, err := env.Client.SignIn(context.Background(), "alice", apptest.Password("alice"))
	if err != nil {
		tb.Fatal(err)
	}
	return env, s.Token
}

// getInbox fetches the inbox page as alice's browser does and returns it.
func getInbox(tb testing.TB, url, session string) string {
	req, _ := http.NewRequest(http.MethodGet, url+"/", nil)
	req.AddCookie(&http.Cookie{Name: httpapi.SessionCookie, Value: session})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("inbox: %d, %v", resp.StatusCode, err)
	}
	return string(body)
}

// BenchmarkInboxPage renders the inbox page of a member with 51 threads,
// over loopback HTTP: the time per page is the server's time plus one
// loopback round trip. The budget is 30 ms (issue 16); bench/README.md
// holds the figures.
func BenchmarkInboxPage(b *testing.B) {
	env, session := memberWithThreads(b)
	if page := getInbox(b, env.URL, session); strings.Count(page, "data-thread=") != inboxThreads {
		b.Fatalf("the inbox lists %d threads, want %d", strings.Count(page, "data-thread="), inboxThreads)
	}
	for b.Loop() {
		getInbox(b, env.URL, session)
	}
}

// firstLoadBudget is the most a first load of the messenger may transfer
// (issue 16).
const firstLoadBudget = 150 << 10

// assetRefs finds the stylesheets and scripts a page loads.
var assetRefs = regexp.MustCompile(`<(?:link rel="stylesheet" href|script[^>]* src)="([^"]+)"`)

// The first load of the messenger, the inbox of a member with 51 threads
// with every stylesheet and script it loads, transfers at most 150 KB.
func TestMessenger_FirstLoadSize(t *testing.T) {
	env, session := memberWithThreads(t)
	page := getInbox(t, env.URL, session)
	total := len(page)
	refs := assetRefs.FindAllStringSubmatch(page, -1)
	if len(refs) < 2 {
		t.Fatalf("the inbox loads %d stylesheets and scripts; want the messenger's css and js", len(refs))
	}
	for _, ref := range refs {
		resp, err := http.Get(env.URL + ref[1])
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d, %v", ref[1], resp.StatusCode, err)
		}
		total += len(body)
		t.Logf("%s: %d bytes", ref[1], len(body))
	}
	t.Logf("first load: %d bytes (HTML %d), budget %d", total, len(page), firstLoadBudget)
	if total > firstLoadBudget {
		t.Errorf("the first load transfers %d bytes, over the budget of %d", total, firstLoadBudget)
	}
}
