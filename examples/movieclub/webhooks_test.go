package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// A signed delivery whose data movieclub cannot read is 400, a failure
// Parley shows among the endpoint's deliveries, not a 204 that hides the
// event lost; readable data, and an event of a type movieclub does not
// know, are 204.
func TestWebhook_UnreadableDataIsRefused(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Config{ParleyURL: "http://127.0.0.1:1", ClientID: "pc_x", ClientSecret: "s", PublicURL: "http://127.0.0.1:1", WebhookSecret: secret})
	for _, tc := range []struct {
		typ, data string
		want      int
	}{
		{client.WebhookMessageCreated, `{"thread_id":1}`, http.StatusBadRequest},
		{client.WebhookMessageEdited, `"thread"`, http.StatusBadRequest},
		{client.WebhookMessageDeleted, `[]`, http.StatusBadRequest},
		{client.WebhookThreadClosed, `{"user_id":false}`, http.StatusBadRequest},
		{client.WebhookGrantRevoked, `{"reason":7}`, http.StatusBadRequest},
		{client.WebhookMessageCreated, `{"user_id":"nobody","thread_id":"t"}`, http.StatusNoContent},
		{client.WebhookGrantRevoked, `{"user_id":"nobody","grant_id":"g"}`, http.StatusNoContent},
		{"something.new", `{"anything":[1]}`, http.StatusNoContent},
	} {
		body := []byte(`{"type":"` + tc.typ + `","timestamp":"2026-12-01T10:00:00Z","data":` + tc.data + `}`)
		now := time.Now()
		sig, err := wh.Sign("msg_1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("POST", "/webhooks", strings.NewReader(string(body)))
		r.Header.Set("webhook-id", "msg_1")
		r.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		r.Header.Set("webhook-signature", sig)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("%s with data %s: %d, want %d", tc.typ, tc.data, rec.Code, tc.want)
		}
	}
}
