package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/webhook"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestSignature_MatchesTheStandardLibrary: our signature is the one the
// official library makes and accepts.
func TestSignature_MatchesTheStandardLibrary(t *testing.T) {
	text, key := webhook.NewSecret()
	wh, err := standardwebhooks.NewWebhook(text)
	if err != nil {
		t.Fatal(err)
	}
	at, body := time.Now(), []byte(`{"type":"message.created"}`)
	want, err := wh.Sign("msg_1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	if got := webhook.Signature([][]byte{key}, "msg_1", at, body); got != want {
		t.Fatalf("signature %q, the library's %q", got, want)
	}
}

func TestGuard_Allowed(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "2606:4700::1111": true,
		"127.0.0.1": false, "::1": false, "10.0.0.1": false, "172.16.5.4": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "224.0.0.1": false, "ff02::1": false, "0.0.0.0": false, "::": false,
		"100.64.0.1": false, "fd00::1": false, "::ffff:10.0.0.1": false, "::ffff:127.0.0.1": false, "255.255.255.255": false,
		"::7f00:1": false, "2002:a00:1::1": false, "64:ff9b::a00:1": false, "64:ff9b:1::a00:1": false, "fec0::1": false,
		"0.1.2.3": false, "192.0.0.8": false, "198.18.0.1": false, "198.19.255.254": false, "240.0.0.1": false,
		"2001:db8::1": false, "192.0.2.10": false, "198.51.100.10": false, "203.0.113.10": false, "192.88.99.1": false, "2001:20::1": false,
		"8.8.8.8": true, "2001:4860:4860::8888": true,
		"2001:0:4136:e378:8000:63bf:f5ff:fffe": false, "::ffff:0:a00:1": false, "::ffff:0:7f00:1": false,
		"100::1": false, "2001:2::1": false, "2001:470::1": true,
	} {
		if got := (webhook.Guard{}).Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", addr, got, want)
		}
	}
	if !(webhook.Guard{AllowLoopback: true}).Allowed(netip.MustParseAddr("127.0.0.1")) {
		t.Error("loopback refused where allowed")
	}
	if (webhook.Guard{AllowLoopback: true}).Allowed(netip.MustParseAddr("10.0.0.1")) {
		t.Error("allowing loopback lets private addresses in")
	}
}

func job(url string) *webhook.Job {
	return &webhook.Job{ID: "msg_1", URL: url, Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}, Body: []byte(`{}`), At: time.Now()}
}

// TestSender_RefusesAfterResolution: the guard holds at the dial, on the
// address a name resolved to, whatever the URL said; and the refusal, which
// the endpoint's owner reads in its deliveries, says neither what that
// address was nor whether the name resolved at all: a name that resolves
// nowhere reads the same, without the resolver's address or the name.
func TestSender_RefusesAfterResolution(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("a refused destination was reached")
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	sender := webhook.NewSender(webhook.Guard{})
	for _, url := range []string{"http://localhost" + port + "/hooks", "https://nowhere.invalid/hooks"} {
		r := sender.Send(context.Background(), job(url))
		if !errors.Is(r.Err, webhook.ErrNoPublicAddress) || r.OK() {
			t.Fatalf("%s: result %+v, want %v", url, r, webhook.ErrNoPublicAddress)
		}
		if msg := r.Err.Error(); strings.ContainsAny(msg, ":0123456789") || strings.Contains(msg, "nowhere") {
			t.Errorf("%s: the error tells of the server's network: %q", url, msg)
		}
	}
}

// TestSender_ConnectionErrorsSayNoMoreThanWhatHappened: an endpoint that
// refuses the connection, breaks the TLS handshake or answers no HTTP is
// recorded in words of Parley's own, not with the addresses Go's errors
// carry. Go's error is kept beside, for the server's log, without the URL,
// whose query may hold a secret of the endpoint's owner.
func TestSender_ConnectionErrorsSayNoMoreThanWhatHappened(t *testing.T) {
	sender := webhook.NewSender(webhook.Guard{AllowLoopback: true})
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // its certificate is trusted by no one
	defer tlsSrv.Close()
	garbage, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	go func() {
		for {
			c, err := garbage.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("not http\r\n\r\n"))
			c.Close()
		}
	}()
	for url, want := range map[string]error{
		closed.URL: webhook.ErrConnect,
		tlsSrv.URL: webhook.ErrTLS,
		"http://" + garbage.Addr().String() + "/": webhook.ErrNoAnswer,
	} {
		r := sender.Send(context.Background(), job(url+"?token=owners-secret"))
		if r.Err != want || r.OK() {
			t.Errorf("%s: error %v, want %v", url, r.Err, want)
		}
		if r.Cause == nil || strings.Contains(r.Cause.Error(), "owners-secret") {
			t.Errorf("%s: cause %v, want Go's error without the URL", url, r.Cause)
		}
	}
}

// TestSender_NoRedirects: a redirect is the endpoint's answer, not followed.
func TestSender_NoRedirects(t *testing.T) {
	followed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed = true
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	r := webhook.NewSender(webhook.Guard{AllowLoopback: true}).Send(context.Background(), job(srv.URL))
	if followed || r.StatusCode != http.StatusTemporaryRedirect || r.OK() {
		t.Fatalf("result %+v, followed %v", r, followed)
	}
}

// TestSender_ReadsLittleOfAnAnswersHeader: an answer whose header is
// larger than the 64 KiB a delivery reads of it is a failed attempt, read
// no further: hundreds of deliveries in flight, each reading net/http's
// default of 10 MiB, would hold gigabytes of the server's memory.
func TestSender_ReadsLittleOfAnAnswersHeader(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 8 {
			w.Header().Set("X-Pad-"+strconv.Itoa(i), strings.Repeat("x", 1<<20))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	r := webhook.NewSender(webhook.Guard{AllowLoopback: true}).Send(context.Background(), job(srv.URL))
	if r.OK() || r.Err == nil {
		t.Fatalf("an answer with 8 MiB of header was taken: status %d, error %v", r.StatusCode, r.Err)
	}
}

// TestSender_RetryAfter: a 429 or 503's Retry-After is read, in seconds or
// as a date.
func TestSender_RetryAfter(t *testing.T) {
	for header, want := range map[string]time.Duration{"120": 2 * time.Minute, "": 0, "soon": 0} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", header)
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		r := webhook.NewSender(webhook.Guard{AllowLoopback: true}).Send(context.Background(), job(srv.URL))
		srv.Close()
		if r.RetryAfter != want || r.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("Retry-After %q: %+v, want %v", header, r, want)
		}
	}
}

// TestPlan_Schedule: failures are retried on the schedule with up to a
// tenth more, until it is spent; Retry-After can only delay; 410 and days
// of failure on end disable, and failures days apart do not.
func TestPlan_Schedule(t *testing.T) {
	now := time.Now()
	fail := func(attempts, status int, retryAfter time.Duration, failures *parley.WebhookFailures) (*time.Time, string) {
		return webhook.Plan(webhook.Result{Job: &webhook.Job{At: now, Attempts: attempts, Failures: failures}, StatusCode: status,
			RetryAfter: retryAfter}, now)
	}
	for i := range len(webhook.Schedule) - 1 {
		next, disable := fail(i, 500, 0, nil)
		wait := webhook.Schedule[i+1]
		if next == nil || disable != "" || next.Sub(now) < wait || next.Sub(now) > wait+wait/10 {
			t.Fatalf("after attempt %d: %v, %q", i+1, next, disable)
		}
	}
	// No wait runs past a Retry-After's cap: an endpoint with a delivery
	// to retry is never quiet for longer (parley.WebhookFailures).
	for _, wait := range webhook.Schedule {
		if wait+wait/10 > parley.MaxWebhookRetryAfter {
			t.Fatalf("a wait of %v, and up to a tenth more, is longer than a Retry-After may ask", wait)
		}
	}
	if next, disable := fail(len(webhook.Schedule)-1, 500, 0, nil); next != nil || disable != "" {
		t.Fatalf("after the last attempt: %v, %q", next, disable)
	}
	if next, _ := fail(0, 429, time.Hour, nil); next == nil || next.Sub(now) != time.Hour {
		t.Fatalf("Retry-After of an hour: %v", next)
	}
	if next, _ := fail(5, 503, time.Second, nil); next == nil || next.Sub(now) < webhook.Schedule[6] {
		t.Fatalf("a Retry-After shorter than the schedule hastened the retry: %v", next)
	}
	if next, disable := fail(0, 410, 0, nil); next != nil || !strings.Contains(disable, "410") {
		t.Fatalf("410: %v, %q", next, disable)
	}
	since := now.Add(-parley.WebhookDisableAfter)
	if next, disable := fail(0, 500, 0, &parley.WebhookFailures{Since: since, Latest: now.Add(-parley.MaxWebhookRetryAfter)}); next != nil || disable == "" {
		t.Fatalf("failing for days, the last retry a day ago: %v, %q", next, disable)
	}
	if next, disable := fail(0, 500, 0, &parley.WebhookFailures{Since: since, Latest: since}); next == nil || disable != "" {
		t.Fatalf("failing days ago, and now: %v, %q", next, disable)
	}
	ok := webhook.Result{Job: &webhook.Job{}, StatusCode: 204}
	if next, disable := webhook.Plan(ok, now); next != nil || disable != "" {
		t.Fatalf("success: %v, %q", next, disable)
	}
}

// TestSender_RetryAfterBeyondTheCap: a Retry-After longer than the cap
// delays the retry by the cap, however many seconds it names: it is not
// read as a short wait, or none.
func TestSender_RetryAfterBeyondTheCap(t *testing.T) {
	for _, header := range []string{"172800", "10000000000", "9223372036854775807", "99999999999999999999"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", header)
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		r := webhook.NewSender(webhook.Guard{AllowLoopback: true}).Send(context.Background(), job(srv.URL))
		srv.Close()
		now := time.Now()
		if next, _ := webhook.Plan(r, now); next == nil || next.Sub(now) != 24*time.Hour {
			t.Errorf("Retry-After %q: next attempt at %v, want the cap, 24h after %v", header, next, now)
		}
	}
}

// TestSealer_SecretOpensOnlyForItsEndpoint: a signing secret is kept
// encrypted, opens with the server's key for its own endpoint, and does not
// open when its sealed bytes are copied onto another endpoint's row or read
// with another key.
func TestSealer_SecretOpensOnlyForItsEndpoint(t *testing.T) {
	s, err := webhook.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	_, key := webhook.NewSecret()
	sealed := s.Seal("ep_1", key)
	if bytes.Contains(sealed, key) {
		t.Fatal("the sealed secret holds the secret in the clear")
	}
	if got, err := s.Open("ep_1", sealed); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("opened for its endpoint: %x, %v", got, err)
	}
	if _, err := s.Open("ep_2", sealed); err == nil {
		t.Error("a secret copied onto another endpoint opens")
	}
	other, err := webhook.NewSealer(bytes.Repeat([]byte{8}, 32))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open("ep_1", sealed); err == nil {
		t.Error("a secret opens with another key")
	}
}
