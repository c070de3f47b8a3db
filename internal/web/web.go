// Package web serves Parley's HTML pages: the messenger at / (messenger.go),
// the sign-in and consent pages of "Sign in with Parley" (signin.go,
// consent.go), and the member's connected apps, access log and developer
// console (privacy.go, developer.go). Pages are server-rendered HTML under
// a strict Content-Security-Policy; they work without script, which only
// adds to them: the messenger's, static/messenger.js, live updates, and the
// consent page's, static/consent.js, a box that finds a conversation to
// tick among many; every page's times are written again in the reader's
// zone by static/times.js, which the messenger's script imports and the
// other pages load alone.
//
// CSRF (csrf.go): every form carries a token that the server signs (an
// HMAC under a key kept in the store) over the browser's random CSRF
// cookie and its session cookie, checked in constant time; and net/http's
// CrossOriginProtection refuses cross-origin form posts outright, by
// Sec-Fetch-Site and Origin.
package web

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
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

// New returns the pages, whose cookies are kept as the service's public URL
// says (cookie.SiteOf), and whose members' forms are held to limits'
// Member policy. The provider shows its authorization errors, and those
// it does not send to an app no operator vouched for, on the pages from
// then on. It fails when the server's CSRF key
// cannot be loaded.
func New(ctx context.Context, svc *service.Service, provider *oauth.Provider, limits httpapi.Limits, log *slog.Logger) (*Pages, error) {
	csrfKey, err := svc.ServerKey(ctx, csrfKeyName)
	if err != nil {
		return nil, fmt.Errorf("web: CSRF key: %w", err)
	}
	p := &Pages{svc: svc, provider: provider, log: log, cookies: cookie.SiteOf(svc.PublicURL()), csrfKey: csrfKey, limits: limits}
	p.pages = p.parsePages()
	provider.ShowErrorsWith(p.showAuthorizeError)
	provider.ShowUnsentWith(p.showUnsent)
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
		Funcs(template.FuncMap{"date": formatDate, "at": at, "sentence": sentence, "when": p.when, "clock": p.stamp}).
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

type errorPage struct{ Title, Error string }

func (p *Pages) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpapi.StatusOf(err)
	// A full disk, or a database out of reach, is logged when it begins
	// and when it ends, not at every page it refuses.
	if status == http.StatusInternalServerError {
		p.log.ErrorContext(r.Context(), "page error", "method", r.Method, "path", r.URL.Path, "err", err)
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
		p.renderError(w, r, err)
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
