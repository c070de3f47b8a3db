package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestVerifyWebhook: what the official library signs verifies with the
// client's VerifyWebhook; anything changed, or too old, does not. (The test
// lives in the main module, so that the client's module needs nothing more
// than it uses.)
func TestVerifyWebhook(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"type":"message.created","data":{}}`)
	sign := func(at time.Time) http.Header {
		sig, err := wh.Sign("msg_1", at, body)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("webhook-signature", "v1,bm90IGl0 "+sig)
		return h
	}
	if err := client.VerifyWebhook(secret, sign(now), body, now); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	if err := client.VerifyWebhook(secret, sign(now), append(body, ' '), now); err == nil {
		t.Fatal("a changed body verifies")
	}
	if err := client.VerifyWebhook(secret, sign(now.Add(-10*time.Minute)), body, now); err == nil {
		t.Fatal("a delivery ten minutes old verifies")
	}
	if err := client.VerifyWebhook("whsec_b3RoZXIgc2VjcmV0", sign(now), body, now); err == nil {
		t.Fatal("another secret verifies")
	}
}
