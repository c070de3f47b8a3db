package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// fromThisMachine serves loopback peers that relay no one, over IPv4 and
// IPv6, and nobody else: not a peer on another machine, which no test may
// make over the network (only loopback addresses are the tests' targets).
func TestFromThisMachine(t *testing.T) {
	served := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	other := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	h := fromThisMachine(served, other)
	for _, tc := range []struct {
		peer, relayed string
		want          int
	}{
		{"127.0.0.1:40000", "", http.StatusOK},
		{"[::1]:40000", "", http.StatusOK},
		{"[::ffff:127.0.0.1]:40000", "", http.StatusOK},
		{"127.0.0.1:40000", "203.0.113.9", http.StatusNotFound},
		{"203.0.113.9:40000", "", http.StatusNotFound},
		{"[2001:db8::1]:40000", "", http.StatusNotFound},
		{"not an address", "", http.StatusNotFound},
	} {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.RemoteAddr = tc.peer
		if tc.relayed != "" {
			r.Header.Set("X-Forwarded-For", tc.relayed)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("from %s relaying %q: %d, want %d", tc.peer, tc.relayed, w.Code, tc.want)
		}
	}
}
