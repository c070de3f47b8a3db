package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
)

// TestMessenger_ReactToAMessage: without a script, every message that is
// not deleted offers the six reactions beside it, and shows those it has
// under it, each once with how many gave it and who; each button says
// what pressing it does: give that emoji, or take back the reader's own,
// that one, so that a page shown before the member changed theirs
// elsewhere takes back nothing. A reaction that is not one of the six is
// refused and changes nothing.
func TestMessenger_ReactToAMessage(t *testing.T) {
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	if _, err := bob.SetDisplayName(ctx, `Bob "<b>"`); err != nil {
		t.Fatal(err)
	}
	th := apptest.MustThread(t, alice, "bob")
	dinner := apptest.MustSend(t, bob, th.ID, "dinner?")
	gone := apptest.MustSend(t, alice, th.ID, "soon deleted")
	if err := alice.DeleteMessage(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	a, b := newScriptless(t, env.URL), newScriptless(t, env.URL)
	a.signIn("alice")
	b.signIn("bob")
	base := "/t/" + th.ID
	react := base + "/messages/" + dinner.ID + "/react"

	// picks returns the emoji each of the page's pickers offers, with what
	// pressing each does.
	picks := func(page string) []string {
		var offered []string
		for _, m := range regexp.MustCompile(`<button type="submit" class="pick" name="(emoji|take_back)" value="([^"]*)" aria-pressed="(true|false)" title="([^"]*)"`).FindAllStringSubmatch(page, -1) {
			offered = append(offered, m[4]+"="+m[1]+":"+m[2]+"/"+m[3])
		}
		return offered
	}
	// chips returns the page's reactions under messages: the label each
	// is read out with, and what pressing it does.
	chips := func(page string) []string {
		var shown []string
		for _, m := range regexp.MustCompile(`<button type="submit" class="chip" name="(emoji|take_back)" value="([^"]*)" aria-pressed="(true|false)" title="[^"]*" aria-label="([^"]*)"><span aria-hidden="true">([^<]*)</span> (\d+)</button>`).FindAllStringSubmatch(page, -1) {
			shown = append(shown, m[5]+m[6]+" "+m[4]+" ="+m[1]+":"+m[2]+"/"+m[3])
		}
		return shown
	}
	want := func(who string, got, want []string) {
		t.Helper()
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s:\n got %q\nwant %q", who, got, want)
		}
	}

	page := a.get(base)
	want("alice's picker, before any reaction", picks(page.body), []string{
		"Thumbs up=emoji:👍/false", "Heart=emoji:❤️/false", "Laughing=emoji:😂/false", "Surprised=emoji:😮/false", "Sad=emoji:😢/false", "Thank you=emoji:🙏/false",
	})
	if !strings.Contains(page.body, `action="`+react+`"`) || strings.Contains(page.body, `/messages/`+gone.ID+`/react`) || len(chips(page.body)) != 0 {
		t.Fatalf("the page offers reactions to the wrong messages, or shows some:\n%s", page.body)
	}

	given := a.post(page, react, url.Values{"emoji": {"👍"}})
	if given.url.Path != base || given.url.Fragment != "" && given.url.Fragment != "m1" {
		t.Fatalf("after reacting, the page is %s", given.url)
	}
	want("alice's chips after her 👍", chips(given.body), []string{"👍1 Thumbs up, 1: you =take_back:👍/true"})
	want("alice's picker after her 👍", picks(given.body)[:2], []string{"Thumbs up=take_back:👍/true", "Heart=emoji:❤️/false"})
	bobs := b.get(base)
	want("bob's chips after alice's 👍", chips(bobs.body), []string{"👍1 Thumbs up, 1: Member alice =emoji:👍/false"})

	bobs = b.post(bobs, react, url.Values{"emoji": {"👍"}})
	want("bob's chips once he gave 👍 too", chips(bobs.body), []string{"👍2 Thumbs up, 2: Member alice and you =take_back:👍/true"})
	want("alice's chips once bob gave 👍 too", chips(a.get(base).body), []string{"👍2 Thumbs up, 2: you and Bob &#34;&lt;b&gt;&#34; =take_back:👍/true"})

	// alice takes hers back from the chip, and gives ❤️ from the picker.
	stale := a.get(base)
	page = a.post(stale, react, url.Values{"take_back": {"👍"}})
	want("alice's chips after she changed hers", chips(a.post(page, react, url.Values{"emoji": {"❤️"}}).body), []string{
		"👍1 Thumbs up, 1: Bob &#34;&lt;b&gt;&#34; =emoji:👍/false", "❤️1 Heart, 1: you =take_back:❤️/true",
	})
	// The page from before, pressed again, takes back no ❤️ it did not show.
	page = a.post(stale, react, url.Values{"take_back": {"👍"}})
	want("alice's chips after an old page's press", chips(page.body), []string{
		"👍1 Thumbs up, 1: Bob &#34;&lt;b&gt;&#34; =emoji:👍/false", "❤️1 Heart, 1: you =take_back:❤️/true",
	})

	for _, emoji := range []string{"👎", "❤", " 👍", "👍👍", "<b>"} {
		refused := a.post(a.get(base), react, url.Values{"emoji": {emoji}})
		if refused.status != http.StatusBadRequest || !strings.Contains(refused.body, "Emoji must be one of 👍 ❤️ 😂 😮 😢 🙏.") {
			t.Errorf("reacting %q: %d, want 400 naming the reactions:\n%s", emoji, refused.status, refused.body)
		}
	}
	want("alice's chips after refused reactions", chips(a.get(base).body), []string{
		"👍1 Thumbs up, 1: Bob &#34;&lt;b&gt;&#34; =emoji:👍/false", "❤️1 Heart, 1: you =take_back:❤️/true",
	})
}
