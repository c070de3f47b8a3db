package service

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// TestWebhookEvents_TrustedBriefly: a node skips looking for endpoints to
// tell only while it read, recently, that none subscribes to the event; an
// endpoint made after that read is active only after the node reads again
// or stops trusting the read.
func TestWebhookEvents_TrustedBriefly(t *testing.T) {
	h := newWebhooks(false)
	readAt := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if !h.mayHave(parley.WebhookMessageCreated, readAt) {
		t.Fatal("skipped before any read")
	}
	h.events, h.readAt = map[string]bool{parley.WebhookGrantRevoked: true}, readAt
	if h.mayHave(parley.WebhookMessageCreated, readAt.Add(time.Second)) {
		t.Fatal("looked for endpoints of an event none subscribes to")
	}
	if !h.mayHave(parley.WebhookGrantRevoked, readAt.Add(time.Second)) {
		t.Fatal("skipped an event endpoints subscribe to")
	}
	if !h.mayHave(parley.WebhookMessageCreated, readAt.Add(webhookEventsFresh)) || !h.mayHave(parley.WebhookMessageCreated, readAt.Add(-time.Second)) {
		t.Fatal("trusted a read that is too old, or from the future")
	}
	// An endpoint made just after the read is active only once the read is
	// no longer trusted.
	if madeJustAfter := readAt.Add(time.Microsecond); madeJustAfter.Add(parley.WebhookActivation).Before(readAt.Add(webhookEventsFresh)) {
		t.Fatal("an endpoint could be active while a read from before it is trusted")
	}
}
