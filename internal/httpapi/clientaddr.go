package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/parleyhq/parley"
)

// WithClientAddr returns next with the address of each request's client,
// as ClientAddr finds it, in the request's context
// (parley.ClientAddrFromContext): the one address the throttles, the rate
// limits and the logs of the API, the pages and the provider go by.
func WithClientAddr(next http.Handler, proxies []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(parley.NewContextWithClientAddr(r.Context(), ClientAddr(r, proxies))))
	})
}

// ClientAddr returns the address of the client a request comes from. It
// is the connection's peer, unless that peer is one of proxies, the
// reverse proxies the operator trusts: then it is the rightmost address of
// X-Forwarded-For that is not a trusted proxy's, the one the nearest
// trusted proxy saw. Addresses to its left were written by whoever sent
// the request and prove nothing. A header from any other peer is ignored,
// since any client can send one; so is a header a trusted proxy forwards
// that cannot be read, which leaves the proxy's own address.
func ClientAddr(r *http.Request, proxies []netip.Prefix) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	trusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(proxies, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	if !trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for _, hop := range slices.Backward(hops) {
		a, ok := parseAddr(strings.TrimSpace(hop))
		if !ok {
			return client.String()
		}
		client = a
		if !trusted(a) {
			break
		}
	}
	return client.String()
}

// parseAddr parses an IP address, with or without a port, as a client
// address: an IPv4 address mapped into IPv6 is the IPv4 one, and a zone
// is dropped.
func parseAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
