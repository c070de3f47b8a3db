package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// A member's forms spend the member's rate limit, the allowance their API
// calls spend too: the pages' forms are no way around it (reading pages,
// as a person does, spends none). A post over it is
// answered 429 with Retry-After, on the error page, and does nothing; once
// the wait is over, the member's posts go through again. Another member's
// allowance is their own.
func TestPages_FormsSpendTheMembersRateLimit(t *testing.T) {
	const burst = 10
	env := apptest.Start(t, func(c *config.Config) { c.RateLimitMember, c.RateLimitMemberBurst = 1, burst })
	env.Clock.Freeze()
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	onThread := b.get("/t/" + th.ID)
	send := func(text string) *page {
		t.Helper()
		return b.post(onThread, "/t/"+th.ID+"/messages", url.Values{"text": {text}, "key": {url.QueryEscape(text)}})
	}

	sent := 0
	var refused *page
	for i := range 2 * burst {
		if p := send("page send " + strconv.Itoa(i)); p.status == http.StatusTooManyRequests {
			refused = p
			break
		} else if p.status != http.StatusOK {
			t.Fatalf("send %d through the pages: %d", i, p.status)
		}
		sent++
	}
	if refused == nil || sent >= burst {
		t.Fatalf("%d sends through the pages went through at once, with API calls before them; want fewer than the burst, %d, then 429", sent, burst)
	}
	wait, err := strconv.Atoi(refused.header.Get("Retry-After"))
	if err != nil || wait < 1 {
		t.Errorf("the refused post's Retry-After: %q, want seconds", refused.header.Get("Retry-After"))
	}
	if _, err := alice.SendMessage(ctx, th.ID, "through the API", ""); statusOf(err) != http.StatusTooManyRequests {
		t.Errorf("alice's API send once her forms spent her allowance: %v, want 429", err)
	}
	if msgs, err := bob.Messages(ctx, th.ID, client.MessagesQuery{}); err != nil || len(msgs.Messages) != sent {
		t.Fatalf("the thread holds %d messages after %d sends went through: %v", len(msgs.Messages), sent, err)
	}

	bobs := newScriptless(t, env.URL)
	bobs.signIn("bob")
	if p := bobs.post(bobs.get("/t/"+th.ID), "/t/"+th.ID+"/messages", url.Values{"text": {"bob's own"}, "key": {"bob-1"}}); p.status != http.StatusOK {
		t.Errorf("bob's send through the pages while alice waits: %d", p.status)
	}
	env.Clock.Advance(time.Duration(wait) * time.Second)
	if p := send("after the wait"); p.status != http.StatusOK {
		t.Errorf("alice's send after Retry-After: %d", p.status)
	}
}

// A form the service refuses as too many (a wrong current password, again
// and again) says when to try again, as the API does.
func TestPages_AThrottledFormSaysWhenToTryAgain(t *testing.T) {
	env := apptest.Start(t)
	env.Clock.Freeze()
	env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	var p *page
	for range 10 {
		p = b.post(b.get("/account/data"), "/account/password", url.Values{"current": {"not it"}, "new": {"a long new password"}})
		if p.status == http.StatusTooManyRequests {
			break
		}
	}
	if p.status != http.StatusTooManyRequests {
		t.Fatalf("ten wrong current passwords: %d, want 429", p.status)
	}
	if wait, err := strconv.Atoi(p.header.Get("Retry-After")); err != nil || wait < 1 {
		t.Errorf("a throttled password change's Retry-After: %q, want seconds", p.header.Get("Retry-After"))
	}
}

// Downloading everything of a member's, their export and their whole
// access log, reads all their history, and is held, on the pages as
// through the API and the two together, to a few at once, then one a
// minute (exportsPerMember): past that, the account page's downloads are
// answered 429 with Retry-After on the error page, and so is the API's
// export. Another member's downloads are their own; once the wait is
// over, the member's go through again.
func TestPages_DownloadsOfTheMembersDataAreThrottled(t *testing.T) {
	env := apptest.Start(t)
	env.Clock.Freeze()
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	for i, path := range []string{"/account/export", "/account/access-log.json", "/account/export"} {
		if p := b.get(path); p.status != http.StatusOK {
			t.Fatalf("download %d, GET %s: %d, want 200", i+1, path, p.status)
		}
	}
	var wait int
	for _, path := range []string{"/account/export", "/account/access-log.json"} {
		p := b.get(path)
		if p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "try again in") {
			t.Fatalf("GET %s after 3 downloads at once: %d, want 429 on the error page saying when to try again", path, p.status)
		}
		var err error
		if wait, err = strconv.Atoi(p.header.Get("Retry-After")); err != nil || wait < 1 || wait > 60 {
			t.Errorf("GET %s refused with Retry-After %q, want seconds up to a minute", path, p.header.Get("Retry-After"))
		}
	}
	var raw json.RawMessage
	if _, err := alice.Do(ctx, "GET", "/api/v1/me/export", nil, &raw); statusOf(err) != http.StatusTooManyRequests {
		t.Errorf("alice's export through the API once the pages spent her downloads: %v, want 429", err)
	}
	bobs := newScriptless(t, env.URL)
	bobs.signIn("bob")
	if p := bobs.get("/account/export"); p.status != http.StatusOK {
		t.Errorf("bob's export while alice waits: %d", p.status)
	}
	env.Clock.Advance(time.Duration(wait) * time.Second)
	if p := b.get("/account/access-log.json"); p.status != http.StatusOK {
		t.Errorf("alice's access log download after Retry-After: %d", p.status)
	}
}
