package httpapi

import (
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/parleyhq/parley"
)

// parseQuery reads the request's query string, refusing rather than
// repairing it: a query that is not validly percent-encoded, or that gives
// a parameter more than once, or one that is not text (parley.IsText), is
// EINVALID. (r.URL.Query drops the pairs it
// cannot decode, and Get reads the first of several values, so either would
// be answered as a request without the parameter, or with half of it.)
// Every value of the result is one.
func parseQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, parley.Errorf(parley.EINVALID, "the query string is malformed: %v", err)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if len(q[name]) > 1 {
			return nil, parley.Errorf(parley.EINVALID, "query parameter %q is given more than once", name)
		}
		if !parley.IsText(name) || !parley.IsText(q.Get(name)) {
			return nil, parley.Errorf(parley.EINVALID, "query parameter %q is not valid UTF-8 or holds a NUL byte", name)
		}
	}
	return q, nil
}

// oneValueHeaders are the request headers the API reads one value of:
// given twice, the first would win unseen (a retry with the second key
// would post again, a request with two tokens act as the first's caller),
// so a second is refused.
var oneValueHeaders = []string{"Authorization", "Idempotency-Key"}

// checkRequest refuses, before any route reads it, a request of the API
// whose query string parseQuery refuses, on every route, those that read
// no query too, or that gives a header of oneValueHeaders more than once.
// Two tokens are challenged on w as invalid_request (RFC 6750 section
// 3.1: a request whose token cannot be read).
func checkRequest(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	// An Idempotency-Key sent empty (or only spaces, which net/http trims)
	// is a malformed key, not none: taken as none, the client would
	// retry a send it believes safe to repeat, and post it again.
	if keys := r.Header.Values("Idempotency-Key"); len(keys) == 1 && keys[0] == "" {
		return parley.ErrIdempotencyKeyMalformed
	}
	for _, h := range oneValueHeaders {
		if len(r.Header.Values(h)) > 1 {
			if h == "Authorization" {
				w.Header().Set("WWW-Authenticate", `Bearer realm="parley", error="invalid_request"`)
			}
			return parley.Errorf(parley.EINVALID, "the %s header is given more than once", h)
		}
	}
	return nil
}

// pageQuery reads the query of a request for a page of a list: the query
// itself (parseQuery) and the page size it asks for (limitParam).
func pageQuery(r *http.Request) (url.Values, int, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, 0, err
	}
	limit, err := limitParam(q)
	return q, limit, err
}
