package httpapi

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
)

// A request served again and again reads its whole body each time, however
// much of it each serving read.
func TestReplayableBody_WholeAtEachServing(t *testing.T) {
	const sent = "0123456789abcdefghij"
	body := &replayableBody{ReadCloser: io.NopCloser(strings.NewReader(sent))}
	var r io.Reader = body
	for _, n := range []int{4, 12, 0, len(sent)} {
		got := make([]byte, n)
		if _, err := io.ReadFull(r, got); err != nil || string(got) != sent[:n] {
			t.Fatalf("a serving reading %d bytes: %q, %v; want %q", n, got, err, sent[:n])
		}
		r = body.replay()
	}
	if all, err := io.ReadAll(r); err != nil || string(all) != sent {
		t.Fatalf("the last serving: %q, %v; want the whole body", all, err)
	}
}

// A request of a token from the node's cache is served again when the store
// finds the access changed, or when it fails before the store confirmed the
// token: the cached token may have been refused what the token now allows.
// Served with the token looked up afresh, it is served again only when the
// store finds the access changed once more.
func TestWantsAgain(t *testing.T) {
	refused := parley.Errorf(parley.ESCOPE, "a scope the token lacks")
	confirmed := &parley.CallerCheck{}
	confirmed.Confirm()
	for _, c := range []struct {
		name  string
		again *servedAgain
		err   error
		want  bool
	}{
		{"cached, access changed", &servedAgain{check: &parley.CallerCheck{}}, parley.ErrAccessChanged, true},
		{"cached, refused before the store", &servedAgain{check: &parley.CallerCheck{}}, refused, true},
		{"cached, refused after the store confirmed it", &servedAgain{check: confirmed}, refused, false},
		{"afresh, access changed", &servedAgain{check: &parley.CallerCheck{}, afresh: true}, parley.ErrAccessChanged, true},
		{"afresh, refused before the store", &servedAgain{check: &parley.CallerCheck{}, afresh: true}, refused, false},
		{"afresh, refused after the store confirmed it", &servedAgain{check: confirmed, afresh: true}, refused, false},
		{"not an app's cached token", nil, parley.ErrAccessChanged, false},
	} {
		r := httptest.NewRequest("POST", "/api/v1/threads/t/messages", nil)
		if c.again != nil {
			r = r.WithContext(context.WithValue(r.Context(), servedAgainKey{}, c.again))
		}
		if got := wantsAgain(r, c.err); got != c.want || c.again != nil && c.again.wanted != c.want {
			t.Errorf("%s: served again %v, want %v", c.name, got, c.want)
		}
	}
}
