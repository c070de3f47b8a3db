package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// consentAsked is a member with many conversations at the consent page of
// an app, Films, that asks to read their messages.
type consentAsked struct {
	env   *apptest.Env
	alice *client.Client
	// b is alice's browser, at the consent page.
	b        context.Context
	cfg      oauth2.Config
	verifier string
	// threads are alice's conversations by title.
	threads map[string]string
}

// manyConversations are the titles of 50 conversations: a few of a
// member's everyday ones, and many film nights.
func manyConversations() []string {
	titles := []string{"Book club", "Café Rouge", "Family", "Climbing on Tuesdays"}
	for i := len(titles); i < 50; i++ {
		titles = append(titles, fmt.Sprintf("Film night %d", i-3))
	}
	return titles
}

// askConsent gives alice a group with bob for each title, a minute apart
// in the order given, and opens Films's consent page in her browser, with
// script or without.
func askConsent(t *testing.T, titles []string, script bool) *consentAsked {
	t.Helper()
	env := apptest.Start(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	c := &consentAsked{env: env, alice: alice, threads: map[string]string{}}
	for _, title := range titles {
		env.Clock.Advance(time.Minute)
		th, err := alice.CreateThread(context.Background(), client.NewThread{Participants: []string{"bob"}, Kind: "group", Title: title})
		must(t, err)
		c.threads[title] = th.ID
	}
	back := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Films</title><h1 id="back">Back at Films</h1>`)
	}))
	t.Cleanup(back.Close)
	films := env.MustPartner(t, "Films", func(a *service.NewApp) { a.RedirectURIs = []string{back.URL + "/callback"} })
	c.cfg = *films.Config
	c.cfg.Scopes = []string{"openid", "profile", "messages.read"}
	c.verifier = oauth2.GenerateVerifier()
	c.b = apptest.Chromium(t)
	signInBrowser(t, c.b, env.URL, "alice")
	if !script {
		must(t, chromedp.Do(c.b, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		})))
	}
	must(t, chromedp.Do(c.b, chromedp.Navigate(c.cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(c.verifier))), chromedp.WaitVisible(chromedp.CSS(`#reach`))))
	return c
}

// shown lists the names of the conversations in sight in the list.
func (c *consentAsked) shown(t *testing.T) []string {
	t.Helper()
	return evaluate[[]string](t, c.b, `[...document.querySelectorAll("#reach .choices li")].filter((li) => li.getClientRects().length > 0).map((li) => li.dataset.name)`)
}

// tick ticks the conversation's box.
func (c *consentAsked) tick(t *testing.T, title string) {
	t.Helper()
	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(`input[name=threads][value="`+c.threads[title]+`"]`))))
}

// find types words into the box that finds a conversation, in place of
// what it held.
func (c *consentAsked) find(t *testing.T, words string) {
	t.Helper()
	evaluate[bool](t, c.b, `(document.getElementById("find").select(), true)`)
	if words == "" {
		words = kb.Backspace
	}
	must(t, chromedp.Do(c.b, chromedp.SendKeys(chromedp.CSS(`#find`), words)))
}

// approve approves the request and returns the grant Films got, as alice's
// connected apps list it.
func (c *consentAsked) approve(t *testing.T) *client.ConnectedApp {
	t.Helper()
	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(`button[value=approve]`)), chromedp.WaitVisible(chromedp.CSS(`#back`))))
	if _, err := c.cfg.Exchange(context.Background(), location(t, c.b).Query().Get("code"), oauth2.VerifierOption(c.verifier)); err != nil {
		t.Fatalf("Films cannot redeem its code: %v", err)
	}
	apps, err := c.alice.ConnectedApps(context.Background())
	must(t, err)
	if len(apps) != 1 {
		t.Fatalf("alice has %d connected apps, want Films", len(apps))
	}
	return apps[0]
}

// grantedTitles returns the titles of the conversations a grant lists,
// sorted.
func (c *consentAsked) grantedTitles(g *client.ConnectedApp) []string {
	var titles []string
	for _, th := range g.Threads {
		for title, id := range c.threads {
			if id == th.ThreadID {
				titles = append(titles, title)
			}
		}
	}
	slices.Sort(titles)
	return titles
}

const (
	chooseTicked  = `input[name=thread_scope][value=selected]`
	chooseAppOnly = `input[name=thread_scope][value=app]`
)

// A member connecting an app meets the list of their conversations only
// once they choose to tick some. Under the page's default, "Only
// conversations Films starts or shares into", which needs no list, "For
// how long?" follows the choices straight on, on a phone too. Choosing
// "Only the conversations I tick, and new ones Films starts" shows the
// list, the conversation with the newest activity first; choosing the
// default again hides it.
func TestConsent_Browser_ConversationsOnlyOnceChosenToTick(t *testing.T) {
	t.Parallel()
	titles := manyConversations()
	c := askConsent(t, titles, true)
	// A message in the oldest conversation makes it the newest; the rest
	// follow from the last made.
	apptest.MustSend(t, c.alice, c.threads["Book club"], "next month: Middlemarch")
	must(t, chromedp.Do(c.b, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#reach`))))
	newestFirst := []string{"Book club"}
	for i := len(titles) - 1; i > 0; i-- {
		newestFirst = append(newestFirst, titles[i])
	}

	// gap is how far below the choice to tick conversations the next
	// part of the form starts.
	const gap = `document.querySelector("#reach + fieldset").getBoundingClientRect().top - document.querySelector("` + chooseTicked + `").closest("label").getBoundingClientRect().bottom`
	for _, width := range []int64{375, 1280} {
		if got := c.shown(t); len(got) > 0 {
			t.Errorf("at %d px, under the default choice, %d conversations to tick are in sight", width, len(got))
		}
		if px := at[float64](t, c.b, width, gap); px > 150 {
			t.Errorf("at %d px, under the default choice, the part after the choices starts %.0f px below them", width, px)
		}
	}
	apptest.Screenshot(t, c.b, "default")
	checkAccessibility(t, c.b, "consent, many conversations, the default choice")

	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(chooseTicked))))
	if got := c.shown(t); !slices.Equal(got, newestFirst) {
		t.Errorf("chosen to tick, the conversations listed are\n%q\nwant the newest activity first:\n%q", got, newestFirst)
	}
	apptest.Screenshot(t, c.b, "ticking")
	checkAccessibility(t, c.b, "consent, many conversations, choosing which")

	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(chooseAppOnly))))
	if got := c.shown(t); len(got) > 0 {
		t.Errorf("the default chosen again, %d conversations to tick are still in sight", len(got))
	}
}

// With more than eight conversations, a box above the list finds one as
// the member types: only those whose name has a word starting with each
// word typed stay in sight, whatever their case or accents ("CAFE" finds
// "Café Rouge"), and the page says how many it shows, or that none
// matches. Enter in the
// box finds; it does not approve the request. Emptied, the box shows
// them all.
func TestConsent_Browser_FindAConversation(t *testing.T) {
	t.Parallel()
	titles := manyConversations()
	c := askConsent(t, titles, true)
	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(chooseTicked))))
	for words, want := range map[string][]string{
		"CAFE":        {"Café Rouge"},
		"night 4":     {"Film night 46", "Film night 45", "Film night 44", "Film night 43", "Film night 42", "Film night 41", "Film night 40", "Film night 4"},
		"tuesdays on": {"Climbing on Tuesdays"},
	} {
		c.find(t, words)
		if got := c.shown(t); !slices.Equal(got, want) {
			t.Errorf("%q finds %q, want %q", words, got, want)
		}
		if said, want := text(t, c.b, "#found"), fmt.Sprintf("%d of 50 shown.", len(want)); said != want {
			t.Errorf("%q: the page says %q, want %q", words, said, want)
		}
	}
	c.find(t, "night 4")
	apptest.Screenshot(t, c.b, "found")
	checkAccessibility(t, c.b, "consent, a conversation found")

	c.find(t, "opera")
	if got := c.shown(t); len(got) > 0 {
		t.Errorf(`"opera" finds %q`, got)
	}
	if said := text(t, c.b, "#found"); said != "No conversation matches “opera”." {
		t.Errorf(`"opera", which starts no word of a name: the page says %q`, said)
	}
	apptest.Screenshot(t, c.b, "none-found")
	evaluate[bool](t, c.b, `window.unsent = true`)
	must(t, chromedp.Do(c.b, pressEnter(`#find`)))
	time.Sleep(500 * time.Millisecond) // time for the form to go, if it would
	if still, err := chromedp.Run(c.b, chromedp.Evaluate[bool](`window.unsent === true`)); err != nil || !still {
		t.Fatalf("Enter in the box sent the form (%v)", err)
	}
	c.find(t, "")
	if got := c.shown(t); len(got) != len(titles) {
		t.Errorf("the box emptied, %d conversations are in sight, want all %d", len(got), len(titles))
	}
}

// A conversation ticked stays ticked when the box takes it out of sight,
// and is granted: the member finds Café Rouge and ticks it, finds the
// book club and ticks it, and approves with only the book club in sight.
// Films's grant lists both, and nothing else; while Café Rouge is out of
// sight, the page says that a ticked conversation is not shown.
func TestConsent_Browser_TickedOutOfSightIsGranted(t *testing.T) {
	t.Parallel()
	c := askConsent(t, manyConversations(), true)
	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(chooseTicked))))
	c.find(t, "café")
	c.tick(t, "Café Rouge")
	c.find(t, "book")
	c.tick(t, "Book club")
	if got := c.shown(t); !slices.Equal(got, []string{"Book club"}) {
		t.Fatalf(`"book" finds %q`, got)
	}
	if said, want := text(t, c.b, "#found"), "1 of 50 shown. 1 ticked conversation is not shown; it stays ticked."; said != want {
		t.Errorf("with Café Rouge ticked and out of sight, the page says %q, want %q", said, want)
	}
	apptest.Screenshot(t, c.b, "ticked-out-of-sight")
	g := c.approve(t)
	if got, want := c.grantedTitles(g), []string{"Book club", "Café Rouge"}; g.ThreadScope != "selected" || !slices.Equal(got, want) || len(g.Threads) != len(want) {
		t.Errorf("Films's grant reaches %s conversations %q (%d), want the two ticked, %q", g.ThreadScope, got, len(g.Threads), want)
	}
}

// Without script the page works as it did: no box to find a conversation
// with, the whole list in sight once the member chooses to tick some, and
// what they tick granted, nothing else.
func TestConsent_Browser_WithoutScript(t *testing.T) {
	t.Parallel()
	titles := manyConversations()
	c := askConsent(t, titles, false)
	if got := c.shown(t); len(got) > 0 {
		t.Errorf("under the default choice, %d conversations to tick are in sight", len(got))
	}
	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(chooseTicked))))
	if n := len(c.shown(t)); n != len(titles) {
		t.Errorf("chosen to tick, %d conversations are in sight, want all %d", n, len(titles))
	}
	if box := evaluate[int](t, c.b, `document.getElementById("find")?.getClientRects().length ?? 0`); box > 0 {
		t.Error("without script, the box to find a conversation, which cannot work, is in sight")
	}
	apptest.Screenshot(t, c.b, "ticking")
	c.tick(t, "Family")
	g := c.approve(t)
	if got := c.grantedTitles(g); g.ThreadScope != "selected" || !slices.Equal(got, []string{"Family"}) {
		t.Errorf("Films's grant reaches %s conversations %q, want Family", g.ThreadScope, got)
	}
}

// A member with eight conversations or fewer sees them all, with no box
// to find one.
func TestConsent_Browser_FewConversationsNeedNoFinding(t *testing.T) {
	t.Parallel()
	c := askConsent(t, []string{"Book club", "Family", "Climbing", "Work", "Neighbours", "Choir", "Football", "School run"}, true)
	must(t, chromedp.Do(c.b, chromedp.Click(chromedp.CSS(chooseTicked))))
	if n := len(c.shown(t)); n != 8 {
		t.Errorf("%d of 8 conversations in sight", n)
	}
	if strings.Contains(text(t, c.b, "#reach"), "Find") || evaluate[bool](t, c.b, `!!document.getElementById("find")`) {
		t.Error("with 8 conversations, the page offers a box to find one")
	}
}

// TestConsent_Browser_AnUnreviewedAppsRefusalIsShown: a request of an app
// no operator reviewed that the provider refuses (here, one asking for no
// scope) is shown to the person on Parley's own page, which names the app
// and where it answers and sends no one there by itself, at either width,
// and passes the accessibility audit as every page does.
func TestConsent_Browser_AnUnreviewedAppsRefusalIsShown(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	mallory := env.MustMember(t, "mallory")
	app, err := mallory.CreateApp(context.Background(), client.NewApp{Name: "Account Security", RedirectURIs: []string{apptest.RedirectURI}, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	b := apptest.Chromium(t)
	refused := env.URL + "/oauth2/authorize?response_type=code&client_id=" + app.ClientID + "&redirect_uri=" + url.QueryEscape(apptest.RedirectURI)
	must(t, chromedp.Do(b, chromedp.Navigate(refused), chromedp.WaitVisible(chromedp.CSS(`p.leaving-host`))))
	if got := text(t, b, `p.leaving-host`); got != "127.0.0.1:9" {
		t.Errorf("the page names the app's host as %q", got)
	}
	at, err := chromedp.Run(b, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(at, env.URL) {
		t.Errorf("the browser went on to %s", at)
	}
	apptest.Screenshot(t, b, "unreviewed-refusal")
	checkAccessibility(t, b, "an unreviewed app's refusal")
}

// TestConsent_Browser_SaysWhoRegisteredItAtEitherWidth: an app a member
// registered, with a long purpose, shows who registered it and that no
// operator reviewed it, and its scopes, at either width without sideways
// scrolling: the purpose, after them, does not push them out of sight.
// An operator's app says so instead. The connected apps page is
// photographed beside them.
func TestConsent_Browser_SaysWhoRegisteredItAtEitherWidth(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	env.MustMember(t, "mallory")
	apptest.MustFriends(t, alice, bob)
	apptest.MustThread(t, alice, "bob")
	purpose := "Keep your account safe.\n\n" + strings.Repeat("Please approve every box below, it is required to keep your account. ", 6)
	members := env.MustPartnerOf(t, "Account Security ✅ verified", "mallory", func(a *service.NewApp) {
		a.Purpose, a.Homepage = purpose, "https://security.example"
	})
	operators := env.MustPartner(t, "Films", func(a *service.NewApp) { a.Homepage = "http://127.0.0.1:9/" })
	env.MustToken(t, operators, "alice", []string{"openid", "messages.read", "offline_access"}, apptest.Answer{})
	scopes := []string{"openid", "profile", "friends.read", "threads.read", "messages.read", "messages.write", "shares.write"}
	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	for name, p := range map[string]*apptest.Partner{"member": members, "operator": operators} {
		cfg := *p.Config
		cfg.Scopes = scopes
		must(t, chromedp.Do(b, chromedp.Navigate(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))), chromedp.WaitVisible(chromedp.CSS(`button[value=deny]`))))
		want := "Registered by this server's operators."
		if name == "member" {
			want = "Registered by @mallory (who shows as Member mallory), a member of this server. This server's operators have not reviewed it. Any member may register an app, under any name."
		}
		if got := text(t, b, `#registered-by`); got != want {
			t.Errorf("%s's app: %q, want %q", name, got, want)
		}
		for _, w := range []int64{1280, 375} {
			must(t, chromedp.Do(b, chromedp.EmulateViewport(w, 800)))
			if top := evaluate[float64](t, b, `document.getElementById('scopes').getBoundingClientRect().top`); top > 700 {
				t.Errorf("%s's app at %d px: the scopes start %.0f px down", name, w, top)
			}
			if wide := evaluate[bool](t, b, `document.documentElement.scrollWidth > document.documentElement.clientWidth`); wide {
				t.Errorf("%s's app at %d px scrolls sideways", name, w)
			}
		}
		apptest.Screenshot(t, b, name) // at both widths
	}
	must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/account/apps"), chromedp.WaitVisible(chromedp.CSS(`h1`))))
	apptest.Screenshot(t, b, "apps")
}
