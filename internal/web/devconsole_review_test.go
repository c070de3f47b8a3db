package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
)

// tickedEvents are the events the page's endpoint form holds ticked.
func tickedEvents(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`name="events" value="([^"]+)" checked`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The endpoint form on an app's page starts with no event ticked, and says
// to tick only what the app acts on. Refused, it comes back as it was
// posted: the URL typed and only the events ticked, so that posted again
// it subscribes to no more than the developer chose. With no event ticked
// it is refused, saying so, and nothing is registered.
func TestDeveloperConsole_WebhookFormKeepsWhatWasTyped(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	films := env.MustPartnerOf(t, "Films", "alice")
	appURL := "/account/developer/apps/" + films.App.ClientID
	b := newScriptless(t, env.URL)
	b.signIn("alice")

	page := b.get(appURL)
	if got := tickedEvents(page.body); len(got) != 0 {
		t.Errorf("on first load the form ticks %v, want nothing", got)
	}
	if !strings.Contains(page.body, "Tick only the events your app acts on.") {
		t.Errorf("the form does not say to tick only what the app acts on:\n%s", between(t, page.body, `id="hooks-title"`, `</fieldset>`))
	}

	typo := "htps://films.example/hooks"
	bad := b.post(page, appURL+"/webhooks", url.Values{"url": {typo}, "events": {"grant.revoked"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `class="error"`) {
		t.Fatalf("a mistyped URL: %d\n%s", bad.status, bad.body)
	}
	if !strings.Contains(bad.body, `id="hook-url" type="text" inputmode="url" name="url" value="`+typo+`"`) {
		t.Errorf("the form forgot the URL typed:\n%s", between(t, bad.body, `id="hooks-title"`, `</fieldset>`))
	}
	// Said by the form, which the answer opens at, not at the page's top.
	if !strings.Contains(bad.body, `action="`+appURL+`/webhooks#webhooks"`) ||
		!regexp.MustCompile(`(?s)<section class="card-box" id="webhooks".*<p class="error" role="alert" id="hook-error">URL must be`).MatchString(bad.body) {
		t.Errorf("the error is not said by the endpoint form:\n%s", bad.body)
	}
	if got := tickedEvents(bad.body); len(got) != 1 || got[0] != "grant.revoked" {
		t.Errorf("after a mistake the form ticks %v, want only grant.revoked", got)
	}

	none := b.post(page, appURL+"/webhooks", url.Values{"url": {"https://films.example/hooks"}})
	if none.status != http.StatusBadRequest || !strings.Contains(none.body, "Tick at least one event: those your app acts on.") ||
		!strings.Contains(none.body, `value="https://films.example/hooks"`) || len(tickedEvents(none.body)) != 0 {
		t.Errorf("no event ticked: %d\n%s", none.status, none.body)
	}
	if hooks, err := alice.Webhooks(ctx, films.App.ClientID); err != nil || len(hooks) != 0 {
		t.Fatalf("after two refused forms, endpoints %+v, %v", hooks, err)
	}

	ok := b.post(bad, appURL+"/webhooks", url.Values{"url": {"http://127.0.0.1:9/hooks"}, "events": tickedEvents(bad.body)})
	if ok.status != http.StatusCreated || len(tickedEvents(ok.body)) != 0 || strings.Contains(ok.body, `name="url" value="http`) {
		t.Errorf("registered, the form is not blank again: %d\n%s", ok.status, between(t, ok.body, `id="hooks-title"`, `</fieldset>`))
	}
	hooks, err := alice.Webhooks(ctx, films.App.ClientID)
	if err != nil || len(hooks) != 1 || strings.Join(hooks[0].Events, " ") != "grant.revoked" {
		t.Errorf("the endpoint registered: %+v, %v", hooks, err)
	}
}

// An app's page says what its state means, in words: waiting for review,
// active, suspended. The registration form says, by the name, purpose and
// homepage, that they cannot be changed later: the console edits only the
// redirect URIs, and the API nothing of an app.
func TestDeveloperConsole_SaysWhatTheAppsStateMeans(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.AppsRequireReview = true })
	ctx := service.ConsoleContext(context.Background())
	env.MustMember(t, "dev")
	b := newScriptless(t, env.URL)
	b.signIn("dev")

	console := b.get("/account/developer")
	for _, label := range []string{
		`<label for="app-name">Name <span class="note">(cannot be changed later)</span></label>`,
		`<label for="app-purpose">Purpose <span class="note">(shown to members when they connect it; cannot be changed later)</span></label>`,
		`<label for="app-homepage">Homepage <span class="note">(cannot be changed later)</span></label>`,
	} {
		if !strings.Contains(console.body, label) {
			t.Errorf("the registration form lacks %s", label)
		}
	}
	created := b.post(console, "/account/developer/apps", url.Values{
		"name": {"Films"}, "redirect_uris": {"https://films.example/cb"}, "client_type": {"confidential"},
	})
	clientID := regexp.MustCompile(`<code id="client-id">([^<]+)</code>`).FindStringSubmatch(created.body)
	if created.status != http.StatusCreated || clientID == nil {
		t.Fatalf("registering: %d\n%s", created.status, created.body)
	}
	if list := b.get("/account/developer").body; !strings.Contains(list, "confidential · waiting for review") {
		t.Errorf("the console's list of apps does not say Films waits for review:\n%s", list)
	}
	appURL := "/account/developer/apps/" + clientID[1]
	state := func() string {
		t.Helper()
		m := regexp.MustCompile(`<dd id="app-state">([^<]*)</dd>`).FindStringSubmatch(b.get(appURL).body)
		if m == nil {
			t.Fatal("the app's page says no state")
		}
		return m[1]
	}
	for _, step := range []struct {
		name string
		do   func() (*parley.App, error)
		want string
	}{
		{"Pending", func() (*parley.App, error) { return nil, nil },
			"Waiting for this server&#39;s operators to review it: no member can connect it yet."},
		{"Approved", func() (*parley.App, error) { return env.Server.Service.ApproveApp(ctx, clientID[1]) },
			"Active: members can connect it, for the conversations they choose."},
		{"Suspended", func() (*parley.App, error) { return env.Server.Service.SuspendApp(ctx, clientID[1]) },
			"Suspended by this server&#39;s operators: no member can connect it"},
	} {
		if _, err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := state(); !strings.HasPrefix(got, step.want) {
			t.Errorf("%s: the page says %q, want %q", step.name, got, step.want)
		}
	}
}

// receiver is a webhook endpoint on loopback that answers with the status
// it is set to and keeps what it was sent.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	got    []received
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status int) *receiver {
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.got = append(rc.got, received{r.Header.Clone(), body})
		w.WriteHeader(rc.status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) answer(status int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// hookWorld is alice's app Films with one endpoint, for grant.revoked, at
// a receiver on loopback, and alice signed in to the console in a
// browser without script, on the endpoint's page's path hookURL.
type hookWorld struct {
	env     *apptest.Env
	alice   *client.Client
	films   *apptest.Partner
	rc      *receiver
	ep      *client.WebhookEndpoint
	hookURL string
	b       *scriptless
}

// newHookWorld makes a hookWorld whose receiver answers status.
func newHookWorld(t *testing.T, status int) *hookWorld {
	t.Helper()
	w := &hookWorld{env: apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })}
	w.alice = w.env.MustMember(t, "alice")
	w.films = w.env.MustPartnerOf(t, "Films", "alice")
	w.rc = newReceiver(t, status)
	var err error
	if w.ep, err = w.alice.CreateWebhook(context.Background(), w.films.App.ClientID, w.rc.URL+"/hooks", []string{"grant.revoked"}); err != nil {
		t.Fatal(err)
	}
	w.hookURL = "/account/developer/apps/" + w.films.App.ClientID + "/webhooks/" + w.ep.ID
	w.b = newScriptless(t, w.env.URL)
	w.b.signIn("alice")
	return w
}

// eventually retries cond, waking the delivery workers, for up to ten
// seconds.
func eventually(t *testing.T, env *apptest.Env, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		env.Server.Service.WakeWebhooks()
		time.Sleep(20 * time.Millisecond)
	}
}

// connectAndRevoke makes one grant.revoked for app: username connects it
// and revokes it.
func connectAndRevoke(t *testing.T, env *apptest.Env, app *apptest.Partner, username string) {
	t.Helper()
	member := env.MustMember(t, username)
	env.MustToken(t, app, username, []string{"openid"}, apptest.Answer{})
	apps, err := member.ConnectedApps(context.Background())
	if err != nil || len(apps) != 1 {
		t.Fatalf("%s's apps: %v, %v", username, apps, err)
	}
	if err := member.RevokeGrant(context.Background(), apps[0].ID); err != nil {
		t.Fatal(err)
	}
}

var hookSecretShown = regexp.MustCompile(`id="hook-secret" readonly[^>]*>(whsec_[^<]+)</textarea>`)

// An endpoint's page rotates its signing secret: the new one is shown
// once, on a page no cache keeps, and the page says until when the old
// one signs beside it; a delivery then carries both signatures. The form
// says which secret it rotates: posted again (a reload of its answer), it
// is refused, 409, and changes nothing, so that the secret the receiver
// uses is not stopped at once by a second rotation.
func TestDeveloperConsole_RotatesAnEndpointsSigningSecret(t *testing.T) {
	w := newHookWorld(t, http.StatusNoContent)
	env, films, rc, ep, hookURL, b := w.env, w.films, w.rc, w.ep, w.hookURL, w.b

	page := b.get(hookURL)
	action := `action="` + hookURL + `/secret"`
	if !strings.Contains(page.body, action) || !strings.Contains(page.body, "For 24 hours the old one signs beside it") ||
		strings.Contains(page.body, `id="old-hook-secret"`) {
		t.Fatalf("the endpoint's page offers no rotation, or says it wrong:\n%s", page.body)
	}
	mark := regexp.MustCompile(`name="old_until" value="([^"]*)"`).FindStringSubmatch(page.body)
	if mark == nil {
		t.Fatalf("the rotation form does not say which secret it rotates:\n%s", page.body)
	}
	rotated := b.post(page, hookURL+"/secret", url.Values{"old_until": {mark[1]}})
	fresh := hookSecretShown.FindStringSubmatch(rotated.body)
	if rotated.status != http.StatusOK || fresh == nil || fresh[1] == ep.Secret {
		t.Fatalf("rotating: %d\n%s", rotated.status, rotated.body)
	}
	if cc := rotated.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the page showing the new secret is Cache-Control %q", cc)
	}
	until := env.Clock.Now().Add(parley.WebhookSecretRotation).UTC().Format("2 Jan 2006 15:04 UTC")
	said := regexp.MustCompile(`id="old-hook-secret">The old secret signs until <time[^>]*>([^<]+)</time>`).FindStringSubmatch(rotated.body)
	if said == nil || said[1] != until {
		t.Errorf("after rotating, the page does not say the old secret signs until %s:\n%s", until, rotated.body)
	}
	if again := b.get(hookURL); strings.Contains(again.body, fresh[1]) || strings.Contains(again.body, `id="hook-secret"`) {
		t.Error("the new signing secret is shown again")
	}

	twice := b.post(page, hookURL+"/secret", url.Values{"old_until": {mark[1]}})
	if twice.status != http.StatusConflict || !strings.Contains(twice.body, "This page is out of date: the signing secret was rotated") ||
		strings.Contains(twice.body, "whsec_") {
		t.Errorf("the same form posted again: %d\n%s", twice.status, twice.body)
	}

	// A delivery verifies with the secret the receiver had and with the
	// one shown: the second post rotated nothing.
	env.Clock.Advance(parley.WebhookActivation)
	connectAndRevoke(t, env, films, "bob")
	eventually(t, env, "a delivery", func() bool { return len(rc.received()) > 0 })
	d := rc.received()[0]
	// The page writes a + of the secret as &#43;, which the browser reads
	// as +.
	for name, secret := range map[string]string{"old": ep.Secret, "new": html.UnescapeString(fresh[1])} {
		if err := client.VerifyWebhook(secret, d.header, d.body, env.Clock.Now()); err != nil {
			t.Errorf("the delivery with the %s secret: %v", name, err)
		}
	}

	// The same form posted twice at once, a double click, rotates once:
	// the other post is refused, as the secret it names was rotated
	// meanwhile.
	now := b.get(hookURL)
	mark = regexp.MustCompile(`name="old_until" value="([^"]*)"`).FindStringSubmatch(now.body)
	statuses := make(chan int)
	for range 2 {
		go func() { statuses <- b.post(now, hookURL+"/secret", url.Values{"old_until": {mark[1]}}).status }()
	}
	got := []int{<-statuses, <-statuses}
	if slices.Sort(got); !slices.Equal(got, []int{http.StatusOK, http.StatusConflict}) {
		t.Errorf("one form posted twice at once answered %v, want one rotation (200) and one refusal (409)", got)
	}

	// Another member cannot rotate it.
	m := newScriptless(t, env.URL)
	env.MustMember(t, "mallory")
	m.signIn("mallory")
	if p := m.post(m.get("/account/developer"), hookURL+"/secret", url.Values{}); p.status != http.StatusNotFound {
		t.Errorf("mallory rotating alice's endpoint's secret: %d", p.status)
	}
}

// A disabled endpoint's page says why and what to do, delete it and
// register it again, and offers neither Redeliver nor a rotation; a page
// shown before it was disabled, posted, is answered on the endpoint's
// page, saying it is disabled, not with an error page.
func TestDeveloperConsole_DisabledEndpointSaysWhatToDo(t *testing.T) {
	w := newHookWorld(t, http.StatusInternalServerError)
	ctx, env, alice, films, rc, ep, hookURL, b := context.Background(), w.env, w.alice, w.films, w.rc, w.ep, w.hookURL, w.b

	env.Clock.Advance(parley.WebhookActivation)
	connectAndRevoke(t, env, films, "bob")
	var before *page
	redeliver := regexp.MustCompile(`action="([^"]+/redeliver)"`)
	eventually(t, env, "a failed attempt", func() bool {
		before = b.get(hookURL)
		return strings.Contains(before.body, "500 in")
	})
	form := redeliver.FindStringSubmatch(before.body)
	if form == nil {
		t.Fatalf("an endpoint in use offers no Redeliver:\n%s", before.body)
	}
	rc.answer(http.StatusGone)
	if p := b.post(before, form[1], url.Values{}); !strings.Contains(p.body, "The delivery is being sent again") {
		t.Fatalf("redelivering: %d\n%s", p.status, p.body)
	}
	eventually(t, env, "the endpoint disabled", func() bool {
		e, err := alice.Webhook(ctx, films.App.ClientID, ep.ID)
		return err == nil && e.DisabledAt != nil
	})

	page := b.get(hookURL)
	if !strings.Contains(page.body, `id="disabled">Disabled `) || !strings.Contains(page.body, "To start over, delete it and register it again.") {
		t.Errorf("the disabled endpoint's page does not say what to do:\n%s", page.body)
	}
	if redeliver.MatchString(page.body) || strings.Contains(page.body, `action="`+hookURL+`/secret"`) {
		t.Errorf("the disabled endpoint's page offers Redeliver or a rotation:\n%s", page.body)
	}
	if !strings.Contains(page.body, `action="`+hookURL+`/delete"`) {
		t.Error("the disabled endpoint's page offers no deletion")
	}
	stale := b.post(before, form[1], url.Values{})
	if stale.status != http.StatusConflict || !strings.Contains(stale.body, "<h1>Deliveries to ") ||
		!strings.Contains(stale.body, `<p class="error" role="alert">The endpoint is disabled`) {
		t.Errorf("Redeliver from a page shown before the endpoint was disabled: %d\n%s", stale.status, stale.body)
	}
}
