package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
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
