package httpapi

import (
	"net/http"
	"time"

	"github.com/rs/cors"
)

// CrossOrigin lets a web page of any origin call next: a single-page app,
// a public client, calls the API and the provider's token, revocation,
// introspection, userinfo, discovery and keys from its own origin
// (CORS, the Fetch standard). It answers preflights itself, before next.
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
