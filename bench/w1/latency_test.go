package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestCall_LatencyEndsWhenTheBodyIsRead(t *testing.T) {
	d, err := call(context.Background(), func(ctx context.Context) error {
		// The slot is the transport's; a time an hour back tells call's
		// answer from the time fn took.
		*ctx.Value(readSlotKey{}).(*time.Time) = time.Now().Add(-time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d > -59*time.Minute {
		t.Fatalf("latency %s: want it to end when the body was read (an hour before fn returned)", d)
	}
}

func TestCall_LatencyWithoutABodyRunsToTheEnd(t *testing.T) {
	d, err := call(context.Background(), func(ctx context.Context) error {
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d < 10*time.Millisecond {
		t.Fatalf("latency %s: want all of fn's time when no body was read", d)
	}
}

func TestBodyRead_NotesTheBodysEnd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 64<<10))
	}))
	defer srv.Close()
	hc := &http.Client{Transport: bodyRead{http.DefaultTransport}}

	var at time.Time
	req, err := http.NewRequestWithContext(withReadSlot(context.Background(), &at), "GET", srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	if !at.IsZero() {
		t.Fatal("the time was noted before the body was read to its end")
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		t.Fatal(err)
	}
	if at.IsZero() || at.After(time.Now()) {
		t.Fatalf("noted %v once the body was read: want a time, and not a later one", at)
	}
	first := at
	resp.Body.Read(make([]byte, 1))
	if at != first {
		t.Fatal("a read after the end noted the time again")
	}
}

func TestBodyRead_LeavesRequestsWithoutASlot(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	defer srv.Close()
	resp, err := (&http.Client{Transport: bodyRead{http.DefaultTransport}}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, ok := resp.Body.(*notingBody); ok {
		t.Fatal("a request without a slot got a noting body")
	}
}
