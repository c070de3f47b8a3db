package app

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// drain takes a server that is about to stop out of its load balancer:
// once begun, /readyz answers 503 and every answer closes its connection,
// so that the load balancer sends the server nothing new and clients open
// their next connection to another node, while the server still answers
// what reaches it. Without it, a stopping server closed its listener and
// its idle connections at once, and requests a proxy had just sent on a
// kept-alive connection went unanswered (a POST is not retried).
type drain struct {
	begun atomic.Bool
	// asked is when /readyz was last asked, in Unix nanoseconds.
	asked atomic.Int64
}

// drainWatched is how recently /readyz must have been asked for a drain to
// wait: a server nothing watches, such as one run by hand, stops at once.
const drainWatched = time.Minute

// errStopping is what /readyz says of a server that drains.
var errStopping = errors.New("the server is stopping: send it nothing new")

// ready returns the readiness check: check, until the drain begins.
func (d *drain) ready(check func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		d.asked.Store(time.Now().UnixNano())
		if d.begun.Load() {
			return errStopping
		}
		return check(ctx)
	}
}

// handler returns h, whose answers ask the client to close the connection
// once the drain has begun.
func (d *drain) handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.begun.Load() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// begin begins the drain, and reports whether a load balancer watches the
// server: whether /readyz was asked within drainWatched.
func (d *drain) begin() (watched bool) {
	d.begun.Store(true)
	return time.Since(time.Unix(0, d.asked.Load())) <= drainWatched
}

// wait waits for d, or until ctx ends.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
