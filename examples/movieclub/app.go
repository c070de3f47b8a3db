package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

var (
	//go:embed templates
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// pages are movieclub's HTML templates.
var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// App is movieclub's web app.
type App struct {
	cfg Config
	// oauth signs members in: the authorization code flow with PKCE.
	oauth *oauth2.Config
	// reports reads the app's own share report, as the app itself (the
	// client-credentials grant), with reports.read and nothing else.
	reports *client.Client
	mem     *memory
	mux     *http.ServeMux
	// seen are the webhook-ids of recent deliveries.
	seen seenIDs
	// introspection asks Parley whether a member's token still works
	// (RFC 7662), as the app.
	introspection rs.ResourceServer
	// chart is the report's chart, as last fetched, and why the last
	// fetch failed, if it did; until is when to fetch it again.
	chart struct {
		sync.Mutex
		svg   []byte
		err   error
		until time.Time
	}
}

// chartLife is how long movieclub shows the report's chart before it asks
// Parley for it again. Its public page could otherwise have anyone spend
// the app's rate limit at Parley, which its members' calls count against
// too; and the chart changes only when a fortnight ends.
const chartLife = time.Hour

// chartWait bounds a fetch of the chart, its token's included, which
// visitors wait for one at a time; a failed fetch is tried again after
// chartRetry, and the chart fetched before, if any, shown meanwhile.
const (
	chartWait  = 10 * time.Second
	chartRetry = time.Minute
)

// New returns movieclub for the configuration.
func New(cfg Config) *App {
	endpoint := oauth2.Endpoint{
		AuthURL:   cfg.ParleyURL + "/oauth2/authorize",
		TokenURL:  cfg.ParleyURL + "/oauth2/token",
		AuthStyle: oauth2.AuthStyleInHeader,
	}
	itself := &clientcredentials.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		TokenURL:     endpoint.TokenURL,
		Scopes:       []string{client.ScopeReportsRead},
		AuthStyle:    oauth2.AuthStyleInHeader,
	}
	a := &App{
		cfg: cfg,
		oauth: &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			RedirectURL:  cfg.PublicURL + "/callback",
			// The narrowest scopes that do the job: who signed in, sending
			// the share card, and reading the thread it went into. The
			// member leaves the thread scope at "app" on the consent page:
			// the app then reads only the threads it shared into, from its
			// card on.
			Scopes:   []string{client.ScopeOpenID, client.ScopeSharesWrite, client.ScopeMessagesRead},
			Endpoint: endpoint,
		},
		// The token source keeps its context for every token it fetches:
		// an HTTP client with a timeout, so that a Parley that never
		// answers holds no one for ever.
		reports: client.New(cfg.ParleyURL).WithTokenSource(itself.TokenSource(
			context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: chartWait}))),
		mem:  newMemory(),
		seen: seenIDs{at: map[string]time.Time{}},
		mux:  http.NewServeMux(),
	}
	// With its endpoints given, the resource server needs no discovery,
	// and so no Parley that answers, to be made: discovery is all that
	// could fail.
	var err error
	a.introspection, err = rs.NewResourceServerClientCredentials(context.Background(), cfg.ParleyURL, cfg.ClientID, cfg.ClientSecret,
		rs.WithStaticEndpoints(endpoint.TokenURL, cfg.ParleyURL+"/oauth2/introspect"))
	if err != nil {
		panic(err)
	}
	static, _ := fs.Sub(staticFS, "static")
	a.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	a.mux.HandleFunc("GET /{$}", a.handleHome)
	a.mux.HandleFunc("GET /films/{slug}", a.handleFilm)
	a.mux.HandleFunc("GET /login", a.handleLogin)
	a.mux.HandleFunc("GET /callback", a.handleCallback)
	a.mux.HandleFunc("POST /logout", a.handleLogout)
	a.mux.HandleFunc("POST /recommend", a.handleRecommend)
	a.mux.HandleFunc("POST /webhooks", a.handleWebhook)
	a.mux.HandleFunc("GET /report", a.handleReport)
	a.mux.HandleFunc("GET /report.svg", a.handleReportChart)
	return a
}

// ServeHTTP answers a request, with the headers every answer carries.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	a.mux.ServeHTTP(w, r)
}

// homePage is what the home page shows.
type homePage struct {
	Signed  bool
	CSRF    string
	Form    recommendation // the form to recommend a film, as it is to show
	Films   []Film
	Threads []threadView
	Error   string
}

// recommendation is the form to recommend a film: its Idempotency-Key, and
// what it holds (a film's slug, none for the first, a friend and a note).
type recommendation struct {
	Key, Film, Friend, Note string
}

// threadView is a thread a member recommended into, as the page shows it.
type threadView struct {
	Friend   string
	Messages []messageView
}

// messageView is a message as the page shows it: Mine tells the member's
// own messages from their friend's.
type messageView struct {
	Mine bool
	From string
	Text string
	Film string // the title on a share card
	At   time.Time
}

func (a *App) handleHome(w http.ResponseWriter, r *http.Request) {
	s := a.session(r)
	if s == nil {
		a.render(w, http.StatusOK, "home.html", homePage{Films: films})
		return
	}
	a.renderHome(w, http.StatusOK, s, "", recommendation{Key: rand.Text()})
}

// renderHome shows a signed-in member their recommendations and replies,
// with the form to recommend a film.
func (a *App) renderHome(w http.ResponseWriter, status int, s *session, problem string, form recommendation) {
	p := homePage{Signed: true, CSRF: s.csrf, Form: form, Films: films, Error: problem}
	a.mem.mu.Lock()
	if m := a.mem.members[s.memberID]; m != nil {
		for _, t := range m.threads {
			v := threadView{Friend: t.friend}
			for _, msg := range t.messages {
				mv := messageView{Mine: msg.Sender.ID == m.id, From: msg.Sender.DisplayName, Text: msg.Text, At: msg.CreatedAt}
				if mv.Mine {
					mv.From = "You"
				}
				if msg.Share != nil {
					mv.Film = msg.Share.Title
				}
				v.Messages = append(v.Messages, mv)
			}
			p.Threads = append(p.Threads, v)
		}
	}
	a.mem.mu.Unlock()
	a.render(w, status, "home.html", p)
}

func (a *App) handleFilm(w http.ResponseWriter, r *http.Request) {
	f, ok := filmBySlug(r.PathValue("slug"))
	if !ok {
		a.fail(w, http.StatusNotFound, "There is no such film here.")
		return
	}
	a.render(w, http.StatusOK, "film.html", f)
}

// handleRecommend sends the film to a friend as a share card. The form
// carries an Idempotency-Key, so that sending it twice (a double click, a
// retry after a lost answer) posts one card.
func (a *App) handleRecommend(w http.ResponseWriter, r *http.Request) {
	s, m := a.signedIn(w, r)
	if m == nil {
		return
	}
	form := recommendation{Key: r.PostFormValue("key"), Film: r.PostFormValue("film"),
		Friend: strings.TrimSpace(r.PostFormValue("friend")), Note: strings.TrimSpace(r.PostFormValue("note"))}
	film, ok := filmBySlug(form.Film)
	if !ok || form.Friend == "" || form.Key == "" {
		form.Key = rand.Text()
		a.renderHome(w, http.StatusUnprocessableEntity, s, "Pick a film and name a friend.", form)
		return
	}
	friend := form.Friend
	// Without a refresh token (movieclub asks for no offline_access) the
	// member's token runs out an hour after they signed in, and a grant
	// may end while movieclub missed the webhook (Parley then answers
	// 401): either way the member signs in again, which Parley lets
	// through without asking while the grant lasts, and sends the form
	// again. Nothing was sent.
	a.mem.mu.Lock()
	api, expired := m.api, !m.expiry.IsZero() && time.Now().Add(10*time.Second).After(m.expiry) // as oauth2 counts
	a.mem.mu.Unlock()
	if expired {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	card, _, err := api.ShareOnce(r.Context(), client.NewShare{
		To:    friend,
		URL:   a.cfg.PublicURL + "/films/" + film.Slug,
		Title: fmt.Sprintf("%s (%d)", film.Title, film.Year),
		Note:  form.Note,
	}, form.Key)
	if client.StatusOf(err) == http.StatusUnauthorized {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err != nil {
		// The form keeps its key and what it held: if the card went out
		// after all, sending the form again posts nothing more.
		a.renderHome(w, http.StatusUnprocessableEntity, s, "Parley did not send it: "+problemText(err), form)
		return
	}
	a.mem.mu.Lock()
	t := m.thread(card.ThreadID)
	if t == nil {
		t = &thread{id: card.ThreadID, friend: friend}
		m.threads = append([]*thread{t}, m.threads...)
	}
	a.mem.mu.Unlock()
	if err := a.catchUp(r.Context(), m, card.ThreadID); err != nil {
		log.Printf("catch up thread %s: %v", card.ThreadID, err)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// catchUp reads the thread's changes feed from where the member's copy
// left off and applies them: the messages posted and deleted since, in the
// order they happened. A thread that left the grant and came back into it
// since (the member took it out, and movieclub recommended into it again)
// is seen from the new card on, and its cursor is refused (409): movieclub
// then drops its copy and reads the thread anew.
func (a *App) catchUp(ctx context.Context, m *member, threadID string) error {
	m.sync.Lock()
	defer m.sync.Unlock()
	a.mem.mu.Lock()
	t, api := m.thread(threadID), m.api // a sign-in replaces m.api under memory.mu
	a.mem.mu.Unlock()
	if t == nil {
		return nil // not a thread movieclub recommended into
	}
	changes, cursor, err := api.CatchUp(ctx, threadID, t.cursor, 0)
	fresh := client.StatusOf(err) == http.StatusConflict
	if fresh {
		changes, cursor, err = api.CatchUp(ctx, threadID, "", 0)
	}
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	if fresh {
		t.messages = nil
	}
	for _, c := range changes {
		t.apply(c)
	}
	t.cursor = cursor
	return err
}

func (a *App) handleReport(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, "report.html", nil)
}

// handleReportChart serves the app's share report chart, as Parley draws
// it, fetched with the app's own token: the last fortnight that has ended,
// as Parley counts the friends who opened a recommendation by the
// fortnight only.
func (a *App) handleReportChart(w http.ResponseWriter, r *http.Request) {
	svg, err := a.reportChart(r.Context())
	if err != nil {
		http.Error(w, "the report is not available", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(svg)
}

// reportChart returns the chart, fetched from Parley at most once every
// chartLife (once every chartRetry while fetches fail), by one request at
// a time.
func (a *App) reportChart(ctx context.Context) ([]byte, error) {
	a.chart.Lock()
	defer a.chart.Unlock()
	if now := time.Now(); !now.Before(a.chart.until) {
		// The fetch is for every visitor waiting, not only this one: it
		// goes on, within chartWait, if this one leaves.
		fetch, cancel := context.WithTimeout(context.WithoutCancel(ctx), chartWait)
		defer cancel()
		svg, _, err := a.reports.ShareReportAs(fetch, a.cfg.ClientID, client.ReportQuery{Period: "fortnight"}, "svg")
		if err != nil {
			log.Printf("share report: %v", err)
			a.chart.err, a.chart.until = err, now.Add(chartRetry)
		} else {
			a.chart.svg, a.chart.err, a.chart.until = svg, nil, now.Add(chartLife)
		}
	}
	if a.chart.svg == nil {
		return nil, a.chart.err
	}
	return a.chart.svg, nil
}

// render writes a page.
func (a *App) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		log.Printf("render %s: %v", name, err)
	}
}

// fail shows a page that says what went wrong.
func (a *App) fail(w http.ResponseWriter, status int, msg string) {
	a.render(w, status, "error.html", msg)
}

// problemText is what Parley's problem says, for the member.
func problemText(err error) string {
	if e, ok := errors.AsType[*client.Error](err); ok && e.Detail != "" {
		return e.Detail
	}
	return "it could not be reached."
}

// sameSecret compares secrets in constant time.
func sameSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
