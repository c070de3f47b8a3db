package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
)

// xss are strings that must show as text wherever a page writes them.
var xss = []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`}

// Where operators review every member's app, the console's page of an
// approved app says that a new redirect URI sends it back to review, and
// saving one says the app now waits for the operators: no one can connect
// it, and its tokens are refused.
func TestDeveloperConsole_RedirectURIUnderReview(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, func(c *config.Config) { c.AppsRequireReview = true })
	ctx := context.Background()
	env.MustMember(t, "mallory")
	b := newScriptless(t, env.URL)
	b.signIn("mallory")
	console := b.get("/account/developer")
	created := b.post(console, "/account/developer/apps", url.Values{"name": {"Steal"}, "redirect_uris": {"https://steal.example/cb"}, "client_type": {"confidential"}})
	clientID := regexp.MustCompile(`<code id="client-id">([^<]+)</code>`).FindStringSubmatch(created.body)
	if created.status != http.StatusCreated || clientID == nil {
		t.Fatalf("registering: %d\n%s", created.status, created.body)
	}
	svc := env.Server.Service
	if _, err := svc.ApproveApp(service.ConsoleContext(ctx), clientID[1]); err != nil {
		t.Fatal(err)
	}
	appURL := "/account/developer/apps/" + clientID[1]
	page := b.get(appURL)
	if !strings.Contains(page.body, `id="redirect-review">Adding or changing a redirect URI sends the app back to this server's operators for review`) {
		t.Errorf("the page does not say that a new redirect URI sends the app back to review:\n%s", page.body)
	}
	saved := b.post(page, appURL+"/redirect-uris", url.Values{"redirect_uris": {"https://steal.example/cb\nhttps://evil.example/steal"}})
	if !strings.Contains(saved.body, "Saved the redirect URIs. The app waits for this server&#39;s operators to review it") {
		t.Errorf("saving a redirect URI operators did not see:\n%s", saved.body)
	}
	if _, err := svc.OAuthApp(ctx, clientID[1]); parley.ErrorCode(err) != parley.EFORBIDDEN {
		t.Errorf("a sign-in with the app after the change: %v, want EFORBIDDEN", err)
	}
}

// The console's form for a webhook endpoint says what is wrong with its
// URL in a sentence that spells "URL" as it is spelled: not "Url".
func TestDeveloperConsole_WebhookURLRefusalsSayURL(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	tunes := env.MustPartnerOf(t, "Tunes", "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	tunesURL := "/account/developer/apps/" + tunes.App.ClientID
	page := b.get(tunesURL)
	for _, u := range []string{"http://hooks.example/in", "ftp://hooks.example/in", "https://127.0.0.1/in", "https://10.0.0.1/in", "https:///in", "https://0x7f.1/in"} {
		p := b.post(page, tunesURL+"/webhooks", url.Values{"url": {u}, "events": {"grant.revoked"}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "URL must") || strings.Contains(p.body, "Url") {
			t.Errorf("an endpoint at %s: %d, want 400 saying what the URL must be:\n%s", u, p.status, p.body)
		}
	}
}

// In the developer console a member registers an app, sees its client
// secret once, edits its redirect URIs, rotates the secret (the page says
// until when the old one works beside the new, and a button stops it at
// once), adds a webhook endpoint and sees its
// signing secret once, reads its deliveries and sends one again, and sees
// the share report as a chart. Another member finds none of it. Every name,
// purpose and URI shows as text.
func TestDeveloperConsole(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.WebhooksAllowPrivate = true })
	ctx := context.Background()
	env.MustMember(t, "alice")
	env.MustMember(t, "mallory")
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	b := newScriptless(t, env.URL)
	b.signIn("alice")

	console := b.get("/account/developer")
	if console.status != http.StatusOK || !strings.Contains(console.body, `<h1>Developer console</h1>`) || strings.Contains(console.body, `id="my-app-list"`) {
		t.Fatalf("console of a member without apps: %d\n%s", console.status, console.body)
	}
	bad := b.post(console, "/account/developer/apps", url.Values{"name": {"Films"}, "redirect_uris": {"http://films.example/cb"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "plain http is allowed only on loopback") || !strings.Contains(bad.body, `value="Films"`) {
		t.Errorf("a bad registration: %d\n%s", bad.status, bad.body)
	}
	created := b.post(console, "/account/developer/apps", url.Values{
		"name": {xss[0]}, "purpose": {xss[1]}, "homepage": {"https://films.example/"},
		"redirect_uris": {"https://films.example/cb\n\nhttp://127.0.0.1:9/cb"}, "client_type": {"confidential"},
	})
	secret := regexp.MustCompile(`id="client-secret" readonly[^>]*>(pcs_[^<]+)</textarea>`).FindStringSubmatch(created.body)
	clientID := regexp.MustCompile(`<code id="client-id">([^<]+)</code>`).FindStringSubmatch(created.body)
	if created.status != http.StatusCreated || secret == nil || clientID == nil {
		t.Fatalf("registering: %d\n%s", created.status, created.body)
	}
	appURL := "/account/developer/apps/" + clientID[1]
	svc := env.Server.Service
	if _, err := svc.AuthenticateClient(ctx, clientID[1], secret[1]); err != nil {
		t.Errorf("the secret shown does not authenticate: %v", err)
	}
	page := b.get(appURL)
	if strings.Contains(page.body, secret[1]) || strings.Contains(page.body, "client-secret") {
		t.Error("the secret is shown again")
	}
	for _, s := range xss {
		if strings.Contains(page.body, s) || !strings.Contains(page.body, html.EscapeString(s)) {
			t.Errorf("%q is not escaped on the app's page", s)
		}
	}
	if !strings.Contains(b.get("/account/developer").body, `&lt;script&gt;alert(1)&lt;/script&gt;</a>`) {
		t.Error("the app's name is not escaped in the list of apps")
	}

	t.Run("RedirectURIs", func(t *testing.T) {
		if strings.Contains(page.body, `id="redirect-review"`) {
			t.Error("an app not approved for all conversations is warned that a new redirect URI withdraws that approval")
		}
		if _, err := svc.ApproveAllThreads(service.ConsoleContext(ctx), clientID[1]); err != nil {
			t.Fatal(err)
		}
		if approved := b.get(appURL); !strings.Contains(approved.body, `id="redirect-review"`) {
			t.Errorf("an app approved for all conversations is not told that a new redirect URI withdraws the approval:\n%s", approved.body)
		}
		p := b.post(page, appURL+"/redirect-uris", url.Values{"redirect_uris": {"https://films.example/new\n" + xss[1]}})
		if p.status != http.StatusBadRequest || strings.Contains(p.body, xss[1]) || !strings.Contains(p.body, `class="error"`) {
			t.Errorf("bad URIs: %d\n%s", p.status, p.body)
		}
		p = b.post(page, appURL+"/redirect-uris", url.Values{"redirect_uris": {"https://films.example/new\nhttp://localhost:8080/cb"}})
		if !strings.Contains(p.body, "Saved the redirect URIs") {
			t.Fatalf("saving URIs:\n%s", p.body)
		}
		app, err := svc.OAuthApp(ctx, clientID[1])
		if err != nil || strings.Join(app.RedirectURIs, " ") != "https://films.example/new http://localhost:8080/cb" {
			t.Errorf("redirect URIs stored: %v, %v", app, err)
		}
	})

	t.Run("RotateSecret", func(t *testing.T) {
		if strings.Contains(page.body, `id="old-secret"`) {
			t.Error("an app never rotated shows an old secret")
		}
		until := func() string {
			return env.Clock.Now().Add(parley.AppSecretRotation).UTC().Format("2 Jan 2006 15:04 UTC")
		}
		from := until()
		p := b.post(page, appURL+"/secret", url.Values{})
		fresh := regexp.MustCompile(`id="client-secret" readonly[^>]*>(pcs_[^<]+)</textarea>`).FindStringSubmatch(p.body)
		if fresh == nil || fresh[1] == secret[1] {
			t.Fatalf("rotating:\n%s", p.body)
		}
		said := regexp.MustCompile(`id="old-secret">The old secret still works until <time[^>]*>([^<]+)</time>`).FindStringSubmatch(p.body)
		if said == nil || said[1] != from && said[1] != until() || !strings.Contains(p.body, "Stop accepting the old secret now") {
			t.Errorf("after rotating, the page does not say the old secret works until %s:\n%s", from, p.body)
		}
		for name, s := range map[string]string{"Old": secret[1], "New": fresh[1]} {
			if _, err := svc.AuthenticateClient(ctx, clientID[1], s); err != nil {
				t.Errorf("%s secret after rotating: %v", name, err)
			}
		}
		ended := b.post(b.get(appURL), appURL+"/secret/end-old", url.Values{})
		if ended.status != http.StatusOK || !strings.Contains(ended.body, "The old client secret no longer works.") ||
			strings.Contains(ended.body, `id="old-secret"`) {
			t.Errorf("stopping the old secret: %d\n%s", ended.status, ended.body)
		}
		if _, err := svc.AuthenticateClient(ctx, clientID[1], secret[1]); err == nil {
			t.Error("the old secret still works after it was stopped")
		}
		if _, err := svc.AuthenticateClient(ctx, clientID[1], fresh[1]); err != nil {
			t.Errorf("the new secret after stopping the old: %v", err)
		}
	})

	t.Run("Webhooks", func(t *testing.T) {
		tunes := env.MustPartnerOf(t, "Tunes", "alice")
		tunesURL := "/account/developer/apps/" + tunes.App.ClientID
		p := b.post(page, tunesURL+"/webhooks", url.Values{"url": {receiver.URL + "/hook"}, "events": {"grant.revoked"}})
		hookSecret := regexp.MustCompile(`id="hook-secret" readonly[^>]*>(whsec_[^<]+)</textarea>`).FindStringSubmatch(p.body)
		hookLink := regexp.MustCompile(`href="(` + regexp.QuoteMeta(tunesURL) + `/webhooks/[^"]+)"`).FindStringSubmatch(p.body)
		if p.status != http.StatusCreated || hookSecret == nil || hookLink == nil {
			t.Fatalf("adding an endpoint: %d\n%s", p.status, p.body)
		}
		if again := b.get(tunesURL); strings.Contains(again.body, hookSecret[1]) {
			t.Error("the signing secret is shown again")
		}
		hook := b.get(hookLink[1])
		if !strings.Contains(hook.body, `id="no-deliveries"`) {
			t.Errorf("a new endpoint's deliveries:\n%s", hook.body)
		}
		// A delivery: bob connects Tunes and revokes it.
		env.Clock.Advance(parley.WebhookActivation)
		bob := env.MustMember(t, "bob")
		env.MustToken(t, tunes, "bob", []string{"openid"}, apptest.Answer{})
		apps, err := bob.ConnectedApps(ctx)
		if err != nil || len(apps) != 1 {
			t.Fatalf("bob's apps: %v, %v", apps, err)
		}
		if err := bob.RevokeGrant(ctx, apps[0].ID); err != nil {
			t.Fatal(err)
		}
		hook = b.get(hookLink[1])
		redeliver := regexp.MustCompile(`action="([^"]+/redeliver)"`).FindStringSubmatch(hook.body)
		if redeliver == nil || !strings.Contains(hook.body, "<td>grant.revoked</td>") {
			t.Fatalf("no delivery to redeliver:\n%s", hook.body)
		}
		if p := b.post(hook, redeliver[1], url.Values{}); !strings.Contains(p.body, "The delivery is being sent again") {
			t.Errorf("redelivering:\n%s", p.body)
		}
		if p := b.post(hook, hookLink[1]+"/delete", url.Values{}); !strings.Contains(p.body, "Deleted the webhook endpoint") {
			t.Errorf("deleting:\n%s", p.body)
		}
	})

	t.Run("ReportChart", func(t *testing.T) {
		if !strings.Contains(page.body, `<img class="chart" src="`+appURL+`/report.svg"`) {
			t.Errorf("no chart on the app's page")
		}
		chart := b.get(appURL + "/report.svg")
		if chart.status != http.StatusOK || chart.header.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(chart.body, "<svg") ||
			chart.header.Get("Content-Security-Policy") != "default-src 'none'" {
			t.Errorf("chart: %d %s\n%.200s", chart.status, chart.header, chart.body)
		}
		// On a phone's screen the page shows a chart drawn for it, about
		// as wide as the screen, all of whose text is 12 units or more: at
		// least 11 px as a 375 px screen shows it.
		if !strings.Contains(page.body, `<source media="(max-width: 60rem)" srcset="`+appURL+`/report.svg?layout=narrow" width="320" height="480">`) {
			t.Errorf("no narrow chart on the app's page:\n%s", between(t, page.body, `<picture>`, `</picture>`))
		}
		narrow := b.get(appURL + "/report.svg?layout=narrow")
		if narrow.status != http.StatusOK || narrow.header.Get("Content-Type") != "image/svg+xml" ||
			!strings.HasPrefix(narrow.body, `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="480"`) {
			t.Errorf("narrow chart: %d %s\n%.200s", narrow.status, narrow.header, narrow.body)
		}
		for _, size := range regexp.MustCompile(`font-size="([0-9.]+)"`).FindAllStringSubmatch(narrow.body, -1) {
			if n, _ := strconv.ParseFloat(size[1], 64); n < 12 {
				t.Errorf("the narrow chart has text of %s units", size[1])
			}
		}
		if p := b.get(appURL + "/report.svg?layout=tiny"); p.status != http.StatusBadRequest {
			t.Errorf("a chart of layout tiny: %d", p.status)
		}
	})

	t.Run("NotAnothers", func(t *testing.T) {
		m := newScriptless(t, env.URL)
		m.signIn("mallory")
		for _, path := range []string{appURL, appURL + "/report.svg", appURL + "/report.svg?layout=narrow"} {
			if p := m.get(path); p.status != http.StatusNotFound {
				t.Errorf("mallory GET %s: %d", path, p.status)
			}
		}
		own := m.get("/account/developer")
		for _, path := range []string{appURL + "/secret", appURL + "/secret/end-old", appURL + "/redirect-uris", appURL + "/webhooks", appURL + "/delete"} {
			if p := m.post(own, path, url.Values{"redirect_uris": {"https://evil.example/cb"}, "url": {receiver.URL}}); p.status != http.StatusNotFound {
				t.Errorf("mallory POST %s: %d", path, p.status)
			}
		}
	})
}

// An app an operator deleted is gone from its owner's console: its page
// is not found, and nothing of it can be changed there.
func TestDeveloperConsole_DeletedAppIsGone(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "dev")
	id := env.MustPartnerOf(t, "Films", "dev").App.App.ClientID
	if _, err := env.Server.Service.DeleteApp(service.ConsoleContext(context.Background()), id); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("dev")
	console := b.get("/account/developer")
	if strings.Contains(console.body, id) {
		t.Fatalf("the console lists the deleted app")
	}
	if p := b.get("/account/developer/apps/" + id); p.status != http.StatusNotFound {
		t.Errorf("the deleted app's page: %d, want 404", p.status)
	}
	for path, form := range map[string]url.Values{
		"/webhooks":      {"url": {"https://hooks.example/in"}, "events": {"message.created"}},
		"/secret":        {},
		"/redirect-uris": {"redirect_uris": {"https://films.example/cb"}},
	} {
		if p := b.post(console, "/account/developer/apps/"+id+path, form); p.status != http.StatusNotFound {
			t.Errorf("POST %s of the deleted app: %d, want 404", path, p.status)
		}
	}
}

// An app's owner deletes it from its page, behind a confirmation: the
// console says so and lists it no more, its page is gone, and the grants
// members gave it have ended.
func TestDeveloperConsole_OwnerDeletesApp(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "dev")
	env.MustMember(t, "bob")
	films := env.MustPartnerOf(t, "Films", "dev")
	id := films.App.ClientID
	tok := env.MustToken(t, films, "bob", []string{"openid", "profile"}, apptest.Answer{})
	b := newScriptless(t, env.URL)
	b.signIn("dev")
	appURL := "/account/developer/apps/" + id
	page := b.get(appURL)
	if !strings.Contains(page.body, `<details class="confirm"><summary>Delete this app</summary>`) ||
		!strings.Contains(page.body, `action="`+appURL+`/delete"`) {
		t.Fatalf("the app's page offers no deletion behind a confirmation:\n%s", page.body)
	}
	console := b.post(page, appURL+"/delete", url.Values{})
	if console.status != http.StatusOK || console.url.Path != "/account/developer" ||
		!strings.Contains(console.body, "Deleted the app") || strings.Contains(console.body, id) {
		t.Fatalf("after deleting, %d at %s:\n%s", console.status, console.url, console.body)
	}
	if p := b.get(appURL); p.status != http.StatusNotFound {
		t.Errorf("the deleted app's page: %d, want 404", p.status)
	}
	if _, err := env.Client.WithToken(tok.AccessToken).Me(context.Background()); client.StatusOf(err) != http.StatusUnauthorized {
		t.Errorf("bob's token of the deleted app: %v, want 401", err)
	}
}

// The rotation form says which client secret it rotates: posted twice (a
// double click, or Reload on the page that shows the new secret), the
// second is refused, 409, saying the page is out of date, and
// changes nothing: the secret the app's servers use keeps its day of
// grace, and the one shown works beside it. The answer's own form
// rotates again.
func TestDeveloperConsole_RotatingFromOneFormTwiceRotatesOnce(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	env.MustMember(t, "alice")
	films := env.MustPartnerOf(t, "Films", "alice")
	clientID, inUse := films.App.ClientID, films.App.ClientSecret
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	appURL := "/account/developer/apps/" + clientID
	rotate := func(on *page) *page {
		t.Helper()
		mark := regexp.MustCompile(`name="old_until" value="([^"]*)"`).FindStringSubmatch(on.body)
		if mark == nil {
			t.Fatalf("the rotation form does not say which secret it rotates:\n%s", on.body)
		}
		return b.post(on, appURL+"/secret", url.Values{"old_until": {mark[1]}})
	}
	secretIn := func(p *page) string {
		t.Helper()
		m := regexp.MustCompile(`id="client-secret" readonly[^>]*>(pcs_[^<]+)</textarea>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no new secret shown: %d\n%s", p.status, p.body)
		}
		return m[1]
	}
	page := b.get(appURL)
	first := rotate(page)
	shown := secretIn(first)
	second := rotate(page)
	if second.status != http.StatusConflict || !strings.Contains(second.body, "This page is out of date: the secret was rotated") || strings.Contains(second.body, "pcs_") {
		t.Errorf("the same form posted again: %d\n%s", second.status, second.body)
	}
	for name, s := range map[string]string{"in use": inUse, "shown": shown} {
		if _, err := env.Server.Service.AuthenticateClient(ctx, clientID, s); err != nil {
			t.Errorf("the secret %s, after the form was posted twice: %v", name, err)
		}
	}
	if third := secretIn(rotate(first)); third == shown {
		t.Errorf("rotating from the answer's form gave the same secret")
	}
	if _, err := env.Server.Service.AuthenticateClient(ctx, clientID, inUse); err == nil {
		t.Error("the first secret works after a second rotation asked for")
	}
}

// The registration form carries a one-use key: posted twice (a double
// click, or Reload on the page that shows the client secret), it
// registers one app, and the second answer is that app's page, which says
// the secret was shown in answer to the first, or, once the app is
// deleted, 409. A form shown afresh registers another.
func TestDeveloperConsole_RegisteringFromOneFormTwiceMakesOneApp(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	forms := 0 // each form its own app's name, as a live app's is refused
	names := map[string]string{}
	register := func(console *page) *page {
		t.Helper()
		key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(console.body)
		if key == nil {
			t.Fatalf("the registration form carries no key:\n%s", console.body)
		}
		if names[key[1]] == "" {
			forms++
			names[key[1]] = fmt.Sprint("Films ", forms)
		}
		return b.post(console, "/account/developer/apps", url.Values{
			"key": {key[1]}, "name": {names[key[1]]}, "redirect_uris": {"https://films.example/cb"}, "client_type": {"confidential"},
		})
	}
	apps := func() int { return strings.Count(b.get("/account/developer").body, `href="/account/developer/apps/`) }
	console := b.get("/account/developer")
	first := register(console)
	clientID := regexp.MustCompile(`<code id="client-id">([^<]+)</code>`).FindStringSubmatch(first.body)
	if first.status != http.StatusCreated || clientID == nil {
		t.Fatalf("registering: %d\n%s", first.status, first.body)
	}
	again := register(console)
	if again.url.Path != "/account/developer/apps/"+clientID[1] || !strings.Contains(again.body, "This form had registered the app already") || strings.Contains(again.body, "pcs_") {
		t.Errorf("the form posted again: %d at %s\n%s", again.status, again.url, again.body)
	}
	if n := apps(); n != 1 {
		t.Errorf("one registration form posted twice: the console lists %d apps", n)
	}
	if register(b.get("/account/developer")); apps() != 2 {
		t.Errorf("a form shown afresh: the console lists %d apps, want 2", apps())
	}
	// Its app deleted since, the form posted again registers nothing and
	// says why, where it would show a page that is gone.
	b.post(b.get("/account/developer/apps/"+clientID[1]), "/account/developer/apps/"+clientID[1]+"/delete", url.Values{})
	if gone := register(console); gone.status != http.StatusConflict || !strings.Contains(gone.body, "which has been deleted since") || apps() != 1 {
		t.Errorf("the form posted again after its app was deleted: %d at %s, the console lists %d apps\n%s", gone.status, gone.url, apps(), gone.body)
	}
}

// A member who has parley.MaxOwnApps apps is refused another on the
// console itself, 409 with the form kept and what to do, and nothing is
// registered; the form that registered the last app, posted again, still
// answers with that app's page.
func TestDeveloperConsole_RegisteringPastTheCapIsRefusedOnThePage(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	forms := 0 // each form its own app's name, as a live app's is refused
	names := map[string]string{}
	register := func(console *page) *page {
		t.Helper()
		key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(console.body)
		if key == nil {
			t.Fatalf("the registration form carries no key:\n%s", console.body)
		}
		if names[key[1]] == "" {
			forms++
			names[key[1]] = fmt.Sprint("Films ", forms)
		}
		return b.post(console, "/account/developer/apps", url.Values{
			"key": {key[1]}, "name": {names[key[1]]}, "redirect_uris": {"https://films.example/cb"}, "client_type": {"confidential"},
		})
	}
	apps := func() int { return strings.Count(b.get("/account/developer").body, `href="/account/developer/apps/`) }
	var last *page
	for range parley.MaxOwnApps {
		last = b.get("/account/developer")
		if p := register(last); p.status != http.StatusCreated {
			t.Fatalf("registering: %d\n%s", p.status, p.body)
		}
	}
	if again := register(last); again.status != http.StatusOK || !strings.Contains(again.body, "This form had registered the app already") {
		t.Errorf("the last form posted again: %d at %s\n%s", again.status, again.url, again.body)
	}
	refused := register(b.get("/account/developer"))
	if refused.status != http.StatusConflict || !strings.Contains(refused.body, `role="alert"`) ||
		!strings.Contains(refused.body, "delete one you no longer use") || !strings.Contains(refused.body, `>https://films.example/cb</textarea>`) {
		t.Errorf("one app too many: %d at %s\n%s", refused.status, refused.url, refused.body)
	}
	if n := apps(); n != parley.MaxOwnApps {
		t.Errorf("the console lists %d apps, want %d", n, parley.MaxOwnApps)
	}
}

// A member who registered parley.MaxAppsPerDay apps in 24 hours, deleted
// since or not, is refused another on the console itself, 429 with the
// form kept and when to try again, and nothing is registered; the form
// that registered the day's last app, posted again, still answers with
// that app's page.
func TestDeveloperConsole_RegisteringPastTheDaysAppsIsRefusedOnThePage(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice := env.MustMember(t, "alice")
	for i := range parley.MaxAppsPerDay - 1 {
		var a struct {
			ClientID string `json:"client_id"`
		}
		if _, err := alice.Do(ctx, "POST", "/api/v1/apps", map[string]any{"name": fmt.Sprint("Tunes ", i), "redirect_uris": []string{"https://tunes.example/cb"}}, &a); err != nil {
			t.Fatal(err)
		}
		if err := alice.DeleteApp(ctx, a.ClientID); err != nil {
			t.Fatal(err)
		}
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	register := func(console *page, name string) *page {
		t.Helper()
		key := regexp.MustCompile(`name="key" value="([^"]+)"`).FindStringSubmatch(console.body)
		if key == nil {
			t.Fatalf("the registration form carries no key:\n%s", console.body)
		}
		return b.post(console, "/account/developer/apps", url.Values{
			"key": {key[1]}, "name": {name}, "redirect_uris": {"https://films.example/cb"}, "client_type": {"confidential"},
		})
	}
	last := b.get("/account/developer")
	if p := register(last, "Films"); p.status != http.StatusCreated {
		t.Fatalf("the day's last registration: %d\n%s", p.status, p.body)
	}
	if again := register(last, "Films"); again.status != http.StatusOK || !strings.Contains(again.body, "This form had registered the app already") {
		t.Errorf("the last form posted again: %d at %s\n%s", again.status, again.url, again.body)
	}
	refused := register(b.get("/account/developer"), "Films Club")
	if refused.status != http.StatusTooManyRequests || !strings.Contains(refused.body, `role="alert"`) ||
		!strings.Contains(refused.body, "a member may register 20 a day; try again in 24 hours") || !strings.Contains(refused.body, `value="Films Club"`) {
		t.Errorf("one app too many in a day: %d at %s\n%s", refused.status, refused.url, refused.body)
	}
	if apps, err := alice.Apps(ctx); err != nil || len(apps) != 1 {
		t.Errorf("alice's apps: %+v, %v; want Films alone", apps, err)
	}
}

// The console refuses, on its page with the form kept, a name another
// live app has (409) and one holding the server's own name (400), as the
// API does; nothing is registered.
func TestDeveloperConsole_RefusesANameThatPassesForAnother(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustPartner(t, "Films")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	for name, status := range map[string]int{"films": http.StatusConflict, "Parley Security": http.StatusBadRequest} {
		p := b.post(b.get("/account/developer"), "/account/developer/apps", url.Values{
			"name": {name}, "redirect_uris": {"https://films.example/cb"}, "client_type": {"confidential"},
		})
		if p.status != status || !strings.Contains(p.body, `role="alert"`) || !strings.Contains(p.body, `value="`+name+`"`) {
			t.Errorf("registering %q: %d, want %d with the form kept\n%s", name, p.status, status, p.body)
		}
	}
	if n := strings.Count(b.get("/account/developer").body, `href="/account/developer/apps/`); n != 0 {
		t.Errorf("the console lists %d apps, want none", n)
	}
}

// An app's purpose in lines, as long as the form lets a member write it
// (maxlength="500", which counts a line break as one character), is
// registered as written: a browser posts each line break as CR LF, which
// is not counted twice, nor kept.
func TestDeveloperConsole_PurposeLineBreaksCountOnce(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	line := strings.Repeat("x", 49)
	purpose := strings.Repeat(line+"\n", 9) + line + "y" // 500 characters, 9 of them line breaks
	console := b.get("/account/developer")
	created := b.post(console, "/account/developer/apps", url.Values{
		"name": {"Films"}, "purpose": {strings.ReplaceAll(purpose, "\n", "\r\n")},
		"redirect_uris": {"https://films.example/cb\r\nhttps://films.example/cb2"}, "client_type": {"confidential"},
	})
	if created.status != http.StatusCreated {
		t.Fatalf("a purpose of %d characters with line breaks posted as CR LF: %d\n%s", utf8.RuneCountInString(purpose), created.status, created.body)
	}
	if !strings.Contains(created.body, purpose) || strings.Contains(created.body, "\r") {
		t.Errorf("the app's page does not show its purpose as written:\n%s", created.body)
	}
}
