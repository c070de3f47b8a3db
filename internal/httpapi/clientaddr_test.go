package httpapi

import (
	"net/http"
	"net/netip"
	"testing"
)

// With no trusted proxy the client is the connection's peer, whatever
// headers say: any client can send them.
func TestClientAddr_FromTheConnectionOnly(t *testing.T) {
	t.Parallel()
	for remote, want := range map[string]string{
		"192.0.2.7:5555":                  "192.0.2.7",
		"[::ffff:192.0.2.7]:5555":         "192.0.2.7",
		"[2001:db8:1:2:3:4:5:6]:443":      "2001:db8:1:2:3:4:5:6",
		"[2001:db8:1:2:ffff::1%eth0]:443": "2001:db8:1:2:ffff::1",
		"not an address":                  "not an address",
	} {
		r := &http.Request{RemoteAddr: remote, Header: http.Header{
			"X-Forwarded-For": {"203.0.113.9"}, "Forwarded": {"for=203.0.113.9"}, "X-Real-Ip": {"203.0.113.9"},
		}}
		if got := ClientAddr(r, nil); got != want {
			t.Errorf("ClientAddr(%q) = %q, want %q", remote, got, want)
		}
	}
}

// Behind trusted proxies the client is the rightmost address of
// X-Forwarded-For that no trusted proxy holds; what a client wrote to its
// left is ignored, and a header from a peer that is not a trusted proxy is
// ignored whole.
func TestClientAddr_TrustedProxies(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
	for name, c := range map[string]struct {
		remote string
		xff    []string
		want   string
	}{
		"ThroughTheProxy":              {"127.0.0.1:40000", []string{"198.51.100.4"}, "198.51.100.4"},
		"IPv6Client":                   {"127.0.0.1:40000", []string{"2001:db8::7"}, "2001:db8::7"},
		"SpoofedHopOnTheLeft":          {"127.0.0.1:40000", []string{"203.0.113.9, 198.51.100.4"}, "198.51.100.4"},
		"SpoofedHeaderLineFirst":       {"127.0.0.1:40000", []string{"203.0.113.9", "198.51.100.4"}, "198.51.100.4"},
		"ThroughTwoTrustedProxies":     {"127.0.0.1:40000", []string{"203.0.113.9, 198.51.100.4, 10.1.2.3"}, "198.51.100.4"},
		"NoHeader":                     {"127.0.0.1:40000", nil, "127.0.0.1"},
		"EveryHopTrusted":              {"127.0.0.1:40000", []string{"10.9.9.9, 10.1.2.3"}, "10.9.9.9"},
		"UnreadableHopKeepsTheProxy":   {"127.0.0.1:40000", []string{"not-an-ip"}, "127.0.0.1"},
		"UnreadableHopBehindAnother":   {"127.0.0.1:40000", []string{"not-an-ip, 10.1.2.3"}, "10.1.2.3"},
		"HopWithAPort":                 {"127.0.0.1:40000", []string{"[2001:db8::7]:5555"}, "2001:db8::7"},
		"UntrustedPeerHeaderIgnored":   {"192.0.2.7:5555", []string{"198.51.100.4"}, "192.0.2.7"},
		"UntrustedPeerClaimsTheProxy":  {"192.0.2.7:5555", []string{"127.0.0.1"}, "192.0.2.7"},
		"MappedProxyAddressIsTrusted":  {"[::ffff:127.0.0.1]:40000", []string{"198.51.100.4"}, "198.51.100.4"},
		"ProxyPrefixDoesNotCoverOther": {"11.0.0.1:40000", []string{"198.51.100.4"}, "11.0.0.1"},
	} {
		t.Run(name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: c.remote, Header: http.Header{"X-Forwarded-For": c.xff}}
			if got := ClientAddr(r, proxies); got != c.want {
				t.Errorf("ClientAddr from %s with X-Forwarded-For %q = %q, want %q", c.remote, c.xff, got, c.want)
			}
		})
	}
}
