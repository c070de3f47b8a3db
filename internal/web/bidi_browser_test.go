package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// drawnAt returns, for the element sel matches, the left edge in pixels
// of where each of parts is first drawn in it, or NaN for a part it does
// not hold, and last its text, so that a test can compare the order in
// which they are drawn with the order in which they are written.
func drawnAt(t *testing.T, ctx context.Context, sel string, parts ...string) (xs []float64, shown string) {
	t.Helper()
	q := make([]string, len(parts))
	for i, p := range parts {
		q[i] = jsString(p)
	}
	got := evaluate[[]any](t, ctx, `(() => {
  const root = document.querySelector(`+jsString(sel)+`);
  if (!root) return [];
  const out = [];
  for (const want of [`+strings.Join(q, ",")+`]) {
    let x = NaN;
    const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      const i = n.data.indexOf(want);
      if (i < 0) continue;
      const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + want.length);
      x = Math.min(...[...r.getClientRects()].map((b) => b.left));
      break;
    }
    out.push(String(x));
  }
  out.push(root.innerText);
  return out;
})()`)
	if len(got) != len(parts)+1 {
		t.Fatalf("no %s on the page", sel)
	}
	for _, g := range got[:len(parts)] {
		var x float64
		if _, err := fmt.Sscan(g.(string), &x); err != nil || x != x {
			t.Fatalf("%s does not show all of %q: %q", sel, parts, got[len(parts)])
		}
		xs = append(xs, x)
	}
	return xs, got[len(parts)].(string)
}

// leftToRight reports whether xs are in increasing order.
func leftToRight(xs []float64) bool {
	for i := 1; i < len(xs); i++ {
		if xs[i-1] >= xs[i] {
			return false
		}
	}
	return true
}

// People's names and titles in Hebrew or Arabic keep their place in what
// the pages write around them: a name is drawn before the handle, count,
// date or comma that follows it, never across it, as an English one is.
// Each is set apart from the sentence (<bdi>, or U+2068 … U+2069 where no
// element may stand), and a title or a message's words take their own
// direction (dir="auto"), as a bubble does.
func TestMessenger_NamesKeepTheirPlace_Browser(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	for user, name := range map[string]string{"bob": "אבי כהן", "carol": "دانة"} {
		if _, err := env.Client.CreateAccount(ctx, user, apptest.Password(user), name); err != nil {
			t.Fatal(err)
		}
	}
	bob, carol := mustSignInClient(t, env, "bob"), mustSignInClient(t, env, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	dave := env.MustMember(t, "dave")
	apptest.MustFriends(t, alice, dave)
	group, err := alice.CreateThread(ctx, client.NewThread{Participants: []string{"bob", "carol"}, Kind: "group", Title: "מה נשמע?"})
	must(t, err)
	apptest.MustSend(t, bob, group.ID, "שלום לכולם 123!")
	last := apptest.MustSend(t, alice, group.ID, "see you")
	must(t, bob.MarkRead(ctx, group.ID, last.Seq))
	must(t, carol.MarkRead(ctx, group.ID, last.Seq))

	withBob, withCarol := apptest.MustThread(t, alice, "bob"), apptest.MustThread(t, alice, "carol")
	apptest.MustSend(t, bob, withBob.ID, "hi")
	apptest.MustSend(t, carol, withCarol.ID, "hi")
	films := env.MustPartner(t, "Films")
	tok := env.MustToken(t, films, "alice", []string{"openid", "messages.read"}, apptest.Answer{ThreadScope: "selected", Threads: []string{withBob.ID, withCarol.ID}})
	app := env.Client.WithToken(tok.AccessToken)
	for range 3 {
		_, err := app.Messages(ctx, withBob.ID, client.MessagesQuery{})
		must(t, err)
	}
	_, err = app.Messages(ctx, withCarol.ID, client.MessagesQuery{})
	must(t, err)

	b := apptest.Chromium(t)
	signInBrowser(t, b, env.URL, "alice")
	must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800)))

	t.Run("the group's members", func(t *testing.T) {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+group.ID), chromedp.WaitVisible(chromedp.CSS(`.members summary`))))
		if xs, shown := drawnAt(t, b, ".members summary", "אבי כהן", "@bob", "دانة", "@carol"); !leftToRight(xs) {
			t.Errorf("the members %q are not drawn each name before its handle (x: %v)", shown, xs)
		}
		// An <option> holds no element: its name is set apart by marks.
		options := evaluate[[]string](t, b, `[...document.querySelectorAll("#add-who option, #remove-who option")].map((o) => o.textContent)`)
		for _, want := range []string{"\u2068Member dave\u2069 (@dave)", "\u2068אבי כהן\u2069 (@bob)", "\u2068دانة\u2069 (@carol)"} {
			if !strings.Contains(strings.Join(options, "\n"), want) {
				t.Errorf("the Add and Remove menus offer %q, want %q among them", options, want)
			}
		}
	})

	t.Run("seen by", func(t *testing.T) {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+group.ID), chromedp.WaitVisible(chromedp.CSS(`#seen`))))
		apptest.Screenshot(t, b, "bidi-group")
		must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800)))
		first, second := "אבי כהן", "دانة"
		if strings.Index(text(t, b, "#seen"), first) > strings.Index(text(t, b, "#seen"), second) {
			first, second = second, first
		}
		if xs, shown := drawnAt(t, b, "#seen", "Seen by", first, ",", second); !leftToRight(xs) {
			t.Errorf("%q is not drawn in the order it is written (x: %v)", shown, xs)
		}
	})

	t.Run("a group's note", func(t *testing.T) {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/t/"+group.ID), chromedp.WaitVisible(chromedp.CSS(`.gnote time`))))
		at := text(t, b, ".gnote time")
		if xs, shown := drawnAt(t, b, ".gnote p", "started the group", "מה", at); !leftToRight(xs) {
			t.Errorf("the note %q is not drawn with its time after the group's title (x: %v)", shown, xs)
		}
	})

	t.Run("a title in the inbox", func(t *testing.T) {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#inbox`))))
		apptest.Screenshot(t, b, "bidi-inbox")
		must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800)))
		// Its question mark ends it, on the left, as a bubble draws it.
		if xs, shown := drawnAt(t, b, `a[data-thread="`+group.ID+`"] .tname`, "?", "מה"); !leftToRight(xs) {
			t.Errorf("the title %q is drawn with its question mark on the right, at its start (x: %v)", shown, xs)
		}
	})

	t.Run("a search result", func(t *testing.T) {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/search?q="+"שלום"), chromedp.WaitVisible(chromedp.CSS(`.results`))))
		apptest.Screenshot(t, b, "bidi-search")
		must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800)))
		if xs, shown := drawnAt(t, b, ".results .said", "!", "לכולם"); !leftToRight(xs) {
			t.Errorf("the snippet %q is drawn with its closing \"!\" on the right, where its bubble draws it on the left (x: %v)", shown, xs)
		}
	})

	t.Run("the access log", func(t *testing.T) {
		must(t, chromedp.Do(b, chromedp.Navigate(env.URL+"/account/access-log"), chromedp.WaitVisible(chromedp.CSS(`#log`))))
		apptest.Screenshot(t, b, "bidi-accesslog")
		must(t, chromedp.Do(b, chromedp.EmulateViewport(1280, 800)))
		evaluate[bool](t, b, `(() => {
  const lines = [...document.querySelectorAll("#log .lines li")];
  const run = lines.find((li) => li.innerText.includes("3 times")), once = lines.find((li) => li.innerText.includes("دانة"));
  if (run) run.id = "run";
  if (once) once.id = "once";
  return true;
})()`)
		if xs, shown := drawnAt(t, b, "#run", "with", "אבי כהן", "3 times"); !leftToRight(xs) {
			t.Errorf("the line %q is not drawn in the order it is written (x: %v)", shown, xs)
		}
		day := text(t, b, "#once time")
		if xs, shown := drawnAt(t, b, "#once", "with", "دانة", day); !leftToRight(xs) {
			t.Errorf("the line %q draws its date %q out of place (x: %v)", shown, day, xs)
		}
	})
}
