package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/parleyhq/parley"
)

// problemTypeBase prefixes every problem type. Types are stable: clients may
// branch on them.
const problemTypeBase = "urn:parley:problem:"

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

// errorStatus maps each domain error code to its HTTP status. It is the one
// place where domain errors meet HTTP.
var errorStatus = map[string]int{
	parley.EINVALID:      http.StatusBadRequest,
	parley.EUNAUTHORIZED: http.StatusUnauthorized,
	parley.EFORBIDDEN:    http.StatusForbidden,
	parley.ESCOPE:        http.StatusForbidden,
	parley.ENOTFOUND:     http.StatusNotFound,
	parley.ECONFLICT:     http.StatusConflict,
	parley.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	parley.ETHROTTLED:    http.StatusTooManyRequests,
	parley.EFULL:         http.StatusInsufficientStorage,
	parley.EUNAVAILABLE:  http.StatusServiceUnavailable,
	parley.EINTERNAL:     http.StatusInternalServerError,
	codeMethodNotAllowed: http.StatusMethodNotAllowed,
	codeUnsupportedMedia: http.StatusUnsupportedMediaType,
	codeUpgradeRequired:  http.StatusUpgradeRequired,
	codeNotReady:         http.StatusServiceUnavailable,
}

// apiDetails are the details the API gives, in its own terms of headers,
// query parameters and routes, for the domain errors about what it takes
// that way.
var apiDetails = map[*parley.Error]string{
	parley.ErrIdempotencyKeyMalformed: fmt.Sprintf("the Idempotency-Key header must be 1 to %d visible ASCII characters (0x21 to 0x7E: no spaces)", parley.MaxIdempotencyKeyLen),
	parley.ErrIdempotencyKeyReused:    "this Idempotency-Key was used for a different message",
	parley.ErrThreadKeyReused:         "this Idempotency-Key was used to start a different conversation",
	parley.ErrInboxMessages:           fmt.Sprintf("include=messages:N takes N from 0 to %d", parley.MaxInboxMessages),
	parley.ErrInboxPageMessages:       fmt.Sprintf("limit times N of include=messages:N must be at most %d", parley.MaxInboxPageMessages),
}

// detail returns the client-safe message of err, in the API's terms.
func detail(err error) string {
	if e, ok := errors.AsType[*parley.Error](err); ok {
		if d, ok := apiDetails[e]; ok {
			return d
		}
	}
	return parley.ErrorMessage(err)
}

// StatusOf returns the HTTP status for a domain error: the same answer for
// pages as for the API.
func StatusOf(err error) int {
	if status, ok := errorStatus[parley.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// Codes for failures that only HTTP knows of.
const (
	codeMethodNotAllowed = "method_not_allowed"
	codeUnsupportedMedia = "unsupported_media_type"
	codeUpgradeRequired  = "upgrade_required"
	codeNotReady         = "not_ready"
)

// writeError answers with the problem for err. Internal errors are logged in
// full and shown to the client without detail. A request of an app's
// cached token that the store refused, or that failed before the store
// confirmed the token, is answered by serving it again instead
// (serveCachedApp).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if wantsAgain(r, err) {
		return // serveCachedApp serves it again
	}
	code := parley.ErrorCode(err)
	status, ok := errorStatus[code]
	if !ok {
		code, status = parley.EINTERNAL, http.StatusInternalServerError
	}
	if code == parley.EINTERNAL && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The client went away or gave up: nothing to fix on our side.
		writeProblem(w, http.StatusServiceUnavailable, parley.EUNAVAILABLE, "the request was cancelled before it finished")
		return
	}
	if code == parley.EINTERNAL {
		s.log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	switch code {
	// RFC 6750 section 3: the challenge says why a token was refused.
	case parley.EUNAUTHORIZED:
		challenge := `Bearer realm="parley"`
		// error="invalid_token" is for a credential that was sent and
		// refused, not for a missing one (section 3.1): a ticket is one
		// only where the route takes it.
		if BearerToken(r.Header.Get("Authorization")) != "" || takesTicket(r) && r.URL.Query().Has("ticket") {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	case parley.ESCOPE:
		challenge := `Bearer realm="parley", error="insufficient_scope"`
		if e, _ := errors.AsType[*parley.Error](err); e.Scope != "" {
			challenge += `, scope="` + e.Scope + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	case parley.ETHROTTLED, parley.EUNAVAILABLE:
		if e, _ := errors.AsType[*parley.Error](err); e.RetryAfter > 0 {
			w.Header().Set("Retry-After", RetryAfter(e.RetryAfter))
		}
	case codeUnsupportedMedia:
		// RFC 9110 section 12.5.3: a request refused for its content
		// coding says which codings would have been taken.
		if errors.Is(err, errContentCoding) {
			w.Header().Set("Accept-Encoding", "identity")
		}
	}
	writeProblem(w, status, code, detail(err))
}

// writeProblem answers with a problem. It says nosniff itself, as the
// API's server does for all its answers (Server.serve): the provider and
// the pages answer with problems too (Unmatched, NotClean).
func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{
		Type:   problemTypeBase + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	})
}

// RetryAfter is the Retry-After header (RFC 9110 section 10.2.3) for a
// wait: whole seconds, rounded up.
func RetryAfter(wait time.Duration) string {
	return strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10)
}

// logPanic records a recovered panic with the stack that raised it; the
// client gets a plain 500 problem.
func logPanic(log *slog.Logger, r *http.Request, p any) {
	log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p,
		"stack", string(debug.Stack()))
}
