// Package web serves Parley's HTML pages: the messenger at / (messenger.go),
// the sign-in and consent pages of "Sign in with Parley", and the member's
// connected apps, access log and developer console (privacy.go,
// developer.go). Pages are server-rendered HTML under a
// strict Content-Security-Policy; they work without script, which only
// adds to them: the messenger's, static/messenger.js, live updates, and the
// consent page's, static/consent.js, a box that finds a conversation to
// tick among many.
//
// CSRF: every form carries a token that the server signs (an HMAC under a
// key kept in the store) over the browser's random CSRF cookie and its
// session cookie, checked in constant time; and net/http's
// CrossOriginProtection refuses cross-origin form posts outright, by
// Sec-Fetch-Site and Origin.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/cookie"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/service"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Cookie names.
const (
	sessionCookie = httpapi.SessionCookie
	csrfCookie    = "parley_csrf"
	// deviceCookie holds the proof that the browser signed in as a member
	// (service.SignedIn.DeviceProof): sent with its password checks, it
	// keeps others' failed sign-ins from holding the member up.
	deviceCookie = "parley_device"
	consentPath  = "/oauth2/consent"
)

// maxFormBytes bounds a form post: room for a message of
// parley.MaxTextLen characters each of four bytes, as a form encodes them
// (%XX for each byte, 12 bytes a character), beside the form's other fields.
const maxFormBytes = 12*parley.MaxTextLen + 16<<10

// contentSecurityPolicy allows the pages nothing but their own stylesheets
// and scripts, files served from /static/ (no inline script or style),
// connections back to this server (the messenger's fetches and its
// WebSocket), images from it (the developer console's chart, an SVG that
// runs nothing as an image) and forms posted to it. form-action is left out: the consent
// form's answer redirects on to the app, which form-action would block.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// Pages serves the HTML pages.
type Pages struct {
	svc      *service.Service
	provider *oauth.Provider
	log      *slog.Logger
	// pages are every page's template and the parts they share
	// (parsePages).
	pages *template.Template
	// cookies are the browser's cookies of this server.
	cookies cookie.Site
	// csrfKey signs the forms' CSRF tokens.
	csrfKey []byte
	// limits hold the forms a member posts to the member's rate limit,
	// which their API calls count against too.
	limits  httpapi.Limits
	handler http.Handler
}

// csrfKeyName names the server key that signs CSRF tokens.
const csrfKeyName = "web.csrf"

// New returns the pages, whose cookies are kept as the service's public URL
// says (cookie.SiteOf), and whose members' forms are held to limits'
// Member policy. The provider shows its authorization errors on the
// pages' error page from then on. It fails when the server's CSRF key
// cannot be loaded.
func New(ctx context.Context, svc *service.Service, provider *oauth.Provider, limits httpapi.Limits, log *slog.Logger) (*Pages, error) {
	csrfKey, err := svc.ServerKey(ctx, csrfKeyName)
	if err != nil {
		return nil, fmt.Errorf("web: CSRF key: %w", err)
	}
	p := &Pages{svc: svc, provider: provider, log: log, cookies: cookie.SiteOf(svc.PublicURL()), csrfKey: csrfKey, limits: limits}
	p.pages = p.parsePages()
	provider.ShowErrorsWith(p.showAuthorizeError)
	static, err := staticHandler()
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+oauth.LoginPath, p.handleLogin)
	mux.HandleFunc("POST "+oauth.LoginPath, p.handleLoginPost)
	mux.HandleFunc("GET "+consentPath, p.handleConsent)
	mux.HandleFunc("POST "+consentPath, p.handleConsentPost)
	p.routePrivacy(mux)
	mux.HandleFunc(shareLinkPattern, p.handleShareLink)
	p.routeMessenger(mux)
	p.routeOperator(mux)
	mux.Handle("GET /static/", http.StripPrefix("/static/", static))
	mux.Handle("/", p.unmatched(mux))
	p.handler = http.NewCrossOriginProtection().Handler(mux)
	return p, nil
}

// staticHandler serves the files of static/ that the pages load, each
// with Cache-Control: no-cache and an ETag of its content, hashed once: a
// browser keeps them and asks, page after page, only whether they changed,
// answered 304 Not Modified while they did not. The pages themselves,
// private, are no-store (securityHeaders).
func staticHandler() (http.Handler, error) {
	files, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	err = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		tags[name] = `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		return nil
	})
	if err != nil {
		return nil, err
	}
	server := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tag, ok := tags[r.URL.Path]; ok {
			// http.ServeContent answers If-None-Match by this ETag.
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("ETag", tag)
		}
		server.ServeHTTP(w, r)
	}), nil
}

// parsePages parses every page's template, and the parts they share, into
// one set: each file once. (A set for each page, with the parts it uses,
// parsed the messenger's parts once for each of its 17 pages: 2.8 MB of a
// server's live heap, and three times that at the peak of W1, whose
// server collects at GOGC 200.) The names the files define are unique
// across them all.
func (p *Pages) parsePages() *template.Template {
	return template.Must(template.New("pages").
		Funcs(template.FuncMap{"date": formatDate, "sentence": sentence, "when": p.when, "clock": p.stamp}).
		Funcs(messengerFuncs).Funcs(operatorFuncs).
		ParseFS(templateFiles, "templates/*.html"))
}

// ProviderPaths returns the paths of the pages that lie under the OAuth
// provider's prefix, its sign-in and consent steps, which the server's mux
// sends to the pages, not to the provider.
func ProviderPaths() []string { return []string{oauth.LoginPath, consentPath} }

// ServeHTTP serves the pages with their security headers.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if !parley.IsText(r.URL.Path) {
		// It names nothing anyone can have, and PostgreSQL refuses even
		// to look it up (see parley.IsText).
		p.render(w, http.StatusNotFound, "error", errorPage{Title: "Page not found",
			Error: "This address holds characters that are not text (invalid UTF-8 or a NUL byte), so it leads nowhere. Go back and follow a link instead."})
		return
	}
	if msg := checkForm(r); msg != "" {
		p.render(w, http.StatusBadRequest, "error", errorPage{Title: "Bad request", Error: msg})
		return
	}
	p.handler.ServeHTTP(w, r)
}

// unmatched answers the requests no route of mux takes: 405 with Allow
// when the path is a page under other methods, 404 otherwise. The server
// sends the pages every path that neither the API, the provider nor its
// probes serve, so a person who follows a stale link or mistypes an
// address reads why on a page; any other client, one that does not ask
// for HTML, gets the problem the API would answer.
func (p *Pages) unmatched(mux *http.ServeMux) http.Handler {
	problem := httpapi.Unmatched(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsHTML(r) {
			problem.ServeHTTP(w, r)
			return
		}
		switch allow := httpapi.AllowedMethods(mux, r); {
		case len(allow) > 0:
			w.Header().Set("Allow", strings.Join(allow, ", "))
			p.render(w, http.StatusMethodNotAllowed, "error", errorPage{Title: "Not allowed here",
				Error: "This address does not take " + r.Method + " requests. Go back and use the page's own links and buttons instead."})
		default:
			p.render(w, http.StatusNotFound, "error", errorPage{Title: "Page not found",
				Error: "There is no page at this address. Check it, or go to the start page."})
		}
	})
}

// acceptsHTML reports whether r's Accept header names text/html, as a
// browser's does when it loads a page.
func acceptsHTML(r *http.Request) bool {
	for _, accept := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(accept, ",") {
			media, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(media), "text/html") {
				return true
			}
		}
	}
	return false
}

// securityHeaders sets the headers every page carries.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// showAuthorizeError is the page for an authorization request the provider
// cannot answer to the app (see oauth.Provider.ShowErrorsWith).
func (p *Pages) showAuthorizeError(w http.ResponseWriter, message string) {
	securityHeaders(w.Header())
	p.render(w, http.StatusBadRequest, "error", errorPage{
		Title: "This sign-in link does not work",
		Error: "The app sent you here with a sign-in request Parley cannot answer: " + message +
			". Go back to the app; if it happens again, tell its developer.",
	})
}

// checkForm parses the request's query and form and says what is wrong
// with them, or "" when nothing is. Input is refused, not repaired: a
// value that is not valid UTF-8 or holds a NUL byte would otherwise be
// changed on its way (or end a string early) without anyone noticing.
func checkForm(r *http.Request) string {
	if err := r.ParseForm(); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "This form is too long to send. Go back and shorten what you typed."
		}
		return "This form could not be read. Go back and send it again."
	}
	for name, values := range r.Form {
		if !parley.IsText(name) || slices.ContainsFunc(values, func(v string) bool { return !parley.IsText(v) }) {
			return "This form holds characters that are not text (invalid UTF-8 or a NUL byte). Go back and type it again."
		}
	}
	return ""
}

// loginPage is what the sign-in page shows.
type loginPage struct {
	Title, AppName, RequestID, CSRF, Username, Error string
	// Next is the page to go to once signed in, when not the inbox (see
	// localPath), or, on the account pages' sign-in, the connected apps.
	Next string
	// Notice says what just happened, such as the account's deletion.
	Notice string
	// Action is where the form posts.
	Action string
	// Again is set when the member is signed in but the app wants a fresh
	// sign-in.
	Again bool
	// SignUp is the address of the sign-up page, which goes on to where
	// this sign-in would have; empty while registration is closed, or when
	// the member is asked to sign in again.
	SignUp string
}

// appSignIn is the sign-in page of an app's sign-in request id. A person
// without an account may make one and come back to the request, unless
// they are signed in already and asked again.
func (p *Pages) appSignIn(id string, next *service.Next, again bool) loginPage {
	page := loginPage{Title: "Sign in", Action: oauth.LoginPath, RequestID: id, AppName: next.AppName, Again: again}
	if !again && p.svc.RegistrationOpen() {
		page.SignUp = signUpURL(loginURL(id))
	}
	return page
}

// unbound refuses a sign-in request the browser did not start.
func (p *Pages) unbound(w http.ResponseWriter, r *http.Request, id string) bool {
	if p.provider.Bound(r, id) {
		return false
	}
	p.render(w, http.StatusForbidden, "error", errorPage{
		Title: "Start again", Error: "This sign-in was started in another browser, or has expired. Go back to the app and start again.",
	})
	return true
}

func (p *Pages) handleLogin(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if p.unbound(w, r, id) {
		return
	}
	ctx, next := p.proceed(w, r, id)
	if next == nil {
		return
	}
	switch next.Step {
	case service.StepSignIn:
		// A member with a session is asked again because the app wants a
		// fresh sign-in (prompt=login, max_age).
		page := p.appSignIn(id, next, parley.CallerFromContext(ctx) != nil)
		page.CSRF = p.csrfToken(w, r)
		p.render(w, http.StatusOK, "login", page)
	case service.StepConsent:
		http.Redirect(w, r, consentURL(id), http.StatusSeeOther)
	}
}

// proceed takes a sign-in request as far as it goes without asking the
// member (service.Continue) and returns where it goes next, for the page to
// show that step, with the context of the member signed in, if any. When
// the request goes back to the app instead, approved, or refused because
// the app asked that no page be shown (prompt=none) or another member
// signed in than the one it named, or on an error, proceed has answered
// and returns nil.
func (p *Pages) proceed(w http.ResponseWriter, r *http.Request, id string) (context.Context, *service.Next) {
	ctx, err := p.member(r)
	if err != nil {
		ctx = r.Context()
	}
	next, err := p.svc.Continue(ctx, id)
	switch {
	case err != nil:
		p.renderError(w, err)
	case next.Step == service.StepDone:
		http.Redirect(w, r, p.provider.CallbackURL(ctx, id), http.StatusSeeOther)
	case next.Refused():
		p.refuseStep(w, r, next)
	default:
		return ctx, next
	}
	return ctx, nil
}

// refuseStep sends the member back to the app with the error of the step
// the service refused the request at (service.Next.Refused).
func (p *Pages) refuseStep(w http.ResponseWriter, r *http.Request, next *service.Next) {
	why, ok := stepRefusals[next.Step]
	if !ok {
		p.renderError(w, fmt.Errorf("web: no refusal for step %d", next.Step))
		return
	}
	p.refuse(w, r, next.Request, why)
}

// stepRefusals are what the app is told of a request the service refused
// (service.Next.Refused) at each step.
var stepRefusals = map[service.Step]oauth.Refusal{
	service.StepAnotherMember: oauth.AnotherMember,
	service.StepSignIn:        oauth.LoginRequired,
	service.StepConsent:       oauth.ConsentRequired,
}

// refuse sends the member back to the app with an authorization error.
func (p *Pages) refuse(w http.ResponseWriter, r *http.Request, req *parley.AuthRequest, why oauth.Refusal) {
	u, err := p.provider.RefusalURL(req, why)
	if err != nil {
		p.renderError(w, err)
		return
	}
	http.Redirect(w, r, u, http.StatusSeeOther)
}

func (p *Pages) handleLoginPost(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	id := r.PostFormValue("id")
	if p.unbound(w, r, id) {
		return
	}
	next, err := p.svc.Continue(r.Context(), id)
	if err != nil {
		p.renderError(w, err)
		return
	}
	if next.Refused() {
		// prompt=none: the app is told, as on the page's GET.
		p.refuseStep(w, r, next)
		return
	}
	if p.signIn(w, r, p.appSignIn(id, next, false)) {
		http.Redirect(w, r, consentURL(id), http.StatusSeeOther)
	}
}

// signIn checks the posted username and password and sets the session
// cookie. When they are wrong it shows the form again, as page, with the
// error, and returns false. A session the browser held until then ends:
// its cookie is replaced, and a session no browser holds would otherwise
// stay valid until it lapses.
func (p *Pages) signIn(w http.ResponseWriter, r *http.Request, page loginPage) bool {
	page.Username = r.PostFormValue("username")
	signedIn, err := p.svc.SignIn(service.WithDeviceProof(r.Context(), p.deviceProofOf(r)), page.Username, r.PostFormValue("password"))
	if err != nil {
		setRetryAfter(w, err)
		page.CSRF, page.Error = p.csrfToken(w, r), parley.ErrorMessage(err)
		p.render(w, httpapi.StatusOf(err), "login", page)
		return false
	}
	if ctx, err := p.member(r); err == nil {
		if err := p.svc.SignOut(ctx); err != nil {
			p.log.Error("end the session a new sign-in replaces", "err", err)
		}
	}
	// The cookie lasts as long as the session (--session-ttl).
	http.SetCookie(w, p.cookies.New(sessionCookie, signedIn.Token, signedIn.ExpiresAt.Sub(p.svc.Now())))
	http.SetCookie(w, p.cookies.New(deviceCookie, signedIn.DeviceProof, service.DeviceProofTTL))
	return true
}

// deviceProofOf returns the device proof the browser holds, if any, for
// the password checks made for its request (service.WithDeviceProof).
func (p *Pages) deviceProofOf(r *http.Request) string {
	proof, _ := p.cookies.Value(r, deviceCookie)
	return proof
}

// consentPage is what the consent page shows.
type consentPage struct {
	Title, CSRF, Error string
	Consent            *service.Consent
	// Choice is what the form shows chosen.
	Choice consentChoice
}

// Expiries are the lengths the form offers for the grant.
func (consentPage) Expiries() []parley.GrantExpiry { return parley.GrantExpiries }

// findAmongOver is the most conversations the consent page lists without a
// box that finds one among them.
const findAmongOver = 8

// Findable reports whether the consent page offers a box that finds a
// conversation to tick: for a first grant, among more than findAmongOver.
func (c consentPage) Findable() bool {
	return c.Consent.Current == nil && len(c.Consent.Threads) > findAmongOver
}

// consentChoice is what the consent form shows chosen: the page's
// defaults, or, on the page shown again for an answer refused, what the
// member chose, so that a scope they unticked does not come back ticked
// and the conversations they ticked stay ticked.
type consentChoice struct {
	ThreadScope, Expiry string
	// posted says the choice is the member's: scopes are ticked only as
	// they were, not all of them.
	posted          bool
	scopes, threads []string
}

// defaultChoice is what the consent page chooses unasked: the app's own
// conversations only, for the shortest time, every scope asked ticked.
func defaultChoice() consentChoice {
	return consentChoice{ThreadScope: parley.ThreadScopeApp, Expiry: defaultExpiry}
}

// postedChoice is the choice a consent form posted; a thread scope or an
// expiry not among the page's choices shows as the page's default.
func postedChoice(form url.Values) consentChoice {
	c := defaultChoice()
	c.posted, c.scopes, c.threads = true, form["scope"], form["threads"]
	switch scope := form.Get("thread_scope"); scope {
	case parley.ThreadScopeApp, parley.ThreadScopeSelected, parley.ThreadScopeAll:
		c.ThreadScope = scope
	}
	if _, ok := parley.FindGrantExpiry(form.Get("expiry")); ok {
		c.Expiry = form.Get("expiry")
	}
	return c
}

// Scope reports whether the scope's box is ticked.
func (c consentChoice) Scope(s parley.Scope) bool {
	return !c.posted || slices.Contains(c.scopes, string(s))
}

// Thread reports whether the conversation's box is ticked.
func (c consentChoice) Thread(id string) bool { return slices.Contains(c.threads, id) }

func (p *Pages) handleConsent(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	if p.unbound(w, r, id) {
		return
	}
	ctx, next := p.proceed(w, r, id)
	if next == nil {
		return
	}
	if next.Step == service.StepSignIn {
		http.Redirect(w, r, loginURL(id), http.StatusSeeOther)
		return
	}
	con, err := p.svc.ConsentFor(ctx, id)
	if err != nil {
		p.renderError(w, err)
		return
	}
	p.render(w, http.StatusOK, "consent", consentPage{Title: "Connect " + con.App.Name, CSRF: p.csrfToken(w, r), Consent: con, Choice: defaultChoice()})
}

// defaultExpiry is the lifetime the consent page ticks unasked, and the one
// a form posted without its choice grants: the shortest, never "until I
// revoke it".
var defaultExpiry = parley.GrantExpiries[0].Choice

func (p *Pages) handleConsentPost(w http.ResponseWriter, r *http.Request) {
	if !p.checkCSRF(w, r) {
		return
	}
	id := r.PostFormValue("id")
	if p.unbound(w, r, id) {
		return
	}
	ctx, err := p.member(r)
	if err != nil {
		p.renderError(w, err)
		return
	}
	if !p.admitted(ctx, w, r) {
		return
	}
	if r.PostFormValue("action") != "approve" {
		req, err := p.svc.Deny(ctx, id)
		if err != nil {
			p.renderError(w, err)
			return
		}
		p.refuse(w, r, req, oauth.Denied)
		return
	}
	choice := r.PostFormValue("expiry")
	if choice == "" {
		choice = defaultExpiry
	}
	expiry := time.Duration(-1) // refused by the service as not one of the choices
	if e, ok := parley.FindGrantExpiry(choice); ok {
		expiry = e.Lifetime
	}
	d := service.Decision{
		Scopes: parley.NewScopes(r.PostForm["scope"]), ThreadScope: r.PostFormValue("thread_scope"), ThreadIDs: r.PostForm["threads"], Expiry: expiry,
	}
	if _, err := p.svc.Approve(ctx, id, d); err != nil {
		if parley.ErrorCode(err) == parley.EUNAUTHORIZED {
			// The sign-in grew older than the app allows (max_age).
			http.Redirect(w, r, loginURL(id), http.StatusSeeOther)
			return
		}
		if p.approvedBy(ctx, id, err) {
			// The same answer again (a double click, a reload of the
			// post): it goes where the first went, the callback, which
			// issues the request's one code, once.
			http.Redirect(w, r, p.provider.CallbackURL(ctx, id), http.StatusSeeOther)
			return
		}
		con, cerr := p.svc.ConsentFor(ctx, id)
		if cerr != nil || parley.ErrorCode(err) != parley.EINVALID {
			p.renderError(w, err)
			return
		}
		p.render(w, httpapi.StatusOf(err), "consent", consentPage{
			Title: "Connect " + con.App.Name, CSRF: p.csrfToken(w, r), Consent: con, Error: parley.ErrorMessage(err), Choice: postedChoice(r.PostForm),
		})
		return
	}
	http.Redirect(w, r, p.provider.CallbackURL(ctx, id), http.StatusSeeOther)
}

// approvedBy reports whether err, an approval's, refused the request
// because the member on ctx approved it already.
func (p *Pages) approvedBy(ctx context.Context, id string, err error) bool {
	if parley.ErrorCode(err) != parley.ECONFLICT {
		return false
	}
	req, err := p.svc.AuthRequest(ctx, id)
	return err == nil && req.Done() && req.ApprovedAt != nil && req.UserID == parley.CallerFromContext(ctx).User.ID
}

// member returns the request's context with the member its session cookie
// signs in, or an error when there is none.
func (p *Pages) member(r *http.Request) (context.Context, error) {
	session, ok := p.cookies.Value(r, sessionCookie)
	if !ok {
		return nil, parley.Errorf(parley.EUNAUTHORIZED, "sign in first")
	}
	caller, err := p.svc.Authenticate(r.Context(), session)
	if err != nil {
		return nil, err
	}
	ctx := parley.NewContextWithCaller(r.Context(), caller)
	if err := p.svc.ConfirmSession(ctx); err != nil {
		return nil, err
	}
	return ctx, nil
}

// csrfToken returns the token the page's forms carry, setting the
// browser's CSRF cookie on first use. A page asks for the token once for
// each part of it that holds forms: the cookie it sets is added to the
// request too, so that every part's forms carry the token of the one
// cookie the browser keeps.
func (p *Pages) csrfToken(w http.ResponseWriter, r *http.Request) string {
	browser, ok := p.cookies.Value(r, csrfCookie)
	if !ok || len(browser) < minCSRFCookieLen {
		browser = parley.RandomToken()
		c := p.cookies.New(csrfCookie, browser, 0)
		http.SetCookie(w, c)
		// The request's copies made for its handlers share its header.
		cookies := r.Cookies()
		r.Header.Del("Cookie")
		for _, old := range cookies {
			if old.Name != c.Name {
				r.AddCookie(old)
			}
		}
		r.AddCookie(&http.Cookie{Name: c.Name, Value: browser})
	}
	return base64.RawURLEncoding.EncodeToString(p.csrfMAC(browser, r))
}

// minCSRFCookieLen is the shortest CSRF cookie taken as the browser's
// random value; a shorter one is replaced.
const minCSRFCookieLen = 32

// csrfMAC is the CSRF token of a browser's random value and the session
// its request carries (none before sign-in): an HMAC under the server's
// CSRF key. Without the key no one can make a token, and a token is worth
// nothing with another browser's cookie or another session.
func (p *Pages) csrfMAC(browser string, r *http.Request) []byte {
	session, _ := p.cookies.Value(r, sessionCookie)
	mac := hmac.New(sha256.New, p.csrfKey)
	mac.Write([]byte(browser))
	mac.Write([]byte{0})
	mac.Write([]byte(session))
	return mac.Sum(nil)
}

// checkCSRF refuses a form whose token is not the one this browser's pages
// carry (validCSRF), as formExpired says.
func (p *Pages) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	if p.validCSRF(r) {
		return true
	}
	p.formExpired(w, r)
	return false
}

// formExpired answers a form refused for its token. The steps of an app's
// sign-in send the member back to the app, which starts them; the other
// pages, to reload the page.
func (p *Pages) formExpired(w http.ResponseWriter, r *http.Request) {
	again := "Reload the page and try again."
	if slices.Contains(ProviderPaths(), r.URL.Path) {
		again = "Go back to the app and start again."
	}
	p.render(w, http.StatusForbidden, "error", errorPage{
		Title: "Form expired", Error: "This form has expired or did not come from Parley. " + again,
	})
}

// validCSRF reports whether a form's token is the one this browser's pages
// carry: not missing, empty, short, made for another browser or another
// session, nor made by anyone but the server. The comparison takes
// constant time.
func (p *Pages) validCSRF(r *http.Request) bool {
	browser, ok := p.cookies.Value(r, csrfCookie)
	sent, decodeErr := base64.RawURLEncoding.DecodeString(r.PostFormValue("csrf"))
	return ok && len(browser) >= minCSRFCookieLen && decodeErr == nil && hmac.Equal(sent, p.csrfMAC(browser, r))
}

// checkSignInCSRF is checkCSRF for the messenger's and the account pages'
// sign-in and sign-up forms. A browser whose member signed in, in another
// tab, after the form was shown posts it with a token made before their
// session: a form that names that member is sent on to next, a local
// path, as the form's page would send it now; one that names another is
// refused as expired, not carried on as the member signed in. A form
// with a valid token signs in anew, as another member if it says so.
func (p *Pages) checkSignInCSRF(w http.ResponseWriter, r *http.Request, next string) bool {
	if p.validCSRF(r) {
		return true
	}
	if ctx, err := p.member(r); err == nil &&
		parley.CallerFromContext(ctx).User.Username == parley.NormalizeUsername(strings.TrimSpace(r.PostFormValue("username"))) {
		http.Redirect(w, r, next, http.StatusSeeOther)
	} else {
		p.formExpired(w, r)
	}
	return false
}

type errorPage struct{ Title, Error string }

func (p *Pages) renderError(w http.ResponseWriter, err error) {
	status := httpapi.StatusOf(err)
	// A full disk is logged when it fills and when it clears, not at
	// every page it refuses.
	if status >= 500 && status != http.StatusInsufficientStorage {
		p.log.Error("page error", "err", err)
	}
	setRetryAfter(w, err)
	p.render(w, status, "error", errorPage{Title: http.StatusText(status), Error: parley.ErrorMessage(err)})
}

// setRetryAfter tells the browser when to try again after err, if err
// says: a throttled request's answer carries Retry-After, as the API's
// does.
func setRetryAfter(w http.ResponseWriter, err error) {
	if e, ok := errors.AsType[*parley.Error](err); ok && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", httpapi.RetryAfter(e.RetryAfter))
	}
}

// admitted holds a form the member of ctx posted to their rate limit, the
// allowance their API calls spend too: a post over it is answered 429 with
// Retry-After, and does nothing.
func (p *Pages) admitted(ctx context.Context, w http.ResponseWriter, r *http.Request) bool {
	if err := p.limits.Admit(r, w.Header(), parley.CallerFromContext(ctx), p.log); err != nil {
		p.renderError(w, err)
		return false
	}
	return true
}

func (p *Pages) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := p.pages.ExecuteTemplate(w, name+".html", data); err != nil {
		p.log.Error("render page", "page", name, "err", err)
	}
}

func consentURL(id string) string { return consentPath + "?id=" + url.QueryEscape(id) }

func loginURL(id string) string { return oauth.LoginPath + "?id=" + url.QueryEscape(id) }

// sentence writes a message for a page as a sentence: errors read
// "wrong username or password" in the API, "Wrong username or password." here.
func sentence(msg string) string {
	if msg == "" {
		return ""
	}
	first, size := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(first)) + msg[size:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}
