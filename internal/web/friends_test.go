package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

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
