package apptest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// LogEntries returns the lines the server logged with the message msg,
// each decoded from its JSON; a line that is not JSON fails the test.
func (e *Env) LogEntries(tb testing.TB, msg string) []map[string]any {
	tb.Helper()
	var entries []map[string]any
	for line := range strings.Lines(e.Logs.String()) {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			tb.Fatalf("a log line is not JSON: %s", line)
		}
		if entry["msg"] == msg {
			entries = append(entries, entry)
		}
	}
	return entries
}

// ForwardedFor is a transport that sends every request with the header a
// reverse proxy adds, X-Forwarded-For: addr, as a proxy on this machine
// forwarding a client at addr would.
type ForwardedFor struct {
	Addr string
	// Base carries the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip sends r with the header.
func (f ForwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.Addr)
	base := f.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
