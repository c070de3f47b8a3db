package main

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
)

// heldChanges is http.DefaultClient's transport while a test holds the
// answers to reads of a changes feed: each is read from Parley, then held
// until release, as a slow network would.
type heldChanges struct {
	hold    atomic.Bool
	got     chan struct{}
	release chan struct{}
}

func (h *heldChanges) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if h.hold.Load() && strings.HasSuffix(r.URL.Path, "/changes") {
		h.got <- struct{}{}
		<-h.release
	}
	return resp, err
}

// A message deleted while movieclub was reading the thread's changes, the
// read having found it, is not shown once both are done: the deletion's
// webhook is not lost to the read that comes back after it.
func TestMovieClub_DeletedDuringACatchUpStaysDeleted(t *testing.T) {
	ctx := context.Background()
	c := startClub(t)
	r := c.recommend(t)
	h := &heldChanges{got: make(chan struct{}, 1), release: make(chan struct{})}
	http.DefaultClient.Transport = h
	t.Cleanup(func() { http.DefaultClient.Transport = nil })
	for len(c.hooks) > 0 {
		<-c.hooks
	}

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
	handled := 0
	select {
	case <-c.hooks: // the deletion's webhook, handled while the read is held
		handled++
	case <-time.After(2 * time.Second): // or waiting for the read
	}
	close(h.release)
	for ; handled < 2; handled++ {
		select {
		case <-c.hooks:
		case <-time.After(time.Minute):
			t.Fatal("the webhooks were not both handled")
		}
	}
	if strings.Contains(c.home(t, r.b), "Oops, wrong thread") {
		t.Error("movieclub shows a reply deleted in Parley")
	}
}
