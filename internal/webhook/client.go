package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley"
)

// Limits of a delivery: an endpoint gets little time and is read little.
const (
	dialTimeout = 5 * time.Second
	// sendTimeout bounds a whole attempt, from dialling to the end of
	// the response.
	sendTimeout = 15 * time.Second
	// maxResponse is how much of a response body is read, the rest left
	// unread, and how much of its header: an answer with more is a failed
	// attempt (net/http would read 10 MiB, which a node's deliveries in
	// flight, hundreds at once, would hold).
	maxResponse = 64 << 10
)

// Guard decides which destinations webhooks may reach: public addresses
// only, over https. Loopback is let in only when AllowLoopback is set,
// which tests and development use (`parley serve --webhooks-allow-private`);
// then, and only to loopback, plain http is allowed too.
type Guard struct {
	AllowLoopback bool
}

// reserved are address ranges that are no public destination beyond those
// netip.Addr's own predicates name: "this network", carrier-grade NAT,
// IETF protocol assignments, documentation (TEST-NET-1 to 3), the old 6to4
// relay anycast, benchmarking, reserved and broadcast; and the
// IPv6 ranges that carry an IPv4 address or a private network's, through
// which a private one could be reached: IPv4-compatible and IPv4-translated
// (SIIT) addresses, 6to4, Teredo, NAT64 (well-known and local-use); and
// IPv6's discard-only, benchmarking, ORCHIDv2, documentation and
// site-local ranges.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.88.99.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),
	netip.MustParsePrefix("::ffff:0:0:0/96"),
	netip.MustParsePrefix("2002::/16"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:2::/48"),
	netip.MustParsePrefix("2001:20::/28"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fec0::/10"),
}

// Allowed reports whether a webhook may be sent to ip.
func (g Guard) Allowed(ip netip.Addr) bool {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsMulticast(), ip.IsInterfaceLocalMulticast(),
		ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(), ip.IsPrivate():
		return false
	case ip.IsLoopback():
		return g.AllowLoopback
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// CheckURL checks an endpoint's URL when it is registered: https, or http
// to loopback where loopback is allowed; a literal address must be one
// Allowed, and an IPv4 address be written as four decimal numbers. A host
// name is checked again, after DNS resolution, at every delivery.
func (g Guard) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return parley.Errorf(parley.EINVALID, "URL must be a URL as RFC 3986 spells it")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	ip, literal := netip.ParseAddr(host)
	loopback := host == "localhost" || strings.HasSuffix(host, ".localhost") || literal == nil && ip.IsLoopback()
	switch {
	case host == "":
		return parley.Errorf(parley.EINVALID, "URL must name a host")
	case literal != nil && endsInNumber(host):
		return parley.Errorf(parley.EINVALID, "URL must name a host, or an IPv4 address as four decimal numbers")
	case loopback && !g.AllowLoopback:
		return parley.Errorf(parley.EINVALID, "URL must not point at this server's own machine (loopback)")
	case literal == nil && !g.Allowed(ip):
		return parley.Errorf(parley.EINVALID, "URL must not point at a private, loopback, link-local, multicast or reserved address")
	case u.Scheme == "http" && !loopback:
		return parley.Errorf(parley.EINVALID, "URL must be https")
	case u.Scheme != "https" && u.Scheme != "http":
		return parley.Errorf(parley.EINVALID, "URL must be https")
	}
	return nil
}

// endsInNumber reports whether a host's last label is a number, decimal or
// 0x hexadecimal, as browsers and resolvers read an IPv4 address written in
// one of its other forms (127.1, 2130706433, 0177.0.0.1, 0x7f.0.0.1): a
// host name ends in letters.
func endsInNumber(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	digits := "0123456789"
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = hex, "0123456789abcdef"
	}
	return strings.Trim(last, digits) == ""
}

// errRefused is a dial to a destination the guard refuses.
var errRefused = errors.New("webhook: destination refused: not a public address")

// What an attempt that got no answer records, for the endpoint's owner to
// read: one of these, never Go's own error, whose text would say more than
// any member with an app may learn of the server's network (the address a
// name resolved to, the resolver's address, the server's own). A name that
// does not resolve reads as one that resolves to an address refused, so
// that names inside the network cannot be told from names nowhere.
var (
	ErrNoPublicAddress = errors.New("the endpoint's host has no public address to deliver to")
	ErrTimeout         = errors.New("the endpoint did not answer in time")
	ErrTLS             = errors.New("the TLS handshake with the endpoint failed")
	ErrConnect         = errors.New("could not connect to the endpoint")
	ErrNoAnswer        = errors.New("the endpoint closed the connection without a valid HTTP answer")
	ErrReading         = errors.New("reading the endpoint's answer failed")
	// ErrUnsigned is a delivery not sent: the server could not read the
	// endpoint's signing secret to sign it with.
	ErrUnsigned = errors.New("not sent: the server could not read the endpoint's signing secret; rotate the secret, or register the endpoint again")
)

// describe returns which of the errors above err, of a failed attempt, is.
func describe(err error) error {
	var dns *net.DNSError
	var netErr net.Error
	var op *net.OpError
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.Is(err, errRefused) || errors.As(err, &dns):
		return ErrNoPublicAddress
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return ErrTimeout
	case errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert):
		return ErrTLS
	case errors.As(err, &op) && op.Op == "dial":
		return ErrConnect
	}
	return ErrNoAnswer
}

// withoutURL is err without the request's URL, which a *url.Error names:
// its operation and the error it wraps.
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// Sender posts deliveries over HTTP, to destinations its guard allows
// after DNS resolution, without following redirects, with short timeouts
// and reading at most 64 KiB of each response.
type Sender struct {
	http *http.Client
}

// NewSender returns a sender held to g.
func NewSender(g Guard) *Sender {
	dialer := &net.Dialer{
		Timeout: dialTimeout,
		// Control runs on the address DNS resolved to, just before each
		// connection: no name can lead around the guard.
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return errRefused
			}
			ip, err := netip.ParseAddr(host)
			if err != nil || !g.Allowed(ip) {
				return errRefused
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us, around the guard
		DialContext:            dialer.DialContext,
		TLSHandshakeTimeout:    dialTimeout,
		ResponseHeaderTimeout:  sendTimeout,
		MaxResponseHeaderBytes: maxResponse,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		ForceAttemptHTTP2:      true,
	}
	return &Sender{http: &http.Client{
		Transport:     tr,
		Timeout:       sendTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Job is a delivery to attempt.
type Job struct {
	ID         string
	EndpointID string
	// Owner is whom the endpoint's deliveries count against
	// (parley.DueWebhook.Owner).
	Owner string
	URL   string
	// Keys sign the delivery: the endpoint's secret, and the one a
	// rotation replaced while it still signs.
	Keys [][]byte
	Body []byte
	// At is the attempt's time, its webhook-timestamp.
	At time.Time
	// Attempts were made before this one.
	Attempts int
	// Failures is the endpoint's run of failures when the job was taken.
	Failures *parley.WebhookFailures
}

// Result is what became of an attempt.
type Result struct {
	Job        *Job
	StatusCode int
	// RetryAfter is what a 429 or 503 asked to wait; 0 for none.
	RetryAfter time.Duration
	Latency    time.Duration
	// Err is what the endpoint's owner reads of a failed attempt: one of
	// the errors above, or nil.
	Err error
	// Cause is the error behind Err, for the server's log alone: it may
	// name addresses of the server's network, which the endpoint's owner
	// may not learn, so it is never recorded for them. It carries no URL,
	// whose query may hold a secret of the owner's.
	Cause error
}

// OK reports whether the endpoint took the delivery: any 2xx.
func (r Result) OK() bool { return r.Err == nil && r.StatusCode >= 200 && r.StatusCode < 300 }

// Send posts a job, signed, and returns what happened.
func (s *Sender) Send(ctx context.Context, j *Job) Result {
	r := Result{Job: j}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.URL, bytes.NewReader(j.Body))
	if err != nil {
		r.Err, r.Cause = ErrConnect, withoutURL(err) // a URL checked when it was registered
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Webhooks/1")
	req.Header.Set("webhook-id", j.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(j.At.Unix(), 10))
	req.Header.Set("webhook-signature", Signature(j.Keys, j.ID, j.At, j.Body))
	start := time.Now()
	resp, err := s.http.Do(req)
	if err != nil {
		r.Latency, r.Err, r.Cause = time.Since(start), describe(err), withoutURL(err)
		return r
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	r.Latency, r.StatusCode = time.Since(start), resp.StatusCode
	if err != nil && r.OK() {
		r.Err, r.Cause = ErrReading, withoutURL(err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		r.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), j.At)
	}
	return r
}

// retryAfter reads a Retry-After header, in seconds or as an HTTP date
// (RFC 9110 section 10.2.3), at most parley.MaxWebhookRetryAfter; 0 when
// it says nothing usable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	// Seconds beyond int64 are read as its largest, and all are capped
	// before they are multiplied, which would overflow.
	if secs, err := strconv.ParseInt(v, 10, 64); (err == nil || errors.Is(err, strconv.ErrRange)) && secs > 0 {
		return time.Duration(min(secs, int64(parley.MaxWebhookRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
