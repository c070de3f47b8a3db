package httpapi

import (
	"net/http"
	"testing"
)

// The throttles count a client by its connection's address, an IPv6 client
// by its /64, and believe no header.
func TestClientAddr_FromTheConnectionOnly(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:5555":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:5555":         "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2::/64",
		"[2001:db8:1:3::1]:443":           "2001:db8:1:3::/64",
		"not an address":                  "not an address",
	} {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{
			"X-Forwarded-For": {"203.0.113.9"}, "Forwarded": {"for=203.0.113.9"}, "X-Real-Ip": {"203.0.113.9"},
		}}
		if got := ClientAddr(r); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}
