package apptest

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/service"
	"golang.org/x/oauth2"
)

// RedirectURI is where test partners are registered to receive codes.
// Nothing listens there: Browser stops at the redirect.
const RedirectURI = "http://127.0.0.1:9/callback"

// Partner is a registered app and a real OAuth 2.0 client of it.
type Partner struct {
	App    *service.RegisteredApp
	Config *oauth2.Config
}

// MustPartner registers a confidential app as an operator would; options
// adjust the registration.
func (e *Env) MustPartner(tb testing.TB, name string, options ...func(*service.NewApp)) *Partner {
	tb.Helper()
	return e.MustPartnerOf(tb, name, "", options...)
}

// MustPartnerOf registers a confidential app owned by the member named
// owner, as MustPartner does.
func (e *Env) MustPartnerOf(tb testing.TB, name, owner string, options ...func(*service.NewApp)) *Partner {
	tb.Helper()
	in := service.NewApp{Name: name, RedirectURIs: []string{RedirectURI}, Purpose: "Recommend things to friends"}
	for _, o := range options {
		o(&in)
	}
	app, err := e.Server.Service.RegisterAppFor(service.ConsoleContext(context.Background()), in, owner)
	if err != nil {
		tb.Fatal(err)
	}
	Secret(app.ClientSecret)
	return &Partner{App: app, Config: &oauth2.Config{
		ClientID:     app.ClientID,
		ClientSecret: app.ClientSecret,
		RedirectURL:  in.RedirectURIs[0],
		Endpoint: oauth2.Endpoint{
			AuthURL:   e.URL + "/oauth2/authorize",
			TokenURL:  e.URL + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
	}}
}

// Answer is what a member does on the consent screen.
type Answer struct {
	ThreadScope string   // app (the default), selected or all
	Threads     []string // ticked for selected
	Expiry      string   // 30d (the default), 90d or never
	Deny        bool
	// Untick are scopes the member unticks on the consent page.
	Untick []string
}

// Browser is a member's browser: it keeps cookies and stops at the app's
// redirect URI, like a browser whose next hop is the app.
type Browser struct {
	HTTP *http.Client
}

// NewBrowser returns a browser with an empty cookie jar.
func NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{HTTP: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), "http://127.0.0.1:9/") {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

// Page is a response the browser got.
type Page struct {
	Status   int
	URL      *url.URL
	Body     string
	Location string
}

// Get opens a URL, following redirects up to the app.
func (b *Browser) Get(tb testing.TB, u string) *Page {
	tb.Helper()
	resp, err := b.HTTP.Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	return readPage(tb, resp)
}

var (
	hiddenField  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	checkedRadio = regexp.MustCompile(`<input type="radio" name="([^"]+)" value="([^"]*)" checked>`)
	checkedBox   = regexp.MustCompile(`<input type="checkbox" name="([^"]+)" value="([^"]*)" checked>`)
)

// Submit posts the page's form with the given fields added to its hidden ones.
func (b *Browser) Submit(tb testing.TB, p *Page, fields url.Values) *Page {
	tb.Helper()
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(p.Body)
	if action == nil {
		tb.Fatalf("no form on %s (status %d):\n%s", p.URL, p.Status, p.Body)
	}
	form := url.Values{}
	// What a browser sends unasked: hidden fields, checked radio buttons
	// and checked boxes, each box's value added to the others of its name.
	for _, re := range []*regexp.Regexp{hiddenField, checkedRadio} {
		for _, m := range re.FindAllStringSubmatch(p.Body, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
	}
	for _, m := range checkedBox.FindAllStringSubmatch(p.Body, -1) {
		form.Add(m[1], html.UnescapeString(m[2]))
	}
	for k, v := range fields {
		form[k] = v
	}
	resp, err := b.HTTP.PostForm(p.URL.ResolveReference(&url.URL{Path: action[1]}).String(), form)
	if err != nil {
		tb.Fatal(err)
	}
	return readPage(tb, resp)
}

func readPage(tb testing.TB, resp *http.Response) *Page {
	tb.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return &Page{Status: resp.StatusCode, URL: resp.Request.URL, Body: string(body), Location: resp.Header.Get("Location")}
}

// SignIn drives the sign-in and consent pages from an authorization URL and
// returns the authorization response: the query the app's redirect URI got.
func (b *Browser) SignIn(tb testing.TB, authURL, username string, a Answer) url.Values {
	tb.Helper()
	return b.Authorize(tb, authURL, username, a).Query()
}

// Authorize drives the sign-in and consent pages from an authorization URL,
// as far as they are shown, and returns where they sent the browser: the
// app's redirect URI with the response in its query or fragment.
func (b *Browser) Authorize(tb testing.TB, authURL, username string, a Answer) *url.URL {
	tb.Helper()
	p := b.Get(tb, authURL)
	if strings.Contains(p.Body, `name="password"`) {
		p = b.Submit(tb, p, url.Values{"username": {username}, "password": {Password(username)}})
	}
	if p.Location == "" {
		fields := url.Values{"action": {"approve"}}
		if a.Deny {
			fields.Set("action", "deny")
		}
		if a.ThreadScope != "" {
			fields.Set("thread_scope", a.ThreadScope)
		}
		if a.Expiry != "" {
			fields.Set("expiry", a.Expiry)
		}
		fields["threads"] = a.Threads
		if len(a.Untick) > 0 {
			var scopes []string
			for _, m := range append(hiddenField.FindAllStringSubmatch(p.Body, -1), checkedBox.FindAllStringSubmatch(p.Body, -1)...) {
				if m[1] == "scope" && !slices.Contains(a.Untick, m[2]) {
					scopes = append(scopes, m[2])
				}
			}
			fields["scope"] = scopes
		}
		p = b.Submit(tb, p, fields)
	}
	if p.Location == "" {
		tb.Fatalf("sign-in did not reach the app: %d %s\n%s", p.Status, p.URL, p.Body)
	}
	u, err := url.Parse(p.Location)
	if err != nil {
		tb.Fatal(err)
	}
	Secret(u.Query().Get("code"))
	return u
}

// MustToken runs the whole flow for a member with PKCE and returns the
// partner's tokens.
func (e *Env) MustToken(tb testing.TB, p *Partner, username string, scopes []string, a Answer) *oauth2.Token {
	tb.Helper()
	verifier := oauth2.GenerateVerifier()
	cfg := *p.Config
	cfg.Scopes = scopes
	state := fmt.Sprintf("state-%s", username)
	got := NewBrowser().SignIn(tb, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), username, a)
	if got.Get("state") != state || got.Get("code") == "" {
		tb.Fatalf("authorization response %v", got)
	}
	tok, err := cfg.Exchange(context.Background(), got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		tb.Fatal(err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	Secret(verifier, tok.AccessToken, tok.RefreshToken, idToken)
	return tok
}

// OwnApp is an app a member registered and connected to their own account,
// with a webhook endpoint: one of each thing an app brings to the member's
// pages and routes.
type OwnApp struct {
	*Partner
	GrantID, EndpointID string
}

// MustOwnApp registers an app named name for owner, connects it to the
// owner's account with messages.read, and gives it an endpoint for
// message.deleted at an address where nothing listens: the server must
// allow private webhook addresses (config.Config.WebhooksAllowPrivate).
func (e *Env) MustOwnApp(tb testing.TB, owner *client.Client, name string) OwnApp {
	tb.Helper()
	ctx := context.Background()
	me := MustMe(tb, owner)
	app := OwnApp{Partner: e.MustPartnerOf(tb, name, me.Username)}
	e.MustToken(tb, app.Partner, me.Username, []string{"openid", "messages.read"}, Answer{})
	var grants struct {
		Grants []struct {
			ID       string `json:"id"`
			ClientID string `json:"client_id"`
		} `json:"grants"`
	}
	if _, err := owner.Do(ctx, "GET", "/api/v1/me/grants", nil, &grants); err != nil {
		tb.Fatal(err)
	}
	for _, g := range grants.Grants {
		if g.ClientID == app.App.ClientID {
			app.GrantID = g.ID
		}
	}
	if app.GrantID == "" {
		tb.Fatalf("no grant of %s among %+v", name, grants.Grants)
	}
	var endpoint struct{ ID string }
	if _, err := owner.Do(ctx, "POST", "/api/v1/apps/"+app.App.ClientID+"/webhooks",
		map[string]any{"url": "http://127.0.0.1:9/hooks", "events": []string{"message.deleted"}}, &endpoint); err != nil {
		tb.Fatal(err)
	}
	if app.EndpointID = endpoint.ID; app.EndpointID == "" {
		tb.Fatalf("no endpoint made for %s", name)
	}
	return app
}
