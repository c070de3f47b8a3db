package httpapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Go client's verify helper agrees with the official Standard Webhooks
// library: what the library signs verifies; anything changed, too old or
// signed with another secret does not.
func TestClient_VerifyWebhook(t *testing.T) {
	t.Parallel()
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
	if err := client.VerifyWebhook(secret, sign(now.Add(10*time.Minute)), body, now); err == nil {
		t.Fatal("a delivery ten minutes ahead verifies")
	}
	if err := client.VerifyWebhook("whsec_b3RoZXIgc2VjcmV0", sign(now), body, now); err == nil {
		t.Fatal("another secret verifies")
	}
}
