package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"
)

// W1's latency runs from a request's start to the last byte of its answer's
// body read: the client's decoding of the answer comes after it, as it
// does in the floor's load generator. bodyRead is the transport that notes
// that moment, in a slot its request's context carries (withReadSlot).

// readSlotKey is the context key of the slot.
type readSlotKey struct{}

// withReadSlot returns a context whose requests note in *at when their
// answer's body was read to its end.
func withReadSlot(ctx context.Context, at *time.Time) context.Context {
	return context.WithValue(ctx, readSlotKey{}, at)
}

// bodyRead wraps a transport so that each answer's body, read to its end,
// notes the time in its request's slot.
type bodyRead struct{ next http.RoundTripper }

func (t bodyRead) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	// An upgraded connection's body is the connection itself, which its
	// reader needs unwrapped.
	if at, ok := req.Context().Value(readSlotKey{}).(*time.Time); ok && err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		resp.Body = &notingBody{ReadCloser: resp.Body, at: at}
	}
	return resp, err
}

// notingBody notes the time at which its reader first meets the body's end.
type notingBody struct {
	io.ReadCloser
	at *time.Time
}

func (b *notingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if errors.Is(err, io.EOF) && b.at.IsZero() {
		*b.at = time.Now()
	}
	return n, err
}
