package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"slices"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	"github.com/zitadel/oidc/v3/pkg/oidc"
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
	case client.WebhookMessageCreated, client.WebhookMessageEdited:
		// A message posted or edited: read the thread's changes, which
		// give it as it now is.
		var d client.WebhookMessage
		if json.Unmarshal(ev.Data, &d) == nil {
			if m := a.member(d.UserID); m != nil {
				if err := a.catchUp(r.Context(), m, d.ThreadID); err != nil {
					log.Printf("catch up thread %s: %v", d.ThreadID, err)
				}
			}
		}
	case client.WebhookMessageDeleted:
		// Deleted in Parley: delete movieclub's copy, at once, but after
		// any catch-up of the member's under way, which may have read the
		// message before it was deleted and would keep it after this.
		var d client.WebhookMessage
		if json.Unmarshal(ev.Data, &d) == nil {
			if m := a.member(d.UserID); m != nil {
				m.sync.Lock()
				a.mem.mu.Lock()
				if t := m.thread(d.ThreadID); t != nil {
					t.drop(d.MessageID)
				}
				a.mem.mu.Unlock()
				m.sync.Unlock()
			}
		}
	case client.WebhookThreadClosed:
		// The thread left the member's grant: forget it. A delivery is
		// retried for a day, so the thread may be open to apps again by
		// the time it comes: movieclub reads on from its cursor once, and
		// forgets the thread only if Parley refuses that. A read it could
		// not make (the member's token ran out) drops the copy all the
		// same, which may hold the words of someone who closed the thread
		// to apps, and the thread is read anew, from its beginning, at the
		// member's next sign-in, which forgets it if it is refused then.
		var d client.WebhookThread
		if json.Unmarshal(ev.Data, &d) == nil {
			if m := a.member(d.UserID); m != nil {
				if err := a.catchUp(r.Context(), m, d.ThreadID); refused(err) {
					a.forgetThread(m, d.ThreadID)
				} else if err != nil {
					a.dropCopy(m, d.ThreadID)
					log.Printf("catch up thread %s: %v", d.ThreadID, err)
				}
			}
		}
	case client.WebhookGrantRevoked:
		// The member disconnected movieclub (or the grant ran out): forget
		// them, their token and everything read through it. A delivery is
		// retried for a day, so it may come after the member connected
		// movieclub again, under a new grant: the event names the grant,
		// which movieclub does not know, so it asks Parley whether the
		// token it holds still works, and keeps a member whose token does.
		// A suspended app forgets its members all the same.
		var d client.WebhookGrant
		if json.Unmarshal(ev.Data, &d) == nil {
			a.mem.mu.Lock()
			token := ""
			if m := a.mem.members[d.UserID]; m != nil {
				token = m.accessToken
			}
			a.mem.mu.Unlock()
			if token != "" && d.Reason != "app_suspended" && a.tokenActive(r.Context(), token) {
				break
			}
			a.mem.forget(d.UserID, token)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// tokenActive asks Parley's introspection endpoint (RFC 7662), as the app,
// whether one of its access tokens still works. Any failure counts as no.
func (a *App) tokenActive(ctx context.Context, token string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	answer, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, a.introspection, token)
	if err != nil {
		log.Printf("introspect: %v", err)
		return false
	}
	return answer.Active
}

// refused reports whether Parley refused a read of a thread: the member's
// grant no longer reaches it (403), or it is gone (404).
func refused(err error) bool {
	status := client.StatusOf(err)
	return status == http.StatusForbidden || status == http.StatusNotFound
}

// forgetThread drops the member's copy of a thread.
func (a *App) forgetThread(m *member, threadID string) {
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	m.threads = slices.DeleteFunc(m.threads, func(t *thread) bool { return t.id == threadID })
}

// dropCopy drops the messages of the member's copy of a thread, after any
// catch-up under way, and keeps the thread, to be read anew from its
// beginning.
func (a *App) dropCopy(m *member, threadID string) {
	m.sync.Lock()
	defer m.sync.Unlock()
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	if t := m.thread(threadID); t != nil {
		t.messages, t.cursor = nil, ""
	}
}

// member returns the member with the Parley user ID, or nil.
func (a *App) member(id string) *member {
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	return a.mem.members[id]
}
