package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// consentBody is alice's consent page for p asking scopes, with opts.
func consentBody(t *testing.T, p *apptest.Partner, scopes []string, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	cfg := *p.Config
	cfg.Scopes = scopes
	br := apptest.NewBrowser()
	page := br.Get(t, cfg.AuthCodeURL("s", append(opts, oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))...))
	page = br.Submit(t, page, url.Values{"username": {"alice"}, "password": {apptest.Password("alice")}})
	if page.URL.Path != "/oauth2/consent" {
		t.Fatalf("not at the consent page: %s\n%s", page.URL, page.Body)
	}
	return page.Body
}

// The consent page says, in its own words that no app's name or purpose
// can give, who registered the app, @username first, and whether this
// server's operators reviewed it; the app's name is isolated, so that its
// direction of text cannot turn the page's words around it.
func TestConsentPage_SaysWhoRegisteredTheAppAndWhetherItWasReviewed(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	env.MustMember(t, "mallory")
	scopes := []string{"openid"}
	for _, c := range []struct {
		name, want, not string
		app             *apptest.Partner
	}{
		{
			name: "MembersUnreviewed", app: env.MustPartnerOf(t, "Films", "mallory"),
			want: `Registered by <strong>@mallory</strong> <span class="note">(who shows as <bdi>Member mallory</bdi>)</span>, a member of this server. <strong>This server's operators have not reviewed it.</strong>`,
			not:  "Registered by this server's operators",
		},
		{
			name: "Operators", app: env.MustPartner(t, "Tunes"),
			want: `Registered by this server's operators.</p>`,
			not:  "not reviewed",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := consentBody(t, c.app, scopes)
			if !strings.Contains(body, c.want) || strings.Contains(body, c.not) {
				t.Errorf("the consent page lacks %q, or says %q:\n%s", c.want, c.not, body)
			}
			if want := `Connect <bdi>` + c.app.App.Name + `</bdi> to your Parley account?`; !strings.Contains(body, want) {
				t.Errorf("the consent page lacks %q", want)
			}
		})
	}
	t.Run("MembersReviewed", func(t *testing.T) {
		app := env.MustPartnerOf(t, "Books", "mallory")
		if _, err := env.Server.Service.ApproveAllThreads(service.ConsoleContext(context.Background()), app.App.ClientID); err != nil {
			t.Fatal(err)
		}
		body := consentBody(t, app, scopes)
		if want := `a member of this server. This server's operators have reviewed it.`; !strings.Contains(body, want) || strings.Contains(body, "not reviewed") {
			t.Errorf("the consent page lacks %q:\n%s", want, body)
		}
	})
}

// The consent page names the host the member's browser goes back to
// after they answer, the redirect URI's, and says so plainly when it is
// not the host of the app's website.
func TestConsentPage_SaysWhereTheMemberGoesBack(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	clone := env.MustPartner(t, "Films", func(a *service.NewApp) { a.Homepage = "https://films.example/" })
	body := consentBody(t, clone, []string{"openid"})
	if want := `After you answer, you go back to <strong>127.0.0.1:9</strong>. <strong class="warning">That is not its website's host, films.example.</strong>`; !strings.Contains(body, want) {
		t.Errorf("the consent page lacks %q:\n%s", want, body)
	}
	same := env.MustPartner(t, "Local", func(a *service.NewApp) { a.Homepage = "http://127.0.0.1:9/about" })
	body = consentBody(t, same, []string{"openid"})
	if want := `After you answer, you go back to <strong>127.0.0.1:9</strong>.</p>`; !strings.Contains(body, want) {
		t.Errorf("the consent page lacks %q:\n%s", want, body)
	}
}

// The app's purpose comes after what it asks to do, its line breaks kept,
// and a long one shows its start, the rest behind a disclosure: however
// long, it does not push the scopes and the buttons out of sight.
func TestConsentPage_PurposeAfterTheScopes(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	first := "Keep your account safe.\n\nWe check it daily."
	rest := strings.Repeat("Please approve every box below. ", 10)
	app := env.MustPartner(t, "Films", func(a *service.NewApp) { a.Purpose = first + " " + rest })
	body := consentBody(t, app, []string{"openid", "messages.read"})
	scopes, purpose := strings.Index(body, `id="scopes"`), strings.Index(body, `<blockquote class="purpose">`)
	if scopes < 0 || purpose < scopes {
		t.Errorf("the purpose is not after the scopes:\n%s", body)
	}
	if !strings.Contains(body, `<blockquote class="purpose">`+first) || !strings.Contains(body, "<details><summary>Read the rest</summary>") ||
		strings.Contains(body, `<blockquote class="purpose">`+first+" "+rest) {
		t.Errorf("the long purpose is not cut, or lost its line breaks:\n%s", body)
	}
	res, err := http.Get(env.URL + "/static/parley.css")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	css, _ := io.ReadAll(res.Body)
	if !regexp.MustCompile(`\.purpose\{[^}]*white-space:pre-wrap`).Match(css) {
		t.Error("the purpose's line breaks are not kept (white-space:pre-wrap)")
	}
}

// The default reach, the conversations the app starts or shares into,
// says that it takes in the member's existing chat with a friend the app
// sends something to, on the consent page as on the connected apps page.
func TestConsentPage_OwnConversationsIncludeAnExistingChat(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	body := consentBody(t, env.MustPartner(t, "Films"), []string{"openid", "messages.read"})
	if want := `That includes my existing chat with a friend it sends or shares something to, from then on.`; !strings.Contains(body, want) {
		t.Errorf("the consent page lacks %q:\n%s", want, body)
	}
}

// Asked for more, the consent page also says what the app can already
// do; asked to confirm (prompt=consent) it lists what the grant holds,
// not only what the request names.
func TestConsentPage_SaysWhatTheAppCanAlreadyDo(t *testing.T) {
	env := apptest.Start(t)
	env.MustMember(t, "alice")
	films := env.MustPartner(t, "Films")
	env.MustToken(t, films, "alice", []string{"openid", "threads.read", "messages.read"}, apptest.Answer{})
	body := consentBody(t, films, []string{"openid", "messages.write"})
	already := between(t, body, `<div id="already">`, `</div>`)
	for _, want := range []string{"It can already:", "See your conversations&#39; titles", "Read messages in your conversations"} {
		if !strings.Contains(already, want) {
			t.Errorf("the widening page's list of what Films can already do lacks %q:\n%s", want, body)
		}
	}
	if keeps := between(t, body, `<p class="note" id="keeps">`, `</p>`); !strings.Contains(keeps, "Conversations you took out of its access stay out.") {
		t.Errorf("the widening page does not say that conversations taken out stay out:\n%s", keeps)
	}
	body = consentBody(t, films, []string{"openid"}, oauth2.SetAuthURLParam("prompt", "consent"))
	confirmed := between(t, body, `<ul id="scopes">`, `</ul>`)
	for _, want := range []string{"Know that it is you who signed in", "See your conversations&#39; titles", "Read messages in your conversations"} {
		if !strings.Contains(confirmed, want) {
			t.Errorf("the prompt=consent page's list lacks %q:\n%s", want, body)
		}
	}
}

// The connected apps page says which conversations an app may come to
// reach, in the consent page's words, and when it sees a conversation
// only from a later message on, says so without numbering messages; a
// scope that cannot be unticked says how it ends without contradicting
// its own words; saving with nothing unticked says nothing changed.
func TestConnectedApps_SaysWhereInTheConsentPagesWords(t *testing.T) {
	env := apptest.Start(t)
	ctx := context.Background()
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	dm := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, dm.ID, "hi")
	tunes := env.MustPartner(t, "Tunes")
	tok := env.MustToken(t, tunes, "alice", []string{"openid", "shares.write", "messages.read", "offline_access"}, apptest.Answer{})
	if _, err := client.New(env.URL).WithToken(tok.AccessToken).Do(ctx, "POST", "/api/v1/shares",
		map[string]any{"to": "bob", "url": "https://tunes.example/x", "title": "x"}, nil); err != nil {
		t.Fatal(err)
	}
	b := newScriptless(t, env.URL)
	b.signIn("alice")
	apps := b.get("/account/apps")
	section := between(t, apps.body, `<section class="app`, `</section>`)
	for _, want := range []string{
		`Only conversations <bdi>Tunes</bdi> starts or shares into, from its first message there on. That includes your existing chat with a friend it sends or shares something to, from then on.`,
		`Member bob <span class="note">(only what was written from when it came in on)</span>`,
		`Keep this access while you are away, until it expires <span class="note">(cannot be unticked: revoke the app to end it)</span>`,
		`A conversation you take out stays out: <bdi>Tunes</bdi> cannot bring it back by sharing into it again`,
	} {
		if !strings.Contains(section, want) {
			t.Errorf("connected apps page lacks %q:\n%s", want, section)
		}
	}
	if strings.Contains(section, "from message") || strings.Contains(section, "ends only when you revoke") {
		t.Errorf("connected apps page numbers messages or contradicts itself:\n%s", section)
	}
	narrow := regexp.MustCompile(`action="(/account/apps/[^"]+/narrow)"`).FindStringSubmatch(apps.body)[1]
	kept := url.Values{"shown": {"1"}, "scopes": {"shares.write", "messages.read"}, "shown_scopes": {"shares.write", "messages.read"},
		"threads": {dm.ID}, "shown_threads": {dm.ID}}
	if p := b.post(apps, narrow, kept); !strings.Contains(p.body, "Nothing changed") || strings.Contains(p.body, "Saved:") {
		t.Errorf("saving with nothing unticked:\n%s", p.body)
	}
	kept["scopes"] = []string{"messages.read"}
	if p := b.post(b.get("/account/apps"), narrow, kept); !strings.Contains(p.body, "Saved: the app can do less") {
		t.Errorf("saving with shares.write unticked:\n%s", p.body)
	}
}
