package client_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
)

// VerifyWebhook tells a delivery out of its time (ErrWebhookTimestamp)
// and a secret that is not one (ErrWebhookSecret) from a forged
// signature; the first is an ErrWebhookSignature too, the second not.
func TestVerifyWebhook_SaysWhyItRefuses(t *testing.T) {
	key := []byte("a webhook secret of 24 b")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	body := []byte(`{"type":"message.created","data":{}}`)
	now := time.Unix(1_800_000_000, 0)
	sign := func(at time.Time, key []byte) http.Header {
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte("msg_1." + ts + "."))
		mac.Write(body)
		h := http.Header{}
		h.Set("webhook-id", "msg_1")
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		return h
	}
	if err := client.VerifyWebhook(secret, sign(now, key), body, now); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	for name, c := range map[string]struct {
		secret        string
		header        http.Header
		want          error
		alsoSignature bool
		notTimestamp  bool
	}{
		"Forged":        {secret, sign(now, []byte("another key")), client.ErrWebhookSignature, true, true},
		"Old":           {secret, sign(now.Add(-client.WebhookTolerance-time.Second), key), client.ErrWebhookTimestamp, true, false},
		"Future":        {secret, sign(now.Add(client.WebhookTolerance+time.Second), key), client.ErrWebhookTimestamp, true, false},
		"NoPrefixNoKey": {"whsec_", sign(now, key), client.ErrWebhookSecret, false, true},
		"NotBase64":     {"whsec_not base64!", sign(now, key), client.ErrWebhookSecret, false, true},
		"NoPrefix":      {strings.TrimPrefix(secret, "whsec_"), sign(now, key), client.ErrWebhookSecret, false, true},
	} {
		t.Run(name, func(t *testing.T) {
			err := client.VerifyWebhook(c.secret, c.header, body, now)
			if !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
			if got := errors.Is(err, client.ErrWebhookSignature); got != c.alsoSignature {
				t.Errorf("errors.Is(%v, ErrWebhookSignature) = %v", err, got)
			}
			if c.notTimestamp && errors.Is(err, client.ErrWebhookTimestamp) {
				t.Errorf("%v is an ErrWebhookTimestamp", err)
			}
		})
	}
}

// ParseWebhookSecret gives the signing key of an endpoint's secret, and
// refuses, as ErrWebhookSecret, what is not whsec_ and base64, so that a
// receiver can check its configuration before the first delivery.
func TestParseWebhookSecret(t *testing.T) {
	key := []byte("a webhook secret of 24 b")
	got, err := client.ParseWebhookSecret("whsec_" + base64.StdEncoding.EncodeToString(key))
	if err != nil || string(got) != string(key) {
		t.Errorf("a good secret: %q, %v", got, err)
	}
	for _, secret := range []string{"", "whsec_", "whsec_not base64!", base64.StdEncoding.EncodeToString(key)} {
		if _, err := client.ParseWebhookSecret(secret); !errors.Is(err, client.ErrWebhookSecret) {
			t.Errorf("%q: %v, want ErrWebhookSecret", secret, err)
		}
	}
}
