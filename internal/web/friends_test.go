package web_test

import (
	"context"
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
	"github.com/parleyhq/parley/internal/apptest"
)

// After Remove, Decline or Withdraw on the friends page, its notice says
// which of the three was done, as the server found it, and what follows
// from it.
func TestMessenger_FriendsPageSaysWhatEnded(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	carol, dave := env.MustMember(t, "carol"), env.MustMember(t, "dave")
	apptest.MustFriends(t, alice, bob)
	if _, err := carol.AddFriend(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AddFriend(ctx, "dave"); err != nil {
		t.Fatal(err)
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	for who, want := range map[string]string{
		apptest.MustMe(t, bob).ID:   "Removed from your friends. Your chats with them stay as they are.",
		apptest.MustMe(t, carol).ID: "Request declined. They cannot ask you again for 30 days; you may ask them at any time.",
		apptest.MustMe(t, dave).ID:  "Request withdrawn.",
	} {
		p := a.post(a.get("/friends"), "/friends/"+who+"/remove", url.Values{})
		if p.url.Path != "/friends" || !strings.Contains(p.body, `<p class="notice" role="status">`+want+`</p>`) {
			t.Errorf("ending alice's link with %s, the page at %s says:\n%s", who, p.url, p.body)
		}
	}
	if friends := a.get("/friends").body; strings.Contains(friends, "@bob") || strings.Contains(friends, "@carol") || strings.Contains(friends, "@dave") {
		t.Errorf("the friends page after all three still names one:\n%s", friends)
	}
}

// Others choose how many requests a member receives, so the friends page
// shows the newest page of them, newest first, with a link to the older
// ones, and so on to the last page; the member's own requests, which are
// capped, show on every page. A cursor the server did not give is 400.
func TestMessenger_FriendsPageShowsAPageOfRequests(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	env.MustMember(t, "bob")
	if _, err := alice.AddFriend(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	// 120 askers, stored in one write: quicker than 120 sign-ups.
	const n = 120
	var newestFirst []string
	at, me := parley.Now().Add(-time.Hour), apptest.MustMe(t, alice).ID
	err := env.Server.Store.Write(ctx, func(tx parley.Tx) error {
		for i := range n {
			u := &parley.User{ID: parley.NewID(), Username: fmt.Sprintf("asker%03d", i), DisplayName: fmt.Sprintf("Asker %d", i), CreatedAt: at}
			if err := tx.CreateUser(ctx, u, "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"); err != nil {
				return err
			}
			f := &parley.Friendship{RequesterID: u.ID, AddresseeID: me, State: parley.FriendPending, CreatedAt: at.Add(time.Duration(i) * time.Second)}
			if err := tx.CreateFriendship(ctx, f); err != nil {
				return err
			}
			newestFirst = append([]string{u.Username}, newestFirst...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	incoming := regexp.MustCompile(`(?s)<ul class="people" id="incoming">(.*?)</ul>`)
	handle := regexp.MustCompile(`class="handle">@(\w+)</span>`)
	older := regexp.MustCompile(`<a id="older-requests" href="([^"]+)">Older requests</a>`)
	var sizes []int
	var names []string
	path := "/friends"
	for len(sizes) <= n {
		p := a.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.status)
		}
		list := incoming.FindStringSubmatch(p.body)
		if list == nil {
			t.Fatalf("%s lists no requests:\n%s", path, p.body)
		}
		page := handle.FindAllStringSubmatch(list[1], -1)
		sizes = append(sizes, len(page))
		for _, m := range page {
			names = append(names, m[1])
		}
		if !strings.Contains(p.body, `id="outgoing"`) || !strings.Contains(p.body, "@bob") {
			t.Errorf("%s does not show alice's request to bob", path)
		}
		if newest := strings.Contains(p.body, `<a href="/friends">Newest requests</a>`); newest != (path != "/friends") {
			t.Errorf("%s links to the newest requests: %v", path, newest)
		}
		m := older.FindStringSubmatch(p.body)
		if m == nil {
			break
		}
		path = html.UnescapeString(m[1])
	}
	if want := []int{50, 50, 20}; !slices.Equal(sizes, want) {
		t.Errorf("the friends pages show %v requests, want %v", sizes, want)
	}
	if !slices.Equal(names, newestFirst) {
		t.Errorf("the pages show %d requests:\n%v\nwant each of the %d once, newest first:\n%v", len(names), names, n, newestFirst)
	}
	if p := a.get("/friends?requests=not-a-cursor"); p.status != http.StatusBadRequest {
		t.Errorf("a forged cursor: %d, want 400", p.status)
	}
}
