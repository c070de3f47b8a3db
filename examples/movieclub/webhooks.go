package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/parleyhq/parley/client"
	zclient "github.com/zitadel/oidc/v3/pkg/client"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// handleWebhook receives Parley's webhooks. It checks the signature before
// anything else, and acts on a delivery once, whatever its repeats. The
// payloads are thin, IDs and no text, so for a new message movieclub reads
// the thread's changes through /api/v1, with the member's grant. It answers 2xx at once whatever it did with the event:
// a read that failed (the member's token ran out) is caught up on the
// member's next sign-in, from the changes feed; a 5xx would only have
// Parley retry for a day. A delivery it cannot read, an event or its data,
// is 400: a failure, which Parley shows among the endpoint's deliveries,
// where an answer of 2xx would hide the event lost. An event of a type it
// does not know is 2xx: Parley may send new ones.
func (a *App) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if err := client.VerifyWebhook(a.cfg.WebhookSecret, r.Header, body, time.Now()); errors.Is(err, client.ErrWebhookSecret) {
		// Our configuration, not the delivery: Parley retries a 500.
		log.Printf("webhook not checked: %v", err)
		http.Error(w, "webhook secret misconfigured", http.StatusInternalServerError)
		return
	} else if err != nil {
		log.Printf("webhook refused: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	// A delivery comes at least once, and one captured on its way could be
	// sent again while its signature is in time: each catch-up is a read
	// in the access log of everyone in the thread, so a repeat is answered
	// without acting.
	id := r.Header.Get("webhook-id")
	if !a.seen.add(id, time.Now()) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var ev client.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		a.seen.remove(id)
		http.Error(w, "not an event", http.StatusBadRequest)
		return
	}
	// handle reads the event's data and acts on it; it fails only when it
	// cannot read the data.
	var handle func(ctx context.Context, data []byte) error
	switch ev.Type {
	case client.WebhookMessageCreated, client.WebhookMessageEdited:
		edited := ev.Type == client.WebhookMessageEdited
		handle = func(ctx context.Context, data []byte) error { return a.messagePosted(ctx, data, edited) }
	case client.WebhookMessageDeleted:
		handle = a.messageDeleted
	case client.WebhookThreadClosed:
		handle = a.threadClosed
	case client.WebhookGrantRevoked:
		handle = a.grantRevoked
	}
	if handle != nil {
		if err := handle(r.Context(), ev.Data); err != nil {
			a.seen.remove(id) // its retries are refused too
			log.Printf("webhook %s: %v", ev.Type, err)
			http.Error(w, "unreadable data", http.StatusBadRequest)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// messagePosted handles a message posted or edited: it reads the thread's
// changes, which give the message as it now is. A read of an edit it could
// not make (the member's token ran out) drops the copy of the thread's
// messages, as threadClosed does: the edit may have taken words back,
// which the copy would go on showing. The thread is read anew, from its
// beginning, at the member's next sign-in. It fails only on data it cannot
// read.
func (a *App) messagePosted(ctx context.Context, data []byte, edited bool) error {
	var d client.WebhookMessage
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	if m := a.member(d.UserID); m != nil {
		if err := a.catchUp(ctx, m, d.ThreadID); err != nil {
			if edited {
				a.dropCopy(m, d.ThreadID)
			}
			log.Printf("catch up thread %s: %v", d.ThreadID, err)
		}
	}
	return nil
}

// messageDeleted handles a message deleted in Parley: it deletes
// movieclub's copy, at once, but after any catch-up of the member's under
// way, which may have read the message before it was deleted and would
// keep it after this.
func (a *App) messageDeleted(_ context.Context, data []byte) error {
	var d client.WebhookMessage
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	m := a.member(d.UserID)
	if m == nil {
		return nil
	}
	m.sync.Lock()
	defer m.sync.Unlock()
	a.mem.mu.Lock()
	defer a.mem.mu.Unlock()
	if t := m.thread(d.ThreadID); t != nil {
		t.drop(d.MessageID)
	}
	return nil
}

// threadClosed handles a thread that left the member's grant: it forgets
// it. A delivery is retried for a day, so the thread may be open to apps
// again by the time it comes: movieclub reads on from its cursor once, and
// forgets the thread only if Parley refuses that. A read it could not make
// (the member's token ran out) drops the copy all the same, which may hold
// the words of someone who closed the thread to apps, and the thread is
// read anew, from its beginning, at the member's next sign-in, which
// forgets it if it is refused then.
func (a *App) threadClosed(ctx context.Context, data []byte) error {
	var d client.WebhookThread
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	if m := a.member(d.UserID); m != nil {
		if err := a.catchUp(ctx, m, d.ThreadID); refused(err) {
			a.forgetThread(m, d.ThreadID)
		} else if err != nil {
			a.dropCopy(m, d.ThreadID)
			log.Printf("catch up thread %s: %v", d.ThreadID, err)
		}
	}
	return nil
}

// grantRevoked handles a member who disconnected movieclub (or whose grant
// ran out): it forgets them, their token and everything read through it. A
// delivery is retried for a day, so it may come after the member connected
// movieclub again, under a new grant: the event names the grant, which
// movieclub does not know, so it asks Parley whether the token it holds
// still works, and keeps a member whose token does. A suspended app forgets
// its members all the same.
func (a *App) grantRevoked(ctx context.Context, data []byte) error {
	var d client.WebhookGrant
	if err := json.Unmarshal(data, &d); err != nil {
		return err
	}
	a.mem.mu.Lock()
	token := ""
	if m := a.mem.members[d.UserID]; m != nil {
		token = m.accessToken
	}
	a.mem.mu.Unlock()
	if token != "" && d.Reason != client.GrantEndSuspended && a.tokenActive(ctx, token) {
		return nil
	}
	a.mem.forget(d.UserID, token)
	return nil
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

// revoke revokes one of the app's access tokens at Parley's revocation
// endpoint (RFC 7009), as the app, with the credentials and HTTP client it
// introspects with.
func (a *App) revoke(ctx context.Context, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	auth, err := a.introspection.AuthFn()
	if err != nil {
		return err
	}
	return zclient.CallRevokeEndpoint(ctx, zclient.RevokeRequest{Token: token, TokenTypeHint: "access_token"}, auth,
		revocation{a.introspection, a.cfg.ParleyURL + "/oauth2/revoke"})
}

// revocation is Parley's revocation endpoint, for zitadel's client: the
// resource server's HTTP client, and the endpoint's URL.
type revocation struct {
	rs.ResourceServer
	url string
}

// GetRevokeEndpoint returns the endpoint's URL.
func (r revocation) GetRevokeEndpoint() string { return r.url }

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

// webhookIDsKept is how long movieclub remembers a delivery's webhook-id,
// to answer its repeats without acting: longer than a captured delivery's
// signature is in time (client.WebhookTolerance either side of its
// webhook-timestamp), and than Parley takes to make its first three
// retries (5 seconds, 5 minutes and 30 minutes after the attempt before),
// which come when an answer of 2xx was lost on its way.
const webhookIDsKept = time.Hour

// maxWebhookIDs bounds the webhook-ids remembered: beyond it the oldest is
// forgotten early, and a repeat of it acted on again, a read too many.
const maxWebhookIDs = 10_000

// seenIDs are the webhook-ids of the deliveries movieclub acted on, for
// webhookIDsKept and maxWebhookIDs at most.
type seenIDs struct {
	mu sync.Mutex
	// at is when each ID was added.
	at map[string]time.Time
	// order is each addition, oldest first; an addition whose ID was
	// removed since (and maybe added again) no longer has its time in at.
	order []seenID
}

// seenID is an addition to seenIDs.
type seenID struct {
	id string
	at time.Time
}

// add remembers a webhook-id, and reports whether it is new.
func (s *seenIDs) add(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.order) > 0 && (len(s.order) >= maxWebhookIDs || now.Sub(s.order[0].at) >= webhookIDsKept) {
		if oldest := s.order[0]; s.at[oldest.id].Equal(oldest.at) {
			delete(s.at, oldest.id)
		}
		s.order = s.order[1:]
	}
	if _, ok := s.at[id]; ok {
		return false
	}
	s.at[id] = now
	s.order = append(s.order, seenID{id, now})
	return true
}

// remove forgets a webhook-id, of a delivery that failed: its repeats are
// acted on.
func (s *seenIDs) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.at, id)
}
