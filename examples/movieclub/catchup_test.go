package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
)

// heldChanges is http.DefaultTransport, which the Go client's requests go
// through, while a test holds the answers to reads of a changes feed: each
// is read from Parley, then held until release, as a slow network would.
type heldChanges struct {
	next    http.RoundTripper
	hold    atomic.Bool
	got     chan struct{}
	release chan struct{}
}

func (h *heldChanges) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := h.next.RoundTrip(r)
	if h.hold.Load() && strings.HasSuffix(r.URL.Path, "/changes") {
		h.got <- struct{}{}
		<-h.release
	}
	return resp, err
}

// waitFor waits, a minute at most, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
	}
}

// A message deleted while movieclub was reading the thread's changes, the
// read having found it, is not shown once both are done: the deletion's
// webhook is not lost to the read that comes back after it.
func TestMovieClub_DeletedDuringACatchUpStaysDeleted(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.recommend(t)
	h := &heldChanges{next: http.DefaultTransport, got: make(chan struct{}, 1), release: make(chan struct{})}
	http.DefaultTransport = h
	t.Cleanup(func() { http.DefaultTransport = h.next })
	for len(c.hooks) > 0 {
		<-c.hooks
	}

	_, created := c.webhooks(client.WebhookMessageCreated)
	deletions, _ := c.webhooks(client.WebhookMessageDeleted)
	h.hold.Store(true)
	reply := apptest.MustSend(t, r.bob, r.threadID, "Oops, wrong thread")
	select {
	case <-h.got: // movieclub has read the reply, and not yet kept it
	case <-time.After(time.Minute):
		t.Fatal("movieclub did not read the thread")
	}
	h.hold.Store(false)
	if err := r.bob.DeleteMessage(ctx, reply.ID); err != nil {
		t.Fatal(err)
	}
	// The deletion's webhook reaches movieclub while the read is held;
	// then the read comes back; then both webhooks are handled.
	waitFor(t, "the deletion's webhook", func() bool {
		arrived, _ := c.webhooks(client.WebhookMessageDeleted)
		return arrived > deletions
	})
	close(h.release)
	waitFor(t, "the reply's two webhooks handled", func() bool {
		_, c1 := c.webhooks(client.WebhookMessageCreated)
		_, d1 := c.webhooks(client.WebhookMessageDeleted)
		return c1 > created && d1 > deletions
	})
	if strings.Contains(c.home(t, r.b), "Oops, wrong thread") {
		t.Error("movieclub shows a reply deleted in Parley")
	}
}
