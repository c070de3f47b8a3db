package apptest

import (
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// NATS returns the URL of the NATS server, with JetStream, that tests of
// several nodes use: PARLEY_TEST_NATS, by default nats://127.0.0.1:4222.
// The test is skipped when the server does not answer, except under
// CI=true, where it fails.
func NATS(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("PARLEY_TEST_NATS")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("NATS at %s is required under CI: %v", url, err)
		}
		tb.Skipf("no NATS at %s (set PARLEY_TEST_NATS): %v", url, err)
	}
	nc.Close()
	return url
}
