// Package httpapi serves Parley's JSON API under /api/v1, its realtime
// events over WebSocket, the operational endpoints /healthz and /readyz,
// and the metrics the server mounts at /metrics.
//
// Handlers are thin: they decode, call the service with the caller in the
// context, and encode. Every error leaves as application/problem+json
// (RFC 9457), mapped from the domain's codes in problem.go.
package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/cookie"
	"github.com/parleyhq/parley/internal/service"
)

// Server is the HTTP handler of the API.
type Server struct {
	svc     *service.Service
	log     *slog.Logger
	metrics *Metrics
	limits  Limits
	ready   func(context.Context) error
	mux     *http.ServeMux
	// otherOrigins holds the patterns of the routes a page of another
	// origin may call (takesOtherOrigins).
	otherOrigins map[string]bool
	// crossOrigin is the server's own handler as CrossOrigin wraps it.
	crossOrigin http.Handler

	// closing is closed when the server shuts down, ending realtime connections.
	closing     chan struct{}
	closingOnce sync.Once
	// streams counts the realtime streams running, for WaitRealtime.
	streams streamCount
}

// NewServer returns the API's handler, which holds authenticated calls to
// limits and answers /readyz with ready: nil when the server may take
// traffic, or else what keeps it from it, in words an operator may see.
func NewServer(svc *service.Service, log *slog.Logger, metrics *Metrics, limits Limits, ready func(context.Context) error) *Server {
	s := &Server{svc: svc, log: log, metrics: metrics, limits: limits, ready: ready, mux: http.NewServeMux(),
		otherOrigins: map[string]bool{}, closing: make(chan struct{})}
	for _, rt := range s.routes() {
		h := rt.handler
		switch {
		case rt.reports:
			h = s.authenticated(h, s.svc.AuthenticateReportReader, false)
		case rt.websocket:
			// A stream outlives its first statement: its app's token is
			// looked up, never taken from the cache. Its clients that
			// cannot set headers send a ticket (takesTicket).
			h = s.authenticated(h, s.svc.Authenticate, true)
		case !rt.public:
			h = s.authenticated(h, s.svc.AuthenticateCached, false)
		}
		if rt.websocket {
			h = s.websocketHandshake(h)
		}
		s.mux.HandleFunc(rt.method+" "+rt.pattern, h)
		s.otherOrigins[rt.method+" "+rt.pattern] = !rt.sameOrigin
	}
	s.mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc(readyRoute, s.handleReady)
	s.mux.Handle("/", Unmatched(s.mux))
	s.crossOrigin = CrossOrigin(http.HandlerFunc(s.serve))
	return s
}

// CloseRealtime ends every realtime connection; http.Server.Shutdown does not
// wait for them (WaitRealtime does).
func (s *Server) CloseRealtime() { s.closingOnce.Do(func() { close(s.closing) }) }

// WaitRealtime waits until no realtime stream runs, or ctx ends. After
// CloseRealtime, each stream has then told its client why it ended (1001)
// and closed: a process that exits without waiting cuts off the close
// frames still being written, and their clients see only the connection
// drop.
func (s *Server) WaitRealtime(ctx context.Context) error {
	select {
	case <-s.streams.none():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP serves a request with panic recovery, a body limit, metrics,
// a log line and X-Content-Type-Options: nosniff, and answers a page of
// another origin as CrossOrigin does on the routes it may call.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") != "" && s.takesOtherOrigins(r) {
		s.crossOrigin.ServeHTTP(w, r)
		return
	}
	s.serve(w, r)
}

// serve is ServeHTTP's own.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				// net/http's own way to cut an answer off
				// (LongAnswer.Fail): it failed.
				s.metrics.done(s.log, r, http.StatusInternalServerError, time.Since(start))
				panic(p)
			}
			logPanic(s.log, r, p)
			if rec.status == 0 {
				writeProblem(rec, http.StatusInternalServerError, parley.EINTERNAL, "Internal error.")
			}
		}
		s.metrics.done(s.log, r, rec.status, time.Since(start))
	}()
	// Every answer is of the type it says, JSON for most: a browser is
	// not to guess another, such as HTML from a message's text in it.
	rec.Header().Set("X-Content-Type-Options", "nosniff")
	r.Body = http.MaxBytesReader(rec, r.Body, maxBodyBytes)
	if NotClean(rec, r) {
		return
	}
	if !parley.IsText(r.URL.Path) {
		// It names nothing anyone can have: not found, said before the
		// store is asked (see parley.IsText).
		writeProblem(rec, http.StatusNotFound, parley.ENOTFOUND, "no such resource: the path is not valid UTF-8 or holds a NUL byte")
		return
	}
	if strings.HasPrefix(r.URL.Path, PathPrefix) {
		if err := checkRequest(rec, r); err != nil {
			s.writeError(rec, r, err)
			return
		}
	}
	s.mux.ServeHTTP(rec, r)
}

// PathPrefix begins every path of the API. A server that mounts the API
// beside other handlers hands it every path under the prefix, clean or
// not, for the API to answer.
const PathPrefix = "/api/"

// NotClean answers 404, as a problem, a request whose path is not clean
// (cleanPath), and reports whether it did. ServeMux would redirect such a
// request to the clean path, before authentication and without a problem,
// and an API client or an OAuth client is no person whose typing to
// mend: no route of the API's or the provider's has such a path.
func NotClean(w http.ResponseWriter, r *http.Request) bool {
	if cleanPath(r.URL.Path) {
		return false
	}
	writeProblem(w, http.StatusNotFound, parley.ENOTFOUND, "no such endpoint")
	return true
}

// cleanPath reports whether p is a path as ServeMux routes it: rooted, with
// no empty, "." or ".." segment, a trailing slash aside.
func cleanPath(p string) bool {
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean == p
}

// HealthPath and ReadyPath are the paths of the liveness and readiness
// checks, which the API answers outside its PathPrefix.
const (
	HealthPath = "/healthz"
	ReadyPath  = "/readyz"
)

// readyRoute is the pattern of the readiness check.
const readyRoute = "GET " + ReadyPath

// handleReady answers /readyz: 200 while the server may take traffic, 503
// with a problem saying why not otherwise. Unlike /healthz, which says only
// that the process answers, it asks the database.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(r.Context()); err != nil {
		writeProblem(w, http.StatusServiceUnavailable, codeNotReady, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Unmatched answers, as problems, the requests no route of mux takes: 405
// with Allow when the path exists under other methods, 404 otherwise. Mount
// it at "/" of mux; the OAuth provider does too, so that every surface of
// the server refuses the same way.
func Unmatched(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if allow := AllowedMethods(mux, r); len(allow) > 0 {
			MethodNotAllowed(w, r, allow)
			return
		}
		writeProblem(w, http.StatusNotFound, parley.ENOTFOUND, "no such endpoint")
	})
}

// MethodNotAllowed answers that the path takes allow, listed in Allow, and
// not r's method: 405, as a problem. Unmatched answers so, and so does an
// endpoint that checks the method itself.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request, allow []string) {
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeProblem(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed here")
}

// AllowedMethods returns the methods under which a route of mux, other
// than its catch-all at "/", takes r's path: none when the path is not
// served at all. HEAD is allowed wherever GET is: ServeMux answers it with
// the GET route, without the body.
func AllowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	return allow
}

// takesTicket reports whether r's route, the realtime stream's, takes a
// ticket in place of a bearer token (authenticated).
func takesTicket(r *http.Request) bool {
	return r.Pattern == "GET "+eventsPath
}

// authenticated resolves the bearer token (RFC 6750) to a caller with
// authenticate and holds it to its rate limit (admit). Where ticket is set,
// for WebSocket clients that cannot set headers, a ticket from POST
// /api/v1/events/tickets is taken as ?ticket= too, and the session cookie
// of the server's own pages, from those pages only (cookieCaller). A token
// is never taken from a URL, where proxies and histories would keep it.
func (s *Server) authenticated(next http.HandlerFunc, authenticate func(context.Context, string) (*parley.Caller, error), ticket bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var c *parley.Caller
		var q url.Values
		var err error
		if ticket {
			q, err = parseQuery(r)
		}
		token := BearerToken(r.Header.Get("Authorization"))
		switch {
		case err != nil:
		case token != "":
			c, err = authenticate(r.Context(), token)
		case q.Has("ticket"):
			c, err = s.svc.AuthenticateTicket(r.Context(), q.Get("ticket"))
		case ticket && s.hasSessionCookie(r):
			c, err = s.cookieCaller(r)
		default:
			err = parley.Errorf(parley.EUNAUTHORIZED, "send a bearer token in the Authorization header")
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.limits.Admit(r, w.Header(), c, s.log); err != nil {
			if c.App != nil && c.Check != nil {
				// A token from the node's cache is looked up before it is
				// told to wait: one that no longer works is told that.
				if _, lookupErr := s.svc.Authenticate(r.Context(), token); lookupErr != nil {
					err = lookupErr
				}
			}
			s.writeError(w, r, err)
			return
		}
		if c.App != nil && c.Check != nil {
			s.serveCachedApp(w, r, c, token, next)
			return
		}
		next(w, r.WithContext(parley.NewContextWithCaller(r.Context(), c)))
	}
}

// serveCachedApp serves the request of an app whose token the node took
// from its cache (service.Service.AuthenticateCached). If the request
// fails before the store confirmed the token, because the store found
// the token, its grant or its app changed since it was looked up or
// because the request was refused on what the cached token says, nothing
// of it took effect, and it is served again with the token looked up
// afresh: then a grant narrowed, a token revoked or an app suspended on
// any node is refused at this very request, and a grant widened is not.
// So a request refused before it reaches the store (bad input, a member's
// route) costs the token's look-up all the same, as it did before the
// cache.
//
// The store confirms the token looked up afresh too: a revocation
// committed between that look-up and the request's first statement
// refuses it again, and it is served again with the token looked up once
// more, up to servesAtMost times in all.
func (s *Server) serveCachedApp(w http.ResponseWriter, r *http.Request, c *parley.Caller, token string, next http.HandlerFunc) {
	body := &replayableBody{ReadCloser: r.Body}
	r.Body = body
	header := maps.Clone(w.Header())
	again := &servedAgain{check: c.Check}
	for served := 1; ; served++ {
		ctx := context.WithValue(parley.NewContextWithCaller(r.Context(), c), servedAgainKey{}, again)
		next(w, r.WithContext(ctx))
		if !again.wanted {
			return
		}
		if served == servesAtMost {
			writeProblem(w, http.StatusServiceUnavailable, parley.EUNAVAILABLE, "the app's access changed while the request was served: make it again")
			return
		}
		var err error
		if c, err = s.svc.AuthenticateAgain(r.Context(), token); err != nil {
			s.writeError(w, r, err)
			return
		}
		clear(w.Header())
		maps.Copy(w.Header(), header)
		r.Body = body.replay()
		again = &servedAgain{check: c.Check, afresh: true}
	}
}

// servesAtMost bounds how many times serveCachedApp serves a request: its
// token's access would have to change between each look-up and the
// request's first statement to need more than two.
const servesAtMost = 4

// servedAgain is a request of an app's cached token (serveCachedApp):
// writeError sets wanted, and writes nothing, when the store refused the
// token or, for a token from the cache, when the request failed before
// the store confirmed it.
type servedAgain struct {
	check *parley.CallerCheck
	// afresh is set when the token was looked up for this serving: what
	// was decided from it before the store stands.
	afresh bool
	wanted bool
}

type servedAgainKey struct{}

// wantsAgain reports whether r, failing with err, is to be served again,
// and then marks it so (servedAgain): when the store refused the app's
// token, or the request failed before the store confirmed a token taken
// from the cache.
func wantsAgain(r *http.Request, err error) bool {
	again, _ := r.Context().Value(servedAgainKey{}).(*servedAgain)
	if again == nil || !errors.Is(err, parley.ErrAccessChanged) && (again.afresh || again.check.Confirmed()) {
		return false
	}
	again.wanted = true
	return true
}

// replayableBody keeps what is read of a request's body, for the request
// to be served again.
type replayableBody struct {
	io.ReadCloser
	read bytes.Buffer
}

func (b *replayableBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Write(p[:n])
	return n, err
}

// replay returns the body from its start: what was read of it, then what
// was not, which it keeps too, for the next replay.
func (b *replayableBody) replay() io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(b.read.Bytes()), b), b.ReadCloser}
}

// SessionCookie names the cookie that holds a member's session in the
// browser, set by the pages when they sign the member in; over https it
// is kept as __Host-parley_session (package cookie).
const SessionCookie = "parley_session"

// cookies are the browser's cookies of this server, kept as the pages keep
// them for its public URL.
func (s *Server) cookies() cookie.Site { return cookie.SiteOf(s.svc.PublicURL()) }

// hasSessionCookie reports whether the request carries the session cookie.
func (s *Server) hasSessionCookie(r *http.Request) bool {
	_, ok := s.cookies().Value(r, SessionCookie)
	return ok
}

// cookieCaller authenticates the messenger's own WebSocket with the
// member's session cookie. The browser sends that cookie whatever page
// opens the connection, so the handshake must come from a page of this
// server: its Origin must be the public URL's, or the connection is
// refused (no cross-site WebSocket hijacking).
func (s *Server) cookieCaller(r *http.Request) (*parley.Caller, error) {
	if origin := r.Header.Get("Origin"); origin == "" || !sameOrigin(origin, s.svc.PublicURL()) {
		return nil, parley.Errorf(parley.EFORBIDDEN, "a session cookie opens the realtime stream only from this server's own pages")
	}
	session, _ := s.cookies().Value(r, SessionCookie)
	return s.svc.Authenticate(r.Context(), session)
}

// sameOrigin reports whether origin, as a browser sends it, is the origin
// of publicURL: the same scheme, host and port.
func sameOrigin(origin, publicURL string) bool {
	o, err := url.Parse(origin)
	if err != nil {
		return false
	}
	p, err := url.Parse(publicURL)
	if err != nil {
		return false
	}
	return o.Path == "" && strings.EqualFold(o.Scheme, p.Scheme) && strings.EqualFold(o.Host, p.Host)
}

// BearerToken returns the token of an Authorization header of the Bearer
// scheme, whose name is case-insensitive (RFC 7235), or "" for another
// header.
func BearerToken(header string) string {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController and the WebSocket upgrade reach the
// underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func statusLabel(code int) string {
	if code == 0 {
		code = http.StatusOK
	}
	return strconv.Itoa(code)
}
