package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// club is movieclub running on loopback against a real Parley, with what
// the test needs to drive both.
type club struct {
	parley   *apptest.Env
	app      *App
	url      string
	clientID string
	// hooks receives a value each time movieclub has handled a webhook.
	hooks chan struct{}
	// down, while set, answers webhooks with 503 before movieclub sees
	// them, as if it were down.
	down atomic.Bool
	// refused counts the webhooks answered 503 while down.
	refused atomic.Int32

	mu sync.Mutex
	// arrived and handled count the webhooks that reached movieclub, and
	// those it has handled, by event type.
	arrived, handled map[string]int
}

// webhooks returns how many webhooks of the event type reached movieclub,
// and how many it has handled.
func (c *club) webhooks(eventType string) (arrived, handled int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.arrived[eventType], c.handled[eventType]
}

// count counts a webhook of the event type in counts.
func (c *club) count(counts map[string]int, eventType string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts[eventType]++
}

// startClub starts Parley, registers movieclub as its owner would, through
// the API, with a webhook endpoint, and serves movieclub on loopback.
// Options adjust Parley's configuration.
func startClub(t *testing.T, options ...func(*config.Config)) *club {
	t.Helper()
	ctx := context.Background()
	env := apptest.Start(t, append([]func(*config.Config){func(c *config.Config) { c.WebhooksAllowPrivate = true }}, options...)...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &club{parley: env, url: "http://" + ln.Addr().String(), hooks: make(chan struct{}, 64), arrived: map[string]int{}, handled: map[string]int{}}

	// The app's owner registers it: the full request body of the guide.
	owner := env.MustMember(t, "studio")
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if _, err := owner.Do(ctx, "POST", "/api/v1/apps", map[string]any{
		"name":          "Movie Club",
		"redirect_uris": []string{c.url + "/callback"},
		"public":        false,
		"purpose":       "Recommend films to your friends and see their replies.",
		"homepage":      c.url,
	}, &app); err != nil {
		t.Fatal(err)
	}
	hook, err := owner.CreateWebhook(ctx, app.ClientID, c.url+"/webhooks", []string{
		client.WebhookMessageCreated, client.WebhookMessageEdited, client.WebhookMessageDeleted, client.WebhookGrantRevoked, client.WebhookThreadClosed,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The endpoint receives events from its active_from, when every node
	// knows of it: move Parley's clock on to then.
	env.Clock.Advance(hook.ActiveFrom.Sub(env.Clock.Now()))

	c.clientID = app.ClientID
	mc := New(Config{
		ParleyURL: env.URL, ClientID: app.ClientID, ClientSecret: app.ClientSecret,
		PublicURL: c.url, WebhookSecret: hook.Secret,
	})
	c.app = mc
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/webhooks" {
			mc.ServeHTTP(w, r)
			return
		}
		if c.down.Load() {
			c.refused.Add(1)
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		// Every delivery Parley signs is what the OpenAPI document says
		// (the test forges an unsigned one).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		if r.Header.Get("webhook-signature") != "" {
			if err := apptest.CheckWebhook(body); err != nil {
				t.Error(err)
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var ev struct {
			Type string `json:"type"`
		}
		json.Unmarshal(body, &ev)
		c.count(c.arrived, ev.Type)
		mc.ServeHTTP(w, r)
		c.count(c.handled, ev.Type)
		select {
		case c.hooks <- struct{}{}:
		default:
		}
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return c
}

// signIn signs a member in to movieclub with Parley, in a browser that
// follows every redirect: movieclub's /login, Parley's sign-in and consent
// pages as far as Parley shows them (thread scope left at "app"),
// movieclub's callback, and back to movieclub's home page, which it
// returns.
func (c *club) signIn(t *testing.T, b *apptest.Browser, username string) *apptest.Page {
	t.Helper()
	p := b.Get(t, c.url+"/login")
	if strings.Contains(p.Body, `name="password"`) {
		p = b.Submit(t, p, url.Values{"username": {username}, "password": {apptest.Password(username)}})
	}
	if strings.Contains(p.Body, `value="approve"`) {
		for _, scope := range []string{client.ScopeSharesWrite, client.ScopeMessagesRead} {
			if !strings.Contains(p.Body, scope) {
				t.Errorf("the consent page does not ask for %s:\n%s", scope, p.Body)
			}
		}
		p = b.Submit(t, p, url.Values{"action": {"approve"}})
	}
	if p.Status != http.StatusOK || p.URL.String() != c.url+"/" || !strings.Contains(p.Body, `action="/recommend"`) {
		t.Fatalf("sign-in ended at %d %s:\n%s", p.Status, p.URL, p.Body)
	}
	return p
}

// home opens movieclub's home page.
func (c *club) home(t *testing.T, b *apptest.Browser) string {
	t.Helper()
	p := b.Get(t, c.url+"/")
	if p.Status != http.StatusOK {
		t.Fatalf("home: %d\n%s", p.Status, p.Body)
	}
	return p.Body
}

// waitForWebhooks waits until cond holds, checking again after each
// webhook movieclub handles.
func (c *club) waitForWebhooks(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-c.hooks:
		case <-time.After(time.Minute):
			t.Fatalf("no webhook brought about: %s", what)
		}
	}
}

// aliceAndBob is where movieclub's tests start: alice, signed in to
// movieclub in browser b, and her friend bob; after recommend, alice has
// recommended Metropolis to bob, in a thread of theirs.
type aliceAndBob struct {
	alice, bob *client.Client
	b          *apptest.Browser
	// home is movieclub's home page as the sign-in, or the
	// recommendation, left it.
	home     *apptest.Page
	threadID string
}

// signInAlice makes alice and bob friends and signs alice in to movieclub.
func (c *club) signInAlice(t *testing.T) aliceAndBob {
	t.Helper()
	r := aliceAndBob{alice: c.parley.MustMember(t, "alice"), bob: c.parley.MustMember(t, "bob"), b: apptest.NewBrowser()}
	apptest.MustFriends(t, r.alice, r.bob)
	r.home = c.signIn(t, r.b, "alice")
	return r
}

// recommend signs alice in to movieclub and has her recommend Metropolis
// to bob.
func (c *club) recommend(t *testing.T) aliceAndBob {
	t.Helper()
	r := c.signInAlice(t)
	r.home = r.b.Submit(t, r.home, url.Values{"film": {"metropolis"}, "friend": {"bob"}})
	if r.home.Status != http.StatusOK || !strings.Contains(r.home.Body, "Metropolis (1927)") {
		t.Fatalf("recommend: %d\n%s", r.home.Status, r.home.Body)
	}
	threads, err := r.bob.Threads(context.Background(), client.ThreadsQuery{})
	if err != nil || len(threads.Threads) != 1 {
		t.Fatalf("bob's threads: %+v, %v", threads, err)
	}
	r.threadID = threads.Threads[0].ID
	// The card's message.created webhook is handled before the test goes
	// on: movieclub's catch-up for it would otherwise read whatever the
	// test does next.
	c.waitForWebhooks(t, "the card's webhook handled", func() bool {
		_, handled := c.webhooks(client.WebhookMessageCreated)
		return handled > 0
	})
	return r
}

// disconnect revokes the member's one grant to movieclub.
func disconnect(t *testing.T, member *client.Client) {
	t.Helper()
	ctx := context.Background()
	grants, err := member.ConnectedApps(ctx)
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants: %+v, %v", grants, err)
	}
	if err := member.RevokeGrant(ctx, grants[0].ID); err != nil {
		t.Fatal(err)
	}
}

// waitRefused waits, while movieclub is down, until Parley has tried to
// deliver a webhook to it.
func (c *club) waitRefused(t *testing.T, what string) {
	t.Helper()
	waitFor(t, "a "+what+" delivery", func() bool { return c.refused.Load() > 0 })
}

// retried brings movieclub back up and Parley's clock on to the retry of
// the delivery it refused, and waits until movieclub has handled it.
func (c *club) retried(t *testing.T, what string) {
	t.Helper()
	c.down.Store(false)
	for len(c.hooks) > 0 {
		<-c.hooks // webhooks handled before
	}
	c.parley.Clock.Advance(time.Minute)
	select {
	case <-c.hooks:
	case <-time.After(time.Minute):
		t.Fatalf("the %s delivery was not retried", what)
	}
}

// accessEntry is what the test reads of an access log entry.
type accessEntry struct {
	Action     string   `json:"action"`
	ThreadID   string   `json:"thread_id"`
	MessageIDs []string `json:"message_ids"`
}

// messageOf finds the message holding text on a page and returns its
// class: "msg mine" or "msg theirs", and who it says wrote it.
func messageOf(page, text string) (class, from string) {
	re := regexp.MustCompile(`<li class="(msg [a-z]+)">\s*<span class="from">([^<]*)</span>[^<]*(?:<span class="card">[^<]*</span>)?\s*(?:<span class="text">([^<]*)</span>)?`)
	for _, m := range re.FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[0], text) {
			return m[1], m[2]
		}
	}
	return "", ""
}

// The partner loop, end to end over loopback: a member signs in to
// movieclub with Parley, recommends a film to a friend, the friend replies
// in Parley and movieclub shows the reply, told apart from the member's
// own card; the friend deletes it in Parley and movieclub drops its copy
// once the webhook comes; and movieclub serves its share report chart.
func TestMovieClub_EndToEnd(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.signInAlice(t)
	bob, b, home := r.bob, r.b, r.home

	// Recommend a film; the browser posts the form once more, as a double
	// click or a retry would, with the same Idempotency-Key.
	form := url.Values{"film": {"the-general"}, "friend": {"bob"}, "note": {"Keaton at his best"}}
	p := b.Submit(t, home, form)
	if again := b.Submit(t, home, form); again.Status != http.StatusOK || p.Status != http.StatusOK {
		t.Fatalf("recommend: %d, again %d\n%s", p.Status, again.Status, again.Body)
	}
	threads, err := bob.Threads(ctx, client.ThreadsQuery{Messages: 10})
	if err != nil || len(threads.Threads) != 1 {
		t.Fatalf("bob's threads: %+v, %v", threads, err)
	}
	th := threads.Threads[0]
	if len(th.Messages) != 1 || th.Messages[0].Share == nil || th.Messages[0].Share.Title != "The General (1926)" ||
		th.Messages[0].Share.URL != c.url+"/films/the-general" || th.Messages[0].Via == nil {
		t.Fatalf("bob got, from two posts of one form, %+v", th.Messages)
	}
	if class, from := messageOf(c.home(t, b), "Keaton at his best"); class != "msg mine" || from != "You" {
		t.Errorf("alice's card shows as %q from %q", class, from)
	}

	// The link on bob's card leads, through Parley, to the film's page on
	// movieclub: in a browser not signed in to Parley as bob, through the
	// page that says where it leads.
	leaving := b.Get(t, th.Messages[0].Share.Link)
	goOn := regexp.MustCompile(`<a class="button" rel="noreferrer noopener" href="([^"]+)">`).FindStringSubmatch(leaving.Body)
	if goOn == nil {
		t.Fatalf("bob's link in another browser: %d\n%s", leaving.Status, leaving.Body)
	}
	film := b.Get(t, html.UnescapeString(goOn[1]))
	if film.URL.String() != c.url+"/films/the-general" || !strings.Contains(film.Body, "stolen locomotive") {
		t.Errorf("bob's link led to %s:\n%s", film.URL, film.Body)
	}

	// Bob replies in Parley; the webhook has movieclub read the thread.
	reply := apptest.MustSend(t, bob, th.ID, "Seen it twice, the train chase!")
	c.waitForWebhooks(t, "bob's reply on movieclub", func() bool {
		return strings.Contains(c.home(t, b), "Seen it twice, the train chase!")
	})
	if class, from := messageOf(c.home(t, b), "Seen it twice"); class != "msg theirs" || from != "Member bob" {
		t.Errorf("bob's reply shows as %q from %q", class, from)
	}

	// Bob learns from his access log that movieclub read his reply.
	var log struct {
		Entries []accessEntry `json:"entries"`
	}
	if _, err := bob.Do(ctx, "GET", "/api/v1/me/access-log?app="+url.QueryEscape(c.clientID), nil, &log); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(log.Entries, func(e accessEntry) bool {
		return e.Action == client.ScopeMessagesRead && e.ThreadID == th.ID && slices.Contains(e.MessageIDs, reply.ID)
	}) {
		t.Errorf("bob's access log does not show movieclub reading his reply: %+v", log.Entries)
	}

	// A delivery not signed with the endpoint's secret changes nothing.
	forged, err := http.Post(c.url+"/webhooks", "application/json", strings.NewReader(
		`{"type":"message.deleted","data":{"thread_id":"`+th.ID+`","message_id":"`+reply.ID+`"}}`))
	if err != nil {
		t.Fatal(err)
	}
	forged.Body.Close()
	if forged.StatusCode != http.StatusUnauthorized || !strings.Contains(c.home(t, b), "Seen it twice") {
		t.Errorf("an unsigned delivery: %d, and the reply is gone", forged.StatusCode)
	}

	// Bob edits his reply in Parley: movieclub shows it as it now is.
	if _, err := bob.EditMessage(ctx, reply.ID, "Seen it three times, the train chase!"); err != nil {
		t.Fatal(err)
	}
	c.waitForWebhooks(t, "bob's edited reply on movieclub", func() bool {
		return strings.Contains(c.home(t, b), "Seen it three times")
	})
	if strings.Contains(c.home(t, b), "Seen it twice") {
		t.Error("movieclub shows bob's reply as it was before his edit too")
	}

	// Bob deletes his reply in Parley: movieclub drops its copy.
	if err := bob.DeleteMessage(ctx, reply.ID); err != nil {
		t.Fatal(err)
	}
	c.waitForWebhooks(t, "bob's deleted reply gone from movieclub", func() bool {
		return !strings.Contains(c.home(t, b), "Seen it three times")
	})
	if !strings.Contains(c.home(t, b), "Keaton at his best") {
		t.Error("alice's card went with bob's reply")
	}

	// The share report chart, fetched with the app's own token.
	resp, err := http.Get(c.url + "/report.svg")
	if err != nil {
		t.Fatal(err)
	}
	chart, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(string(chart), "<svg") {
		t.Errorf("report chart: %d %s\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), chart)
	}
	if page := b.Get(t, c.url+"/report"); !strings.Contains(page.Body, `<img src="/report.svg"`) {
		t.Errorf("the report page shows no chart:\n%s", page.Body)
	}
}

// A member who comes back finds what was said while movieclub missed the
// webhooks: signing in again catches up through each thread's changes
// feed. Disconnecting movieclub in Parley has it forget the member.
func TestMovieClub_CatchesUpAndForgets(t *testing.T) {
	c := startClub(t)
	r := c.recommend(t)

	c.down.Store(true)
	apptest.MustSend(t, r.bob, r.threadID, "The robot scene gave me nightmares")
	if strings.Contains(c.home(t, r.b), "nightmares") {
		t.Fatal("movieclub shows a reply it was not told of")
	}
	if home := c.signIn(t, r.b, "alice"); !strings.Contains(home.Body, "The robot scene gave me nightmares") {
		t.Errorf("after signing in again, no reply:\n%s", home.Body)
	}
	c.down.Store(false)

	disconnect(t, r.alice)
	c.waitForWebhooks(t, "alice forgotten after she disconnected movieclub", func() bool {
		return strings.Contains(c.home(t, r.b), "Sign in with Parley")
	})
}

// movieclub's report shows how many friends opened their recommendations,
// as its page says: Parley counts opens by the fortnight only, so the
// chart is of the last fortnight that has ended. Three members each
// recommend a film to two friends; three of the six open theirs.
func TestMovieClub_ReportShowsOpens(t *testing.T) {
	ctx := context.Background()
	c := startClub(t, func(cfg *config.Config) { cfg.ReportMinPeople = 3 })
	// The shares fall in one fortnight (fortnights count from Monday
	// 1970-01-05): an hour into the next, which no second of the test
	// leaves.
	epoch := time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)
	fortnight := 14 * 24 * time.Hour
	c.parley.Clock.Advance(fortnight - c.parley.Clock.Now().Sub(epoch)%fortnight + time.Hour)
	start := c.parley.Clock.Now().Truncate(24 * time.Hour)
	opened := 0
	for i, sender := range []string{"ann", "ben", "cat"} {
		s := c.parley.MustMember(t, sender)
		b := apptest.NewBrowser()
		var p *apptest.Page
		for j := range 2 {
			friend := fmt.Sprintf("friend%d", 2*i+j)
			f := c.parley.MustMember(t, friend)
			apptest.MustFriends(t, s, f)
			if p == nil {
				p = c.signIn(t, b, sender)
			}
			if p = b.Submit(t, p, url.Values{"film": {"metropolis"}, "friend": {friend}}); p.Status != http.StatusOK {
				t.Fatalf("%s recommends to %s: %d\n%s", sender, friend, p.Status, p.Body)
			}
			if j == 0 {
				threads, err := f.Threads(ctx, client.ThreadsQuery{})
				if err != nil || len(threads.Threads) != 1 || threads.Threads[0].LastMessage.Share == nil {
					t.Fatalf("%s's threads: %+v, %v", friend, threads, err)
				}
				openLink(t, threads.Threads[0].LastMessage.Share.Link)
				opened++
			}
		}
	}
	// Past the end of that fortnight, and into the next.
	c.parley.Clock.Advance(fortnight)

	resp, err := http.Get(c.url + "/report.svg")
	if err != nil {
		t.Fatal(err)
	}
	chart, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf("Recipients who clicked, %s: %d", start.Format(time.DateOnly), opened)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(chart), want) {
		t.Errorf("the report chart does not say %q:\n%s", want, chart)
	}
}

// The chart of the report, on a page anyone may open, is fetched from
// Parley once an hour at most: visitors, however many, do not spend the
// app's rate limit at Parley, which its members' calls count against too.
func TestMovieClub_ReportChartSpendsNoMembersAllowance(t *testing.T) {
	c := startClub(t)
	r := c.signInAlice(t)
	for range 150 {
		resp, err := http.Get(c.url + "/report.svg")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the chart: %d", resp.StatusCode)
		}
	}
	if p := r.b.Submit(t, r.home, url.Values{"film": {"metropolis"}, "friend": {"bob"}}); p.Status != http.StatusOK || !strings.Contains(p.Body, "Metropolis (1927)") {
		t.Fatalf("recommending after 150 views of the chart: %d\n%s", p.Status, p.Body)
	}
}

// A Parley that does not answer, or answers the report with an error,
// holds the chart's visitors no longer than chartWait, one fetch for all of
// them, and is asked again only after chartRetry: visitors cannot pile up
// behind it, nor spend the app's rate limit with failures.
func TestMovieClub_ReportChartFailingParley(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		answer   func(w http.ResponseWriter, r *http.Request)
		stalling bool
	}{
		{"TokenEndpointStalls", nil, true},
		{"ReportRefused", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/oauth2/token" {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":3600}`))
				return
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"status":403,"type":"urn:parley:problem:forbidden","title":"Forbidden","detail":"no"}`))
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			var calls atomic.Int32
			parley := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				if tc.stalling {
					select {
					case <-release:
					case <-r.Context().Done():
					}
					return
				}
				tc.answer(w, r)
			}))
			defer parley.Close()
			defer close(release)
			a := New(Config{ParleyURL: parley.URL, ClientID: "pc_x", ClientSecret: "s", PublicURL: "http://127.0.0.1:1", WebhookSecret: "whsec_AAAA"})
			const visitors = 20
			answered := make(chan int, visitors)
			for range visitors {
				go func() {
					rec := httptest.NewRecorder()
					a.ServeHTTP(rec, httptest.NewRequest("GET", "/report.svg", nil))
					answered <- rec.Code
				}()
			}
			for range visitors {
				select {
				case code := <-answered:
					if code != http.StatusBadGateway {
						t.Errorf("a visitor got %d, want 502", code)
					}
				case <-time.After(chartWait + 5*time.Second):
					t.Fatalf("a visitor still waits %v after the first asked", chartWait+5*time.Second)
				}
			}
			if n := calls.Load(); n > 2 {
				t.Errorf("%d visitors made %d calls to Parley, want one fetch (a token and a report at most)", visitors, n)
			}
		})
	}
}

// openLink follows a share link as a person's browser does.
func openLink(t *testing.T, link string) {
	t.Helper()
	req, err := http.NewRequest("GET", link, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("opening %s: %d, want the page saying where it leads", link, resp.StatusCode)
	}
}

// A recommendation Parley refuses (to someone who is no friend) shows why,
// in a form that holds what the member wrote, under the same
// Idempotency-Key: sent again once put right, or as it is should the card
// have gone out after all, it posts one card.
func TestMovieClub_ARefusedRecommendationKeepsItsForm(t *testing.T) {
	c := startClub(t)
	r := c.signInAlice(t)
	key := regexp.MustCompile(`name="key" value="([^"]+)"`)
	sent := key.FindStringSubmatch(r.home.Body)
	page := r.b.Submit(t, r.home, url.Values{"film": {"metropolis"}, "friend": {"nobody"}, "note": {"See the robot"}})
	kept := key.FindStringSubmatch(page.Body)
	for _, want := range []string{`value="metropolis" checked`, `value="nobody"`, `value="See the robot"`, "Parley did not send it"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("the refused recommendation's page lacks %s:\n%s", want, page.Body)
		}
	}
	if sent == nil || kept == nil || kept[1] != sent[1] {
		t.Errorf("the form's key was %v, and %v after the refusal; want the same", sent, kept)
	}
}
