package httpapi

import (
	"net/http"
	"time"

	"github.com/rs/cors"
)

// CrossOrigin lets a web page of any origin call next: a single-page app,
// a public client, calls the API's routes (but those of route.sameOrigin)
// and the provider's token, revocation, introspection, userinfo, discovery
// and keys from its own origin (CORS, the Fetch standard). It answers
// preflights itself, before next.
//
// Credentials are never allowed: the browser sends no cookie with such a
// request, or shows the page no answer to one, so a page of another origin
// can act only with a token it holds, and never as the member signed in to
// Parley's own pages. The answers' headers a client acts on are exposed: the
// challenge of a refused token, when to retry, where a new resource is,
// whether a send was replayed, and the rate limits.
func CrossOrigin(next http.Handler) http.Handler { return crossOrigin.Handler(next) }

var crossOrigin = cors.New(cors.Options{
	AllowedOrigins: []string{"*"},
	AllowedMethods: []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
	AllowedHeaders: []string{"Authorization", "Content-Type", "Idempotency-Key", "Accept", "Accept-Language"},
	ExposedHeaders: []string{"WWW-Authenticate", "Retry-After", "Location", "Idempotent-Replayed", "RateLimit", "RateLimit-Policy", "Content-Disposition"},
	MaxAge:         int(preflightMaxAge / time.Second),
})

// preflightMaxAge is how long a browser may keep a preflight's answer.
const preflightMaxAge = 10 * time.Minute

// takesOtherOrigins reports whether a page of another origin may make the
// request r is, or for a preflight the request it asks about: a route of
// the API but those of route.sameOrigin.
func (s *Server) takesOtherOrigins(r *http.Request) bool {
	method := r.Method
	if asked := r.Header.Get("Access-Control-Request-Method"); r.Method == http.MethodOptions && asked != "" {
		method = asked
	}
	_, pattern := s.mux.Handler(&http.Request{Method: method, URL: r.URL, Host: r.Host})
	return s.otherOrigins[pattern]
}
