package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/words"
)

// The member's privacy pages, inside the messenger: the apps connected to
// their account, each with what it may do, where, and how it used that,
// with the member's hand on it (untick a scope or a conversation, or
// revoke it); and the access log in sentences, repeated reads grouped
// into one line (service.AccessLogGroups), with whether its chain
// verifies and a download of it as JSON; and the member's data, to
// download whole or delete with the account (memberdata.go). The developer console
// (developer.go) sits beside them.

const (
	accountSignInPath = "/account/sign-in"
	accountAppsPath   = "/account/apps"
	accountLogPath    = "/account/access-log"
	accountLogJSON    = "/account/access-log.json"
)

// sectionApps marks the pages under the messenger's Apps tab.
const sectionApps = "apps"

func (p *Pages) routePrivacy(mux *http.ServeMux) {
	mux.HandleFunc("GET "+accountSignInPath, p.handleAccountSignIn)
	mux.HandleFunc("POST "+accountSignInPath, p.handleAccountSignInPost)
	mux.HandleFunc("GET "+accountAppsPath, p.handleAccountApps)
	mux.HandleFunc("POST "+accountAppsPath+"/{grant}/narrow", p.handleGrantNarrow)
	mux.HandleFunc("POST "+accountAppsPath+"/{grant}/revoke", p.handleGrantRevoke)
	mux.HandleFunc("GET "+accountLogPath, p.handleAccountLog)
	mux.HandleFunc("GET "+accountLogJSON, p.handleAccountLogJSON)
	p.routeMemberData(mux)
	p.routeDeveloper(mux)
}

func (p *Pages) handleAccountSignIn(w http.ResponseWriter, r *http.Request) {
	next := accountNext(r.URL.Query().Get("next"))
	if _, err := p.member(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	page := accountSignIn(next)
	page.CSRF = p.csrfToken(w, r)
	p.render(w, http.StatusOK, "login", page)
}

func (p *Pages) handleAccountSignInPost(w http.ResponseWriter, r *http.Request) {
	next := accountNext(r.PostFormValue("next"))
	if !p.checkSignInCSRF(w, r, next) {
		return
	}
	if p.signIn(w, r, accountSignIn(next)) {
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// accountNext is where the account pages' sign-in goes on to: next when
// it is a local path (localPath), else the connected apps.
func accountNext(next string) string {
	if next = localPath(next); next == "/" {
		return accountAppsPath
	}
	return next
}

// accountSignIn is the account pages' sign-in page, coming back to next.
func accountSignIn(next string) loginPage {
	page := loginPage{Title: "Sign in", Action: accountSignInPath}
	if next != accountAppsPath {
		page.Next = next
	}
	return page
}

// accountMember returns the request's context with its signed-in member,
// or sends the browser to sign in first, and then back to the page it
// asked for.
func (p *Pages) accountMember(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	ctx, err := p.member(r)
	if err != nil {
		to := accountSignInPath
		if r.Method == http.MethodGet && r.URL.Path != accountAppsPath {
			to += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
		return nil, false
	}
	return ctx, true
}

// postedAccount checks a form's CSRF token, returns its member, and holds
// the post to their rate limit (admitted).
func (p *Pages) postedAccount(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	if !p.checkCSRF(w, r) {
		return nil, false
	}
	ctx, ok := p.accountMember(w, r)
	return ctx, ok && p.admitted(ctx, w, r)
}

// appsShell returns the shell of a page under the Apps tab, its title
// naming its tab of the Apps pages until the caller says otherwise.
func (p *Pages) appsShell(ctx context.Context, w http.ResponseWriter, r *http.Request, title string) (shell, error) {
	sh, err := p.newShell(ctx, w, r, title, "")
	sh.Section, sh.Tab = sectionApps, title
	return sh, err
}

// tabDeveloper is the Apps pages' tab of the developer console, which an
// app's pages are under.
const tabDeveloper = "Developer console"

// appsPage is what the connected apps page shows.
type appsPage struct {
	shell
	Apps   []appView
	Notice string
}

// appView is a connected app as its page shows it: each scope and
// thread of its grant with a box to untick.
type appView struct {
	*parley.ConnectedApp
	Scopes []scopeBox
}

// Reach is the words for which conversations the app may reach, as the
// consent page said them.
func (v appView) Reach() reachWords { return reachWords{Scope: v.ThreadScope, App: v.AppName} }

// scopeBox is a scope of a grant as the page lists it.
type scopeBox struct {
	Scope parley.Scope
	Words string
	// Fixed scopes cannot be unticked (parley.FixedScopes).
	Fixed bool
}

func (p *Pages) handleAccountApps(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	apps, err := p.svc.ConnectedApps(ctx)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	sh, err := p.appsShell(ctx, w, r, "Connected apps")
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	page := appsPage{shell: sh, Notice: appsNotices[r.URL.Query().Get("done")]}
	for _, a := range apps {
		v := appView{ConnectedApp: a}
		for _, s := range a.Grant.Scopes {
			v.Scopes = append(v.Scopes, scopeBox{Scope: s, Words: s.Describe(), Fixed: parley.FixedScopes.Has(s)})
		}
		page.Apps = append(page.Apps, v)
	}
	p.render(w, http.StatusOK, "apps", page)
}

// appsNotices are the notices the connected apps page shows after a change, by ?done=.
var appsNotices = map[string]string{
	"narrowed":  "Saved: the app can do less from its very next request.",
	"unchanged": "Nothing changed: you unticked nothing.",
	"revoked":   "Revoked: the app can no longer reach your account.",
}

func (p *Pages) handleGrantNarrow(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	n := service.GrantNarrowing{Scopes: orNone(r.PostForm["scopes"]), ThreadIDs: r.PostForm["threads"]}
	if r.PostFormValue("shown") != "" {
		// The form says what it showed, none of a kind included, so that
		// what the grant gained since the page was shown stays.
		n.ShownScopes, n.ShownThreadIDs = orNone(r.PostForm["shown_scopes"]), orNone(r.PostForm["shown_threads"])
	}
	// A page that showed the grant's conversations (or, from the release
	// before, said it listed them) keeps those ticked, none if none is; a
	// grant of thread scope all lists none to keep.
	if n.ThreadIDs == nil && (n.ShownThreadIDs != nil || r.PostFormValue("listed") != "") {
		n.ThreadIDs = []string{}
	}
	_, narrowed, err := p.svc.NarrowGrant(ctx, r.PathValue("grant"), n)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	done := "narrowed"
	if !narrowed {
		done = "unchanged"
	}
	http.Redirect(w, r, accountAppsPath+"?done="+done, http.StatusSeeOther)
}

// orNone returns values, or an empty list, not nil, when there are none.
func orNone(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}

func (p *Pages) handleGrantRevoke(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.postedAccount(w, r)
	if !ok {
		return
	}
	if err := p.svc.RevokeGrant(ctx, r.PathValue("grant")); err != nil {
		p.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, accountAppsPath+"?done=revoked", http.StatusSeeOther)
}

// logPage is what the access log page shows.
type logPage struct {
	shell
	// App is the client ID the page keeps to, if any, and AppName its name.
	App, AppName string
	// Runs are the page's lines, newest first, cut where the app
	// changes: the log of every app shows each run under its app's name,
	// so that an app's lines read together and two apps' interleaved
	// lines stay apart; one app's log is one run.
	Runs         []logRun
	Next         string // the link to the older lines, if any
	Download     string
	Verification *service.Verification
}

func (p *Pages) handleAccountLog(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	app := q.Get("app")
	page, err := p.svc.AccessLogGroups(ctx, service.AccessLogQuery{ClientID: app, Cursor: q.Get("cursor")})
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	// The whole chain is verified on the first page only: a check takes
	// time in the log's length, and one on every older page would make
	// reading a long log through take time in the square of it.
	var v *service.Verification
	if q.Get("cursor") == "" {
		if v, err = p.svc.VerifyAccessLog(ctx); err != nil {
			p.renderError(w, r, err)
			return
		}
	}
	sh, err := p.appsShell(ctx, w, r, "Access log")
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	lp := logPage{shell: sh, App: app, Verification: v, Download: accountLogJSON + appQuery(app, "")}
	for _, g := range page.Groups {
		if n := len(lp.Runs); n == 0 || lp.Runs[n-1].ClientID != g.Latest.ClientID {
			lp.Runs = append(lp.Runs, logRun{ClientID: g.Latest.ClientID, AppName: g.Latest.AppName})
		}
		run := &lp.Runs[len(lp.Runs)-1]
		run.Lines = append(run.Lines, logLine(g))
		if app != "" && g.Latest.ClientID == app {
			lp.AppName = g.Latest.AppName
		}
	}
	if lp.AppName != "" {
		lp.Title = "What " + lp.AppName + " did"
	}
	if page.NextCursor != "" {
		lp.Next = accountLogPath + appQuery(app, page.NextCursor)
	}
	p.render(w, http.StatusOK, "accesslog", lp)
}

// logRun is a run of consecutive lines of the log about one app, or, with
// no ClientID, about conversations closed to apps or reopened.
type logRun struct {
	ClientID, AppName string
	Lines             []template.HTML
}

// appQuery is the query string of a log page: one app's, from a cursor.
func appQuery(app, cursor string) string {
	v := url.Values{}
	if app != "" {
		v.Set("app", app)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// logExport is the access log as the download holds it, but its entries,
// which follow it, a page at a time (handleAccountLogJSON).
type logExport struct {
	Member       parley.UserRef        `json:"member"`
	ExportedAt   time.Time             `json:"exported_at"`
	ClientID     string                `json:"client_id,omitempty"`
	Verification *service.Verification `json:"verification"`
}

// handleAccountLogJSON downloads the member's whole log, or one app's
// entries, newest first, with its verification: each entry with its
// hashes, for the member to check the chain themselves.
//
// The entries are written as they are read, a page at a time, never held
// whole: an app that checks a conversation every few seconds leaves a
// hundred thousand entries within weeks. A failure once the first page is
// written leaves the document unfinished, and is logged.
func (p *Pages) handleAccountLogJSON(w http.ResponseWriter, r *http.Request) {
	ctx, ok := p.accountMember(w, r)
	if !ok {
		return
	}
	app := r.URL.Query().Get("app")
	head := logExport{Member: parley.CallerFromContext(ctx).User, ExportedAt: p.svc.Now().UTC(), ClientID: app}
	var err error
	if head.Verification, err = p.svc.AccessLogDownload(ctx); err != nil {
		p.renderError(w, r, err)
		return
	}
	query := service.AccessLogQuery{ClientID: app, Limit: parley.MaxMessageLimit}
	page, err := p.svc.AccessLog(ctx, query)
	if err != nil {
		p.renderError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="parley-access-log.json"`)
	a := httpapi.NewLongAnswer(w)
	if err := writeLogExport(a, head, page, func(cursor string) (*service.AccessLogPage, error) {
		query.Cursor = cursor
		return p.svc.AccessLog(ctx, query)
	}); err != nil {
		a.Fail(ctx, p.log, "write access log export", err)
		p.renderError(w, r, err)
	}
}

// writeLogExport writes head with an "entries" array of the first page's
// entries and every next page's, indented as json.MarshalIndent indents.
func writeLogExport(w io.Writer, head logExport, page *service.AccessLogPage, next func(cursor string) (*service.AccessLogPage, error)) error {
	b, err := json.MarshalIndent(head, "", "  ")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.Write(bytes.TrimSuffix(b, []byte("\n}")))
	bw.WriteString(",\n  \"entries\": [")
	for n := 0; ; {
		for _, e := range page.Entries {
			if n > 0 {
				bw.WriteByte(',')
			}
			b, err := json.MarshalIndent(e, "    ", "  ")
			if err != nil {
				return err
			}
			bw.WriteString("\n    ")
			bw.Write(b)
			n++
		}
		if page.NextCursor == "" {
			if n > 0 {
				bw.WriteString("\n  ")
			}
			break
		}
		if page, err = next(page.NextCursor); err != nil {
			return err
		}
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

// logLine is one line of the access log as a sentence: "MovieClub read 12
// messages in your conversation with Bob, 22 Nov 2026 14:03 UTC", or for a
// run, "MovieClub checked your conversation with Bob 484 times between 22
// Nov 2026 10:32 UTC and 10:40 UTC and read 3 new messages"; its times in
// <time> elements (timeHTML), its words escaped, each name in it set apart
// (isolate) so that a count or a date after a name in Arabic or Hebrew
// stays after it.
func logLine(g *service.AccessGroup) template.HTML {
	esc := template.HTMLEscapeString
	e := g.Latest
	app := isolate(e.AppName)
	where := threadWords(g.Thread)
	// The member whose grant the app acted through: the reader of the
	// log, or another in the thread.
	as, yours := "you", "of yours"
	if g.Grantor != nil {
		as = isolate(displayName(*g.Grantor))
		yours = as + " sent"
	}
	// An app that read through another member's grant is said to: the
	// reader never connected it, and has nothing of it to revoke.
	reader := app
	if g.Grantor != nil {
		reader = app + ", through " + as + "'s connection,"
	}
	var what string
	switch e.Action {
	case string(parley.ScopeMessagesRead):
		if g.Count > 1 {
			return template.HTML(esc(reader+" checked "+where+" "+times(g.Count)+" ")) + between(g.From, g.To) + template.HTML(esc(" and "+newMessages(g.Messages)))
		}
		if g.Messages == 0 {
			what = reader + " checked " + where + " and found nothing new"
		} else {
			what = reader + " read " + words.Count(g.Messages, "message", "messages") + " in " + where
		}
	case string(parley.ScopeThreadsRead):
		what = app + " read the list of your conversations"
		if e.ThreadID != "" {
			what = reader + " read the title and activity of " + where
		}
	case string(parley.ScopeParticipantsRead):
		what = reader + " saw who is in " + where
	case string(parley.ScopeProfile):
		what = app + " read your username and display name"
	case string(parley.ScopeOpenID):
		what = app + " checked which Parley member you are"
	case string(parley.ScopeFriendsRead):
		what = app + " read your list of friends"
		if g.Grantor != nil {
			what = app + " read " + as + "'s list of friends, which names you"
		}
	case string(parley.ScopeMessagesWrite):
		what = app + " sent a message as " + as + " in " + where
		if e.MessageCount == 0 {
			// A thread started (POST /threads), with no message in it.
			what = app + " started " + where + " as " + as
		}
	case parley.ActionMessageEdited:
		what = app + " edited a message it sent as " + as + " in " + where
	case string(parley.ScopeMessagesDelete):
		what = app + " deleted a message " + yours + " in " + where
	case string(parley.ScopeSharesWrite):
		what = app + " shared a link as " + as + " in " + where
	case parley.ActionGrantCreated:
		what = "You connected " + app
	case parley.ActionGrantWidened:
		what = "You gave " + app + " more access"
	case parley.ActionGrantNarrowed:
		what = "You narrowed what " + app + " may do"
	case parley.ActionGrantExpired:
		what = app + "'s access expired"
	case parley.ActionGrantRevoked:
		what = "You revoked " + app + "'s access"
	case parley.ActionGrantRevokedByOperator:
		what = "An operator ended " + app + "'s access"
	case parley.ActionGrantRevokedByDeveloper:
		what = app + "'s developer deleted it, which ended its access"
	case parley.ActionThreadClosed, parley.ActionThreadReopened:
		who := "Someone"
		if g.By != nil {
			who = isolate(displayName(*g.By))
		}
		what = who + " closed " + where + " to all apps"
		if e.Action == parley.ActionThreadReopened {
			what = who + " stopped keeping " + where + " closed to apps"
		}
	default:
		what = strings.TrimSpace(app + " " + e.Action)
	}
	if g.Count > 1 {
		return template.HTML(esc(what+" "+times(g.Count)+" ")) + between(g.From, g.To)
	}
	line := template.HTML(esc(what+", ")) + timeHTML(e.At, "full")
	if e.Grant != nil {
		line += "." + grantTermsHTML(g)
	}
	return line
}

// grantTermsHTML says, after the line of an entry that made or changed a
// grant, what the member agreed to: the conversations a narrowing took
// out, then what the app may do, where and until when. "It may: read
// messages in your conversations. Only in the conversations you ticked
// (your conversation with Bob) and new ones it starts, until 7 Jan 2027
// 01:46 UTC."
func grantTermsHTML(g *service.AccessGroup) template.HTML {
	esc := template.HTMLEscapeString
	e, terms := g.Latest, g.Latest.Grant
	var b strings.Builder
	ticked := ""
	if len(g.GrantThreads) > 0 {
		names := make([]string, len(g.GrantThreads))
		for i, t := range g.GrantThreads {
			names[i] = threadWords(t)
		}
		ticked = strings.Join(names, ", ")
	}
	may := "It may: "
	if e.Action != parley.ActionGrantCreated {
		may = "It may now: "
	}
	if e.Action == parley.ActionGrantNarrowed && ticked != "" {
		b.WriteString("You took out " + ticked + ". ")
		ticked = ""
	}
	var can []string
	for _, s := range terms.Scopes {
		if s == parley.ScopeOpenID && len(terms.Scopes) > 1 {
			continue
		}
		// A scope a later version granted, which this one cannot put
		// in words, is named as the app asked for it.
		words := string(s)
		if d := s.Describe(); d != "" {
			words = lowerFirst(d)
		}
		can = append(can, words)
	}
	b.WriteString(may + strings.Join(can, "; ") + ". ")
	app := isolate(e.AppName)
	switch terms.ThreadScope {
	case parley.ThreadScopeAll:
		b.WriteString("In all your conversations")
	case parley.ThreadScopeSelected:
		b.WriteString("Only in the conversations you ticked")
		if ticked != "" {
			b.WriteString(" (" + ticked + ")")
		}
		b.WriteString(" and new ones " + app + " starts")
	default:
		b.WriteString("Only in conversations " + app + " starts or shares into")
	}
	until := template.HTML(esc(", until you revoke it."))
	if terms.ExpiresAt != nil {
		until = template.HTML(esc(", until ")) + timeHTML(*terms.ExpiresAt, "full") + "."
	}
	return template.HTML(` <span class="terms">`+esc(b.String())) + until + "</span>"
}

// lowerFirst returns s with its first letter in lower case, for a phrase
// that begins a sentence elsewhere to go on within one.
func lowerFirst(s string) string {
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}

// threadWords names a thread in a sentence of the log.
func threadWords(t service.ThreadName) string {
	switch {
	case t.Label == "":
		return "a conversation"
	case t.Titled:
		return "your conversation “" + isolate(t.Label) + "”"
	}
	return "your conversation with " + isolate(t.Label)
}

func times(n int) string {
	if n == 2 {
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}

func newMessages(n int) string {
	if n == 0 {
		return "found nothing new"
	}
	return "read " + words.Count(n, "new message", "new messages")
}

// between writes the span of a run as the pages write times (timeHTML):
// "between 22 Nov 2026 10:32 UTC and 10:40 UTC", "on 22 Nov 2026 10:32
// UTC" within a minute, or with both days when it spans two.
func between(from, to time.Time) template.HTML {
	switch {
	case formatDate(from) == formatDate(to):
		return "on " + timeHTML(from, "full")
	case from.UTC().Format(time.DateOnly) == to.UTC().Format(time.DateOnly):
		return "between " + timeHTML(from, "full") + " and " + timeHTML(to, "clock")
	}
	return "between " + timeHTML(from, "full") + " and " + timeHTML(to, "full")
}

// The layout of the pages' times: a day, then a time of day with its zone,
// which is UTC.
const (
	dayLayout   = "2 Jan 2006"
	clockLayout = "15:04 MST"
)

// formatDate writes a time for the pages, in UTC, with its zone: "22 Nov
// 2026 10:32 UTC". Every page that writes a day and time writes it so.
func formatDate(t time.Time) string { return t.UTC().Format(dayLayout + " " + clockLayout) }

// timeHTML writes a time for the pages as formatDate does, "22 Nov 2026
// 10:32 UTC", or its time of day alone ("10:32 UTC") when show is "clock",
// in a <time> element that static/times.js writes again in the reader's
// own zone, as the messenger's times are; without script the page shows
// UTC.
func timeHTML(t time.Time, show string) template.HTML {
	text := formatDate(t)
	if show == "clock" {
		text = t.UTC().Format(clockLayout)
	}
	return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `" data-show="` + template.HTMLEscapeString(show) + `">` + text + `</time>`)
}

// at is the pages' template function "at": a day and time (timeHTML).
func at(t time.Time) template.HTML { return timeHTML(t, "full") }
