package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"slices"
	"time"

	"github.com/parleyhq/parley/client"
)

// handleWebhook receives Parley's webhooks. It checks the signature before
// anything else. The payloads are thin, IDs and no text, so for a new
// message movieclub reads the thread's changes through /api/v1, with the
// member's grant. It answers 2xx at once whatever it did with the event:
// a read that failed (the member's token ran out) is caught up on the
// member's next sign-in, from the changes feed; a 5xx would only have
// Parley retry for a day.
func (a *App) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := client.VerifyWebhook(a.cfg.WebhookSecret, r.Header, body, time.Now()); err != nil {
		log.Printf("webhook refused: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var ev client.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	switch ev.Type {
	case client.WebhookMessageCreated:
		var d client.WebhookMessage
		if json.Unmarshal(ev.Data, &d) == nil {
			if m := a.member(d.UserID); m != nil {
				if err := a.catchUp(r.Context(), m, d.ThreadID); err != nil {
					log.Printf("catch up thread %s: %v", d.ThreadID, err)
				}
			}
		}
	case client.WebhookMessageDeleted:
		// Deleted in Parley: delete movieclub's copy, at once.
		var d client.WebhookMessage
		if json.Unmarshal(ev.Data, &d) == nil {
			a.mem.mu.Lock()
			if m := a.mem.members[d.UserID]; m != nil {
				if t := m.thread(d.ThreadID); t != nil {
					t.drop(d.MessageID)
				}
			}
			a.mem.mu.Unlock()
		}
	case client.WebhookThreadClosed:
		// The thread left the member's grant: forget it.
		var d client.WebhookThread
		if json.Unmarshal(ev.Data, &d) == nil {
			a.mem.mu.Lock()
			if m := a.mem.members[d.UserID]; m != nil {
				m.threads = slices.DeleteFunc(m.threads, func(t *thread) bool { return t.id == d.ThreadID })
			}
			a.mem.mu.Unlock()
		}
	case client.WebhookGrantRevoked:
		// The member disconnected movieclub (or the grant ran out): forget
		// them, their token and everything read through it.
		var d client.WebhookGrant
		if json.Unmarshal(ev.Data, &d) == nil {
			a.mem.forget(d.UserID)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// member returns the member with the Parley user ID, or nil.
func (a *App) member(id string) *member {
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	return a.mem.members[id]
}
