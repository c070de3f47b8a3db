package main

import (
	"bytes"
	"context"
	"fmt"
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
// event lost, and so is each of its retries; readable data, and an event
// of a type movieclub does not know, are 204.
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
		id := fmt.Sprintf("msg_%s_%s", tc.typ, tc.data)
		for _, attempt := range []string{"first", "retry"} {
			now := time.Now()
			sig, err := wh.Sign(id, now, body)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("POST", "/webhooks", strings.NewReader(string(body)))
			r.Header.Set("webhook-id", id)
			r.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
			r.Header.Set("webhook-signature", sig)
			rec := httptest.NewRecorder()
			a.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Errorf("%s with data %s, %s attempt: %d, want %d", tc.typ, tc.data, attempt, rec.Code, tc.want)
			}
		}
	}
}

// A delivery comes at least once, and one captured on its way may be sent
// again within its five minutes: movieclub acts on a webhook-id once, and
// answers its repeats 204 without acting, where each catch-up would be a
// read written in the access log of everyone in the thread, bob's too,
// who never connected movieclub.
func TestWebhook_RepeatIsHandledOnce(t *testing.T) {
	c := startClub(t)
	r := c.recommend(t)
	alice, err := r.alice.Me(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before := c.readsIn(t, r.bob)

	wh, err := standardwebhooks.NewWebhook(c.app.cfg.WebhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"message.created","timestamp":"2026-12-01T10:00:00Z","data":{"thread_id":"` + r.threadID +
		`","message_id":"msg","seq":1,"user_id":"` + alice.ID + `","grant_id":"g","at":"2026-12-01T10:00:00Z"}}`)
	now := time.Now()
	sig, err := wh.Sign("msg_once", now, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		req, _ := http.NewRequest("POST", c.url+"/webhooks", bytes.NewReader(body))
		req.Header.Set("webhook-id", "msg_once")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Errorf("delivery %d of msg_once: %d, want 204", i+1, resp.StatusCode)
		}
	}
	if reads := c.readsIn(t, r.bob) - before; reads != 1 {
		t.Errorf("one delivery, sent three times: %d reads by movieclub in bob's access log, want 1", reads)
	}
}

// readsIn counts the entries of movieclub's in the member's access log,
// once their count has settled: the reads a webhook has movieclub make are
// logged as it makes them, and the test may not know when that is.
func (c *club) readsIn(t *testing.T, member *client.Client) int {
	t.Helper()
	last := -1
	for range 20 {
		p, err := member.AccessLog(context.Background(), client.AccessLogQuery{App: c.clientID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Entries) == last {
			break
		}
		last = len(p.Entries)
		time.Sleep(200 * time.Millisecond)
	}
	return last
}
