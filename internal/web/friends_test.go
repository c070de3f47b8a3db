package web_test

import (
	"context"
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
	const n = 120
	me := apptest.MustMe(t, alice).ID
	newestFirst := env.MustLinkedMembers(t, "asker", n, me, parley.Now().Add(-time.Hour), apptest.Asked)
	slices.Reverse(newestFirst)
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	sizes, names, _ := friendsPages(t, a, friendsList{id: "incoming", nextID: "older-requests", next: "Older requests", newest: "Newest requests"}, n,
		func(path, body string) {
			if !strings.Contains(body, `id="outgoing"`) || !strings.Contains(body, "@bob") {
				t.Errorf("%s does not show alice's request to bob", path)
			}
		})
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

// A member may have many friends and block many members, so the friends
// page shows the newest page of each, newest first, with a link to the
// next ("More friends", "More blocked") and back to the newest, and so on
// to the last page: each once. A cursor the server did not give, or gave
// for another list, is 400.
func TestMessenger_FriendsPageShowsAPageOfFriendsAndBlocks(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	me, at := apptest.MustMe(t, alice).ID, parley.Now().Add(-time.Hour)
	const n = 120
	lists := map[string][]string{
		"friends": env.MustLinkedMembers(t, "friend", n, me, at, apptest.Befriended),
		"blocked": env.MustLinkedMembers(t, "blocked", n, me, at, apptest.BlockedBy),
	}
	for _, names := range lists {
		slices.Reverse(names) // newest first
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	cursors := map[string]string{}
	for _, l := range []friendsList{
		{id: "friends", nextID: "more-friends", next: "More friends", newest: "Newest friends"},
		{id: "blocked", nextID: "more-blocked", next: "More blocked", newest: "Newest blocks"},
	} {
		list := l.id
		sizes, names, paths := friendsPages(t, a, l, n, nil)
		if len(paths) > 1 {
			u, _ := url.Parse(paths[1])
			cursors[list] = u.Query().Get(list)
		}
		if want := []int{50, 50, 20}; !slices.Equal(sizes, want) {
			t.Errorf("the friends pages show %v of %s, want %v", sizes, list, want)
		}
		if !slices.Equal(names, lists[list]) {
			t.Errorf("the pages show %d %s:\n%v\nwant each of the %d once, newest first:\n%v", len(names), list, names, n, lists[list])
		}
	}
	for _, path := range []string{
		"/friends?friends=not-a-cursor",
		"/friends?blocked=not-a-cursor",
		"/friends?friends=" + url.QueryEscape(cursors["blocked"]),
		"/friends?blocked=" + url.QueryEscape(cursors["friends"]),
	} {
		if p := a.get(path); p.status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", path, p.status)
		}
	}
}

// The page to start a conversation offers every friend to tick, and a
// group's Add menu every friend not in it, however many: not one page of
// them.
func TestMessenger_PickersOfferEveryFriend(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	const n = parley.MaxFriendLimit + 30
	names := env.MustLinkedMembers(t, "friend", n, apptest.MustMe(t, alice).ID, parley.Now().Add(-time.Hour), apptest.Befriended)
	group, err := alice.CreateThread(context.Background(), client.NewThread{Participants: []string{"bob", names[0]}, Title: "many", Kind: "group"})
	if err != nil {
		t.Fatal(err)
	}
	a := newScriptless(t, env.URL)
	a.signIn("alice")
	ticks := regexp.MustCompile(`<input type="checkbox" name="username" value="(\w+)"`)
	if got := len(ticks.FindAllStringSubmatch(a.get("/new").body, -1)); got != n+1 {
		t.Errorf("/new offers %d friends to tick, want %d", got, n+1)
	}
	add := regexp.MustCompile(`(?s)<select id="add-who" name="username">(.*?)</select>`)
	m := add.FindStringSubmatch(a.get("/t/" + group.ID).body)
	if m == nil {
		t.Fatal("the group's page has no Add menu")
	}
	if got := strings.Count(m[1], "<option "); got != n-1 {
		t.Errorf("the group's Add menu offers %d friends, want the %d not in it", got, n-1)
	}
}

// friendsList is one list of the friends page: the id of its <ul>, the
// id and words of its link to the next page, and the words of its link
// back to the newest.
type friendsList struct{ id, nextID, next, newest string }

// friendsPages reads list on the friends page from its newest page to its
// last, by the link to the next, at most most+1 pages, and returns how
// many members each page listed, their usernames in order, and the path of
// each page. Every page but the first links back to the newest, and the
// first does not. each, if set, sees every page's path and body.
func friendsPages(t *testing.T, a *scriptless, list friendsList, most int, each func(path, body string)) (sizes []int, names, paths []string) {
	t.Helper()
	section := regexp.MustCompile(`(?s)<ul class="people" id="` + list.id + `">(.*?)</ul>`)
	next := regexp.MustCompile(`<a id="` + list.nextID + `" href="([^"]+)">` + list.next + `</a>`)
	handle := regexp.MustCompile(`class="handle">@(\w+)</span>`)
	path := "/friends"
	for len(sizes) <= most {
		paths = append(paths, path)
		p := a.get(path)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.status)
		}
		m := section.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("%s lists no %s:\n%s", path, list.id, p.body)
		}
		page := handle.FindAllStringSubmatch(m[1], -1)
		sizes = append(sizes, len(page))
		for _, h := range page {
			names = append(names, h[1])
		}
		if each != nil {
			each(path, p.body)
		}
		if got := strings.Contains(p.body, `<a href="/friends">`+list.newest+`</a>`); got != (path != "/friends") {
			t.Errorf("%s links to the %s: %v", path, strings.ToLower(list.newest), got)
		}
		link := next.FindStringSubmatch(p.body)
		if link == nil {
			break
		}
		path = html.UnescapeString(link[1])
	}
	return sizes, names, paths
}
