package service

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/webhook"
)

// Webhooks: an app's owner registers endpoints, and events about what the
// app's grants reach go to them through an outbox. Each event is enqueued
// in the write of the change that causes it, for every endpoint subscribed
// to it whose app holds a grant the event concerns: one delivery per
// endpoint and grant, whose payload names the grant's member, so that the
// app knows whose token reads on. Whether an event about a thread reaches a
// grant is decided as for realtime streams (eventScope, reaches). The
// delivery worker (webhook.Worker) records attempts and takes deliveries
// through ExchangeWebhooks, which decides again, at each attempt, whether a
// delivery about a message still reaches its grant, and logs it, before it
// is first sent, for everyone in its thread when it was enqueued.

// webhookPrefix begins a delivery's ID, its webhook-id header.
const webhookPrefix = "msg_"

// webhookKeyName names the server key that seals signing secrets.
const webhookKeyName = "webhook-secrets"

// webhookLease is how long a taken delivery is the taker's: after it, an
// attempt that recorded nothing is made again. It is well above a send's
// timeout.
const webhookLease = time.Minute

// leaseUntil is the lease of deliveries taken at now: a job made of one
// carries now as its At, and its result the lease, which tells the store
// whether the delivery was redelivered while the attempt was under way.
func leaseUntil(now time.Time) time.Time { return now.Add(webhookLease) }

// webhookEventsFresh is how long this node trusts what it last read of
// which events endpoints subscribe to. The server reads it every second;
// parley.WebhookActivation, the time from an endpoint's making to its first
// event, exceeds this by the margin left for the making's commit and for
// the clocks of different servers.
const webhookEventsFresh = 2 * time.Second

// webhooks is the service's webhook state.
type webhooks struct {
	guard webhook.Guard
	// waiting is ready when this node enqueued deliveries.
	waiting chan struct{}

	mu     sync.Mutex
	sealer *webhook.Sealer

	// events are the events endpoints subscribed to when read at readAt,
	// by this node's clock; nil before the first read.
	eventsMu sync.RWMutex
	events   map[string]bool
	readAt   time.Time
}

// mayHave reports whether an event may have endpoints to tell at now:
// false only when this node read, recently enough, that no endpoint
// subscribes to it. An endpoint made since that read counts only from
// parley.WebhookActivation after it was made, by when this node reads
// again, or no longer trusts this read.
func (h *webhooks) mayHave(event string, now time.Time) bool {
	h.eventsMu.RLock()
	defer h.eventsMu.RUnlock()
	if h.events == nil || now.Before(h.readAt) || now.Sub(h.readAt) >= webhookEventsFresh {
		return true
	}
	return h.events[event]
}

// RefreshWebhookEvents reads which events endpoints subscribe to. The
// server calls it every second, so that a change spares even the one
// index lookup that finds who to tell when no endpoint subscribes to its
// event: for most installs, every send.
func (s *Service) RefreshWebhookEvents(ctx context.Context) error {
	at := s.Now()
	var events []string
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		events, err = tx.FindWebhookEvents(ctx)
		return err
	})
	if err != nil {
		return err
	}
	set := make(map[string]bool, len(events))
	for _, ev := range events {
		set[ev] = true
	}
	h := s.hooks
	h.eventsMu.Lock()
	defer h.eventsMu.Unlock()
	h.events, h.readAt = set, at
	return nil
}

func newWebhooks(allowLoopback bool) *webhooks {
	return &webhooks{guard: webhook.Guard{AllowLoopback: allowLoopback}, waiting: make(chan struct{}, 1)}
}

// Guard is the service's rule on webhook destinations, which the delivery
// worker's sender must follow too.
func (s *Service) Guard() webhook.Guard { return s.hooks.guard }

// WebhooksWaiting is ready when this node enqueued deliveries.
func (s *Service) WebhooksWaiting() <-chan struct{} { return s.hooks.waiting }

// WakeWebhooks has this node's worker look for due deliveries now rather
// than at its next poll: the service calls it after a write that enqueued,
// and tests after they moved the clock.
func (s *Service) WakeWebhooks() {
	select {
	case s.hooks.waiting <- struct{}{}:
	default:
	}
}

// sealer returns the sealer of signing secrets, under the server's key.
func (s *Service) sealer(ctx context.Context) (*webhook.Sealer, error) {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sealer != nil {
		return h.sealer, nil
	}
	key, err := s.ServerKey(ctx, webhookKeyName)
	if err != nil {
		return nil, err
	}
	if h.sealer, err = webhook.NewSealer(key); err != nil {
		return nil, err
	}
	return h.sealer, nil
}

// CreatedWebhookEndpoint is an endpoint with its signing secret, shown
// only when it is made and when it is rotated.
type CreatedWebhookEndpoint struct {
	*parley.WebhookEndpoint
	Secret string `json:"secret"`
}

// ownApp returns an app the signed-in member owns; an app of another, or
// one deleted, is not found.
func ownApp(ctx context.Context, tx parley.Tx, c *parley.Caller, clientID string) (*parley.App, error) {
	app, err := findLiveApp(ctx, tx, clientID)
	if err == nil && app.OwnerID != c.User.ID {
		return nil, parley.Errorf(parley.ENOTFOUND, "app not found")
	}
	return app, err
}

// ownEndpoint returns an endpoint of an app the signed-in member owns.
func ownEndpoint(ctx context.Context, tx parley.Tx, c *parley.Caller, clientID, id string) (*parley.WebhookEndpoint, error) {
	if _, err := ownApp(ctx, tx, c, clientID); err != nil {
		return nil, err
	}
	e, err := tx.FindWebhookEndpoint(ctx, id)
	if isNotFound(err) || err == nil && e.ClientID != clientID {
		return nil, parley.Errorf(parley.ENOTFOUND, "webhook endpoint not found")
	}
	return e, err
}

// CreateWebhookEndpoint registers an endpoint for an app the signed-in
// member owns, and returns it with its signing secret. It receives events
// from its ActiveFrom on, parley.WebhookActivation after it is made, when
// every server knows of it.
//
// Every server stops trusting what it read of the endpoints
// (webhookEventsFresh) well before ActiveFrom, but only if the endpoint
// was stored soon after it was made: a server that read "no endpoint" just
// before the commit skips the events it has no endpoint for until its next
// read. So the endpoint is made, and its time taken, once the write holds
// the app's row, which it may have waited for as long as the app's other
// writes held it; and should the commit still come later than the margin
// allows, its ActiveFrom is moved on to parley.WebhookActivation after the
// commit before it is answered. An endpoint never misses an event from
// the ActiveFrom it was answered with.
func (s *Service) CreateWebhookEndpoint(ctx context.Context, clientID, url string, events []string) (*CreatedWebhookEndpoint, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	e := &parley.WebhookEndpoint{ID: parley.NewID(), ClientID: clientID, URL: url, Events: events}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if err := s.hooks.guard.CheckURL(url); err != nil {
		return nil, err
	}
	sealer, err := s.sealer(ctx)
	if err != nil {
		return nil, err
	}
	text, key := webhook.NewSecret()
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		if _, err := ownApp(ctx, tx, c, clientID); err != nil {
			return err
		}
		existing, err := tx.FindWebhookEndpoints(ctx, clientID)
		if err != nil {
			return err
		}
		if len(existing) >= parley.MaxWebhookEndpoints {
			return parley.Errorf(parley.ECONFLICT, "an app may have at most %d webhook endpoints", parley.MaxWebhookEndpoints)
		}
		e.Created = s.Now()
		e.ActiveFrom = e.Created.Add(parley.WebhookActivation)
		return tx.CreateWebhookEndpoint(ctx, e, sealer.Seal(e.ID, key))
	})
	if err != nil {
		return nil, err
	}
	if now := s.Now(); now.Add(webhookEventsFresh).After(e.ActiveFrom) {
		later := now.Add(parley.WebhookActivation)
		// Made, the endpoint is answered with its secret: the client's
		// going away does not leave it made with no one told the secret.
		ctx := context.WithoutCancel(ctx)
		if err := s.store.Write(ctx, func(tx parley.Tx) error {
			return tx.SetWebhookActiveFrom(ctx, e.ID, later)
		}); err != nil {
			return nil, err
		}
		e.ActiveFrom = later
	}
	return &CreatedWebhookEndpoint{WebhookEndpoint: e, Secret: text}, nil
}

// WebhookEndpoints lists the endpoints of an app the signed-in member owns.
func (s *Service) WebhookEndpoints(ctx context.Context, clientID string) (list []*parley.WebhookEndpoint, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		if _, err := ownApp(ctx, tx, c, clientID); err != nil {
			return err
		}
		list, err = tx.FindWebhookEndpoints(ctx, clientID)
		return err
	})
	return list, err
}

// WebhookEndpoint returns one endpoint of an app the signed-in member owns.
func (s *Service) WebhookEndpoint(ctx context.Context, clientID, id string) (e *parley.WebhookEndpoint, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		e, err = ownEndpoint(ctx, tx, c, clientID, id)
		return err
	})
	return e, err
}

// DeleteWebhookEndpoint removes an endpoint, with the deliveries it still
// had, of an app the signed-in member owns.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, clientID, id string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	// Its deliveries go first, a batch a write, so that an endpoint with a
	// long history holds up no other write for long (on SQLite every
	// member's send waits for the write under way); the endpoint then goes
	// in one write with those that came meanwhile.
	_, err = s.deleteInBatches(ctx, func(tx parley.Tx) (int, error) {
		if _, err := ownEndpoint(ctx, tx, c, clientID, id); err != nil {
			return 0, err
		}
		return tx.DeleteWebhookDeliveries(ctx, id, webhookHistoryBatch)
	})
	if err != nil {
		return err
	}
	return s.store.Write(ctx, func(tx parley.Tx) error {
		if _, err := ownEndpoint(ctx, tx, c, clientID, id); err != nil {
			return err
		}
		return tx.DeleteWebhookEndpoint(ctx, id)
	})
}

// SecretShown is a secret as the page that asks to rotate it showed it:
// OldUntil is when the secret an earlier rotation replaced stops, nil
// when there was none.
type SecretShown struct{ OldUntil *time.Time }

// RotateWebhookSecret gives an endpoint a new signing secret, which it
// returns. For parley.WebhookSecretRotation the secret it replaces signs
// beside it, so that the receiver can change over in its own time; a
// rotation during that time ends the older secret's.
//
// A page's form names the secret it rotates, as it showed it: shown, the
// expiry of the older secret then (nil for none); a rotation of a secret
// rotated since, by a form posted twice or two posts at once, is refused,
// ECONFLICT, and changes nothing, as rotated again it would end at once
// the secret the receiver still checks with. A nil shown rotates whatever
// the secret's state (the API's call, each one meant).
func (s *Service) RotateWebhookSecret(ctx context.Context, clientID, id string, shown *SecretShown) (*CreatedWebhookEndpoint, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	sealer, err := s.sealer(ctx)
	if err != nil {
		return nil, err
	}
	text, key := webhook.NewSecret()
	var e *parley.WebhookEndpoint
	err = s.store.Write(ctx, func(tx parley.Tx) (err error) {
		was, err := ownEndpoint(ctx, tx, c, clientID, id)
		if err != nil {
			return err
		}
		if shown != nil && !sameTime(was.OldSecretUntil, shown.OldUntil) {
			return parley.Errorf(parley.ECONFLICT, "this page is out of date: the signing secret was rotated since it was shown, "+
				"and nothing changed now. The new secret was shown once, in answer to that rotation; rotate again if you do not have it")
		}
		if err := tx.RotateWebhookSecret(ctx, id, sealer.Seal(id, key), s.Now().Add(parley.WebhookSecretRotation)); err != nil {
			return err
		}
		e, err = tx.FindWebhookEndpoint(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &CreatedWebhookEndpoint{WebhookEndpoint: e, Secret: text}, nil
}

// WebhookDeliveryPage is a page of an endpoint's deliveries, newest first.
type WebhookDeliveryPage struct {
	Deliveries []*parley.WebhookDelivery `json:"deliveries"`
	// NextCursor continues below this page; empty on the last.
	NextCursor string `json:"next_cursor,omitempty"`
}

// WebhookDeliveries returns a page of an endpoint's deliveries with every
// attempt, for the owner of its app. The cursor is the last delivery's ID;
// what is not a delivery's ID is EINVALID.
func (s *Service) WebhookDeliveries(ctx context.Context, clientID, id, cursor string, limit int) (*WebhookDeliveryPage, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit, parley.DefaultMessageLimit, parley.MaxWebhookDeliveryList); err != nil {
		return nil, err
	}
	if bare, ok := strings.CutPrefix(cursor, webhookPrefix); cursor != "" && !(ok && parley.IsID(bare)) {
		return nil, parley.Errorf(parley.EINVALID, "cursor is not one this server gave out")
	}
	page := &WebhookDeliveryPage{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		if _, err := ownEndpoint(ctx, tx, c, clientID, id); err != nil {
			return err
		}
		list, err := tx.FindWebhookDeliveries(ctx, id, cursor, limit+1)
		if err != nil {
			return err
		}
		if len(list) > limit {
			list = list[:limit]
			page.NextCursor = list[limit-1].ID
		}
		page.Deliveries = list
		return nil
	})
	return page, err
}

// webhookHistoryBatch is how many deliveries one write deletes, pruning
// the history or deleting an endpoint: a write short enough that the
// sends it shares the store with hardly wait for it.
const webhookHistoryBatch = 500

// deleteInBatches runs del, which deletes up to webhookHistoryBatch
// deliveries and says how many, a write each time, until it deletes fewer,
// and returns how many it deleted in all. The writes need not wait for
// fsync: a batch lost in a crash is deleted again by the next try.
func (s *Service) deleteInBatches(ctx context.Context, del func(parley.Tx) (int, error)) (int, error) {
	deleted := 0
	for {
		var n int
		err := s.store.WriteLazily(ctx, func(tx parley.Tx) (err error) {
			n, err = del(tx)
			return err
		})
		deleted += n
		if err != nil || n < webhookHistoryBatch {
			return deleted, err
		}
	}
}

// PruneWebhookHistory deletes the deliveries made longer ago than
// parley.WebhookHistoryKept that are no longer pending, with their
// attempts, a batch a write, and returns how many it deleted. Every node
// may run it at once: each write deletes deliveries no other holds.
func (s *Service) PruneWebhookHistory(ctx context.Context) (int, error) {
	before := s.Now().Add(-parley.WebhookHistoryKept)
	return s.deleteInBatches(ctx, func(tx parley.Tx) (int, error) {
		return tx.DeleteWebhookHistory(ctx, before, webhookHistoryBatch)
	})
}

// RedeliverWebhook sends one of an endpoint's deliveries again now, with a
// fresh schedule of retries, for the owner of its app. A disabled endpoint
// is sent nothing: ECONFLICT.
func (s *Service) RedeliverWebhook(ctx context.Context, clientID, endpointID, deliveryID string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		e, err := ownEndpoint(ctx, tx, c, clientID, endpointID)
		if err != nil {
			return err
		}
		if e.DisabledAt != nil {
			return parley.Errorf(parley.ECONFLICT, "the endpoint is disabled: %s", e.DisabledReason)
		}
		err = tx.RedeliverWebhook(ctx, endpointID, deliveryID, s.Now())
		if isNotFound(err) {
			return parley.Errorf(parley.ENOTFOUND, "webhook delivery not found")
		}
		return err
	})
	if err == nil {
		s.WakeWebhooks()
	}
	return err
}

// payload encodes a delivery's body.
func payload(event string, at time.Time, data any) []byte {
	b, err := json.Marshal(parley.WebhookPayload{Type: event, Timestamp: at, Data: data})
	if err != nil {
		panic("service: webhook payload does not encode: " + err.Error()) // our own types always encode
	}
	return b
}

// grantCaller is the caller an app acts as through a grant, for deciding
// what the grant reaches.
func grantCaller(g parley.ThreadGrant) *parley.Caller {
	return &parley.Caller{User: parley.UserRef{ID: g.Member.ID}, App: &parley.AppAccess{
		Grant:  &parley.Grant{ID: g.GrantID, UserID: g.Member.ID, ClientID: g.ClientID, ThreadScope: g.ThreadScope, Scopes: g.Scopes},
		App:    &parley.App{ClientID: g.ClientID, Name: g.AppName},
		Scopes: g.Scopes,
	}}
}

// targetReaches reports whether a target's grant reaches ev, exactly as a
// realtime stream through that grant would receive it, and the access its
// delivery is logged as (eventScope).
func targetReaches(ctx context.Context, tx parley.Tx, t parley.WebhookTarget, ev parley.Event) (parley.Scope, bool, error) {
	c := grantCaller(t.Grant)
	scope, ok := eventScope(c, ev)
	if !ok {
		return "", false, nil
	}
	_, ok, err := reaches(ctx, tx, c, ev)
	return scope, ok, err
}

// heldWhileSuspended reports whether deliveries of event to a suspended
// app's endpoints are held until the app is reinstated, rather than not
// made, withdrawn or sent: message.deleted and message.edited, which tell
// the app that what it may hold of a message is gone or changed, and
// thread.closed_to_apps, that what it holds of a thread is to go.
// Suspension ends no grant, and the app's tokens work again once it is
// reinstated, with whatever the app kept; what was deleted or edited
// meanwhile, as words a member took back, must still reach it. A report
// waits too, as a suspended app is sent nothing. grant.revoked is sent
// whatever the app's state: it is how the app learns of its suspension,
// and a member's revocation tells it to forget them, which is never too
// early.
func heldWhileSuspended(event string) bool {
	switch event {
	case parley.WebhookMessageDeleted, parley.WebhookMessageEdited, parley.WebhookThreadClosed, parley.WebhookReportShares:
		return true
	}
	return false
}

// enqueueMessageWebhooks enqueues, in tx, a message.created,
// message.edited or message.deleted event about m for every subscribed
// endpoint whose app's grant reaches m, exactly as a realtime stream
// through that grant would receive it; for a suspended app's, only
// message.deleted and message.edited, which are held (heldWhileSuspended).
// It reports whether it enqueued any. While no endpoint subscribes to the
// event it costs nothing (mayHave); otherwise one query finds the
// endpoints and grants to consider.
func (s *Service) enqueueMessageWebhooks(ctx context.Context, tx parley.Tx, event string, m *parley.Message) (bool, error) {
	now := s.Now()
	if !s.hooks.mayHave(event, now) {
		return false, nil
	}
	targets, err := tx.FindWebhookTargets(ctx, event, m.ThreadID, now)
	if err != nil || len(targets) == 0 {
		return false, err
	}
	ev := parley.Event{Type: event, ThreadID: m.ThreadID, Seq: m.Seq, MessageID: m.ID}
	ev.ViaApp, ev.SenderID = writtenBy(m)
	var ds []parley.NewWebhookDelivery
	for _, t := range targets {
		if t.AppSuspended && !heldWhileSuspended(event) {
			continue
		}
		if _, ok, err := targetReaches(ctx, tx, t, ev); err != nil {
			return false, err
		} else if !ok {
			continue
		}
		data := parley.WebhookMessage{ThreadID: m.ThreadID, MessageID: m.ID, Seq: m.Seq, UserID: t.Grant.Member.ID, GrantID: t.Grant.GrantID, At: now}
		ds = append(ds, parley.NewWebhookDelivery{
			ID: webhookPrefix + parley.NewID(), EndpointID: t.EndpointID, Event: event, Payload: payload(event, now, data),
			GrantID: t.Grant.GrantID, ThreadID: m.ThreadID, MessageID: m.ID, Seq: m.Seq, CreatedAt: now,
		})
	}
	if len(ds) == 0 {
		return false, nil
	}
	readers, err := tx.FindParticipantIDs(ctx, m.ThreadID)
	if err != nil {
		return false, err
	}
	for i := range ds {
		ds[i].Readers = readers
	}
	return true, tx.EnqueueWebhooks(ctx, ds)
}

// enqueueAppEvent enqueues, in tx, an event with data for every endpoint of
// the app subscribed to it, and reports whether there was any. about names
// the grant and thread the event concerns, if any; its other fields are
// filled here. It is how events about the app itself are sent, such as the
// fortnightly report.shares (parley.WebhookReportShares, whose data is the
// report): call it in the write that makes the event's data, and
// WakeWebhooks once the write succeeded.
func (s *Service) enqueueAppEvent(ctx context.Context, tx parley.Tx, clientID, event string, data any, about parley.NewWebhookDelivery) (bool, error) {
	now := s.Now()
	endpoints, err := tx.FindWebhookSubscribers(ctx, clientID, event, now)
	if err != nil || len(endpoints) == 0 {
		return false, err
	}
	body := payload(event, now, data)
	ds := make([]parley.NewWebhookDelivery, len(endpoints))
	for i, id := range endpoints {
		d := about
		d.ID, d.EndpointID, d.Event, d.Payload, d.CreatedAt = webhookPrefix+parley.NewID(), id, event, body, now
		ds[i] = d
	}
	return true, tx.EnqueueWebhooks(ctx, ds)
}

// enqueueGrantEnded enqueues grant.revoked for a grant that ended at t.
func (s *Service) enqueueGrantEnded(ctx context.Context, tx parley.Tx, g *parley.Grant, reason string, t time.Time) (bool, error) {
	return s.enqueueAppEvent(ctx, tx, g.ClientID, parley.WebhookGrantRevoked,
		parley.WebhookGrant{GrantID: g.ID, UserID: g.UserID, Reason: reason, At: t}, parley.NewWebhookDelivery{GrantID: g.ID})
}

// enqueueThreadEnded enqueues thread.closed_to_apps for each grant that
// reached a thread and no longer does, and whose app may know of the
// thread (knowsOfThreads).
func (s *Service) enqueueThreadEnded(ctx context.Context, tx parley.Tx, threadID string, grants []parley.ThreadGrant, reason string) (bool, error) {
	enqueued := false
	now := s.Now()
	for _, g := range grants {
		if !knowsOfThreads(g) {
			continue
		}
		data := parley.WebhookThread{ThreadID: threadID, UserID: g.Member.ID, GrantID: g.GrantID, Reason: reason, At: now}
		ok, err := s.enqueueAppEvent(ctx, tx, g.ClientID, parley.WebhookThreadClosed, data,
			parley.NewWebhookDelivery{GrantID: g.GrantID, ThreadID: threadID})
		if err != nil {
			return false, err
		}
		enqueued = enqueued || ok
	}
	return enqueued, nil
}

// knowsOfThreads reports whether a grant's app may know which threads the
// grant reaches, and so be told that one left it: it reads them or their
// messages (threads.read, messages.read), or it reaches only threads it
// started or shared into. Any other app is told nothing of the member's
// threads, by webhooks as by its realtime stream.
func knowsOfThreads(g parley.ThreadGrant) bool {
	return g.ThreadScope == parley.ThreadScopeApp || g.Scopes.Has(parley.ScopeThreadsRead) || g.Scopes.Has(parley.ScopeMessagesRead)
}

// screenWebhooks splits deliveries taken for an attempt into those to send,
// those to withdraw and those to hold, and returns the access records of
// the ones sent for the first time. A delivery about a message is withdrawn
// when its grant no longer reaches the message, decided again as when it
// was enqueued (enqueueMessageWebhooks): a retry may be due a day after the
// event, and ending an app's access ends its webhooks at once, as it ends
// its realtime stream. One whose app is suspended is withdrawn too, but for
// a message.deleted or message.edited, which is held until the app is
// reinstated (heldWhileSuspended), and then screened again; so is a
// delivery about no message that heldWhileSuspended names (a thread leaving
// the grant, a report), which is withdrawn once the app is deleted: its
// grant.revoked, sent still, is its last word from Parley. A
// thread.closed_to_apps is withdrawn once its grant has ended, whatever the
// app's state: the grant.revoked that ended it told the app to forget the
// member, threads and all. What the screen lets through is sent, even
// should access end between the screen and the attempt, milliseconds later,
// as a realtime event already written to a stream reaches the app; the
// access log has its record. A delivery about a message is logged, before
// it is first sent, for everyone in the message's thread when it was
// enqueued (its Readers), as a realtime event is: the app learns something
// of each of them, once however many of its endpoints are told (whose first
// attempts come within parley.AccessKeyKept of each other). A delivery
// whose first attempt went unrecorded is sent again with attempts still 0,
// and its record, keyed by the event, is then dropped by the store as one
// it logged already.
func (s *Service) screenWebhooks(ctx context.Context, due []*parley.DueWebhook, now time.Time) (
	send []*parley.DueWebhook, withdrawn []string, held []*parley.DueWebhook, records []parley.AccessRecord, err error,
) {
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		send, withdrawn, held, records = nil, nil, nil, nil
		type about struct{ event, threadID string }
		targets := map[about][]parley.WebhookTarget{}
		current := map[string][]string{}
		apps := appStates(tx.FindAppByClientID)
		granted := map[string]bool{} // whether a grant is in force, by ID
		writers := messageWriters(tx)
		for _, d := range due {
			if d.MessageID == "" {
				state, err := apps.of(ctx, d.ClientID)
				if err != nil {
					return err
				}
				inForce := true
				if d.Event == parley.WebhookThreadClosed {
					if inForce, err = grantInForce(ctx, tx, granted, d.GrantID, now); err != nil {
						return err
					}
				}
				switch {
				case !inForce:
					// The grant.revoked that ended it told the app to
					// forget the member, threads and all.
					withdrawn = append(withdrawn, d.ID)
				case !heldWhileSuspended(d.Event):
					send = append(send, d)
				case state == parley.AppSuspended:
					held = append(held, d)
				case state == parley.AppDeleted:
					withdrawn = append(withdrawn, d.ID)
				default:
					send = append(send, d)
				}
				continue
			}
			a := about{d.Event, d.ThreadID}
			if _, ok := targets[a]; !ok {
				list, err := tx.FindWebhookTargets(ctx, d.Event, d.ThreadID, now)
				if err != nil {
					return err
				}
				targets[a] = list
			}
			ev := parley.Event{Type: d.Event, ThreadID: d.ThreadID, Seq: d.Seq, MessageID: d.MessageID}
			reached, suspended, loggedAs := false, false, parley.Scope("")
			for _, t := range targets[a] {
				if t.EndpointID == d.EndpointID && t.Grant.GrantID == d.GrantID {
					if d.Event == parley.WebhookMessageDeleted {
						// Whether the app wrote it may decide (eventScope).
						w, err := writers.of(ctx, d.MessageID)
						if err != nil {
							return err
						}
						ev.ViaApp, ev.SenderID = w.viaApp, w.senderID
					}
					if loggedAs, reached, err = targetReaches(ctx, tx, t, ev); err != nil {
						return err
					}
					suspended = t.AppSuspended
					break
				}
			}
			switch {
			case reached && suspended && heldWhileSuspended(d.Event):
				held = append(held, d)
				continue
			case !reached || suspended:
				withdrawn = append(withdrawn, d.ID)
				continue
			}
			send = append(send, d)
			if d.Attempts > 0 {
				continue
			}
			// A delivery enqueued before deliveries named their readers
			// is logged for those in the thread now.
			ids, ok := d.Readers, len(d.Readers) > 0
			if !ok {
				if ids, ok = current[d.ThreadID]; !ok {
					if ids, err = tx.FindParticipantIDs(ctx, d.ThreadID); err != nil {
						return err
					}
					current[d.ThreadID] = ids
				}
			}
			c := &parley.Caller{App: &parley.AppAccess{
				Grant: &parley.Grant{ID: d.GrantID}, App: &parley.App{ClientID: d.ClientID, Name: d.AppName},
			}}
			m := &parley.Message{ID: d.MessageID, Seq: d.Seq}
			// Keyed by the event, the enqueue that made the deliveries of
			// all the app's endpoints subscribed to it (the grant and
			// message are the record's own), so that the app, told of it at
			// each endpoint, is logged as told once; and that a delivery
			// taken again before its first attempt was recorded (its node
			// stopped or died with the attempt under way, and the lease
			// ended) is not logged again, on whichever node takes it. Both
			// within parley.AccessKeyKept: well beyond the lease.
			r := s.accessRecord(c, access{loggedAs, d.ThreadID, ids, []*parley.Message{m}})
			r.Key = r.KeyAt("webhook " + d.Event + " enqueued " + strconv.FormatInt(d.CreatedAt.UnixMicro(), 10))
			records = append(records, r)
		}
		return nil
	})
	return send, withdrawn, held, records, err
}

// ExchangeWebhooks records the results of this node's worker's attempts,
// planning what follows each (a retry on the schedule, giving up, or
// disabling the endpoint, which its owner sees in the endpoint's
// disabled_reason and the server's log), and takes due deliveries for it,
// as take bounds them, in one write. Of the deliveries taken, it withdraws
// those about a message their grant no longer reaches, and logs the others
// about a message before their first attempt (screenWebhooks).
//
// An error means that the results were not recorded, and the worker
// passes them again. Once that write commits, a failure to make ready the
// deliveries it took is logged here, and they are left to their lease:
// reporting it would have the results recorded twice, their attempts
// listed twice and a success seen after the failures that followed it.
func (s *Service) ExchangeWebhooks(ctx context.Context, results []webhook.Result, take parley.WebhookTake) ([]*webhook.Job, error) {
	now := s.Now()
	recorded := s.webhookResults(ctx, results, now)
	var due []*parley.DueWebhook
	// A lease lost in a crash of the machine only makes the attempt sooner,
	// and an attempt whose record it loses is made again, as the
	// specification allows (receivers tell repeats by webhook-id): the
	// write need not wait for fsync.
	err := s.store.WriteLazily(ctx, func(tx parley.Tx) (err error) {
		if err := tx.RecordWebhookResults(ctx, recorded); err != nil {
			return err
		}
		due, err = tx.TakeDueWebhooks(ctx, now, leaseUntil(now), take)
		return err
	})
	if err != nil || len(due) == 0 {
		return nil, err
	}
	jobs, err := s.readyWebhooks(ctx, due, now)
	if err != nil {
		if parley.WorthLogging(ctx, err) {
			s.log.ErrorContext(ctx, "deliver webhooks", "err", err)
		}
		return nil, nil
	}
	return jobs, nil
}

// ReturnWebhooks records the results of a stopping worker's attempts, as
// ExchangeWebhooks does, and gives back the deliveries of unfinished, jobs
// it took but did not attempt to the end, due again at once rather than at
// the end of their lease, here or on another node, in one write. An error
// means that none of it was done: the deliveries are left to their
// leases.
func (s *Service) ReturnWebhooks(ctx context.Context, results []webhook.Result, unfinished []*webhook.Job) error {
	now := s.Now()
	recorded := s.webhookResults(ctx, results, now)
	leases := map[time.Time][]string{}
	for _, j := range unfinished {
		leases[leaseUntil(j.At)] = append(leases[leaseUntil(j.At)], j.ID)
	}
	return s.store.Write(ctx, func(tx parley.Tx) error {
		if err := tx.RecordWebhookResults(ctx, recorded); err != nil {
			return err
		}
		for lease, ids := range leases {
			if err := tx.ReturnWebhooks(ctx, lease, now, ids); err != nil {
				return err
			}
		}
		return nil
	})
}

// grantInForce reports whether the grant id is in force at now, reading
// it once into known.
func grantInForce(ctx context.Context, tx parley.Tx, known map[string]bool, id string, now time.Time) (bool, error) {
	if ok, seen := known[id]; seen {
		return ok, nil
	}
	g, err := tx.FindGrantByID(ctx, id)
	if err != nil && !isNotFound(err) {
		return false, err
	}
	known[id] = err == nil && g.ActiveAt(now)
	return known[id], nil
}

// stillSuspended returns the IDs of the deliveries to hold whose app is
// suspended still, as the write that holds them finds it, holding each
// app's row as its reinstatement does (FindAppForUpdate): the screen read
// them before, and a reinstatement since then released what was held,
// which these were not yet, and would strand them, held with no one to
// release them. Those it leaves out stay under their lease, and are
// taken and screened again when it ends.
func stillSuspended(ctx context.Context, tx parley.Tx, held []*parley.DueWebhook) ([]string, error) {
	var ids []string
	apps := appStates(tx.FindAppForUpdate)
	for _, d := range held {
		state, err := apps.of(ctx, d.ClientID)
		if err != nil {
			return nil, err
		}
		if state == parley.AppSuspended {
			ids = append(ids, d.ID)
		}
	}
	return ids, nil
}

// readOnce tells what read makes of each ID, reading each once; an ID not
// found reads as V's zero value.
type readOnce[V any] struct {
	read  func(ctx context.Context, id string) (V, error)
	known map[string]V
}

func (r *readOnce[V]) of(ctx context.Context, id string) (V, error) {
	if v, ok := r.known[id]; ok {
		return v, nil
	}
	v, err := r.read(ctx, id)
	if isNotFound(err) {
		var none V
		v, err = none, nil
	}
	if err != nil {
		return v, err
	}
	if r.known == nil {
		r.known = map[string]V{}
	}
	r.known[id] = v
	return v, nil
}

// appStates tells apps' states (parley.AppActive and the others), as find
// reads them, each app read once; an app not found has none, "".
func appStates(find func(ctx context.Context, clientID string) (*parley.App, error)) *readOnce[string] {
	return &readOnce[string]{read: func(ctx context.Context, clientID string) (string, error) {
		app, err := find(ctx, clientID)
		if err != nil {
			return "", err
		}
		return app.State, nil
	}}
}

// messageWriter is who wrote a message (writtenBy).
type messageWriter struct{ viaApp, senderID string }

// messageWriters tells who wrote messages, as tx reads them, each message
// read once; a message not found was written by no one.
func messageWriters(tx parley.Tx) *readOnce[messageWriter] {
	return &readOnce[messageWriter]{read: func(ctx context.Context, messageID string) (messageWriter, error) {
		m, err := tx.FindMessageByID(ctx, messageID)
		if err != nil {
			return messageWriter{}, err
		}
		var w messageWriter
		w.viaApp, w.senderID = writtenBy(m)
		return w, nil
	}}
}

// readyWebhooks makes jobs of the deliveries ExchangeWebhooks took:
// withdraws, holds and logs them as screenWebhooks says, and signs the
// rest.
func (s *Service) readyWebhooks(ctx context.Context, due []*parley.DueWebhook, now time.Time) ([]*webhook.Job, error) {
	due, withdrawn, held, records, err := s.screenWebhooks(ctx, due, now)
	if err != nil {
		return nil, err
	}
	if len(withdrawn) > 0 || len(held) > 0 {
		if err := s.store.WriteLazily(ctx, func(tx parley.Tx) error {
			if err := tx.WithdrawWebhooks(ctx, leaseUntil(now), withdrawn); err != nil {
				return err
			}
			stillHeld, err := stillSuspended(ctx, tx, held)
			if err != nil {
				return err
			}
			return tx.HoldWebhooks(ctx, leaseUntil(now), stillHeld)
		}); err != nil {
			return nil, err
		}
	}
	if len(records) > 0 {
		if err := s.store.LogReads(ctx, records); err != nil {
			return nil, err
		}
	}
	sealer, err := s.sealer(ctx)
	if err != nil {
		return nil, err
	}
	jobs := make([]*webhook.Job, 0, len(due))
	var unsigned []webhook.Result
	for _, d := range due {
		job := &webhook.Job{
			ID: d.ID, EndpointID: d.EndpointID, Owner: d.Owner, URL: d.URL, Body: d.Payload, At: now,
			Attempts: d.Attempts, Failures: d.Failures,
		}
		if job.Keys = s.signingKeys(ctx, sealer, d, now); job.Keys == nil {
			unsigned = append(unsigned, webhook.Result{Job: job, Err: webhook.ErrUnsigned})
			continue
		}
		jobs = append(jobs, job)
	}
	if len(unsigned) > 0 {
		// Recorded as failed attempts, on the retry schedule, so that the
		// endpoint's owner sees why and the batch's other deliveries go;
		// should the record fail, their leases end and they are taken again.
		failed := s.webhookResults(ctx, unsigned, now)
		if err := s.store.WriteLazily(ctx, func(tx parley.Tx) error { return tx.RecordWebhookResults(ctx, failed) }); err != nil {
			s.log.ErrorContext(ctx, "record unsigned webhook deliveries", "err", err)
		}
	}
	return jobs, nil
}

// signingKeys opens the keys that sign a delivery: its endpoint's secret,
// and, while it still signs, the one a rotation replaced. It returns nil
// when the secret cannot be opened, as when the server's key it was sealed
// with is gone: the delivery cannot be signed. The secret a rotation
// replaced is left out when it cannot be opened: the receiver checks
// either. Both are logged, for the operator.
func (s *Service) signingKeys(ctx context.Context, sealer *webhook.Sealer, d *parley.DueWebhook, now time.Time) [][]byte {
	key, err := sealer.Open(d.EndpointID, d.Secret)
	if err != nil {
		s.log.ErrorContext(ctx, "webhook secret unreadable", "endpoint", d.EndpointID, "err", err)
		return nil
	}
	keys := [][]byte{key}
	if d.OldSecret != nil && d.OldSecretUntil != nil && now.Before(*d.OldSecretUntil) {
		old, err := sealer.Open(d.EndpointID, d.OldSecret)
		if err != nil {
			s.log.WarnContext(ctx, "webhook secret unreadable", "endpoint", d.EndpointID, "secret", "replaced", "err", err)
			return keys
		}
		keys = append(keys, old)
	}
	return keys
}

// webhookResults turns attempts' results into what the store records, and
// logs the cause of an attempt that got no answer (webhook.Result.Cause),
// which the store does not record for the endpoint's owner.
func (s *Service) webhookResults(ctx context.Context, results []webhook.Result, now time.Time) []parley.WebhookResult {
	out := make([]parley.WebhookResult, len(results))
	for i, r := range results {
		next, disable := webhook.Plan(r, now)
		a := parley.WebhookAttempt{At: r.Job.At, StatusCode: r.StatusCode, LatencyMS: r.Latency.Milliseconds(), Succeeded: r.OK()}
		if r.Err != nil {
			a.Error = r.Err.Error()
		} else if !a.Succeeded {
			a.Error = fmt.Sprintf("the endpoint answered %d", r.StatusCode)
		}
		out[i] = parley.WebhookResult{DeliveryID: r.Job.ID, EndpointID: r.Job.EndpointID, Attempt: a, NextAttemptAt: next,
			Disable: disable, Failures: r.Job.Failures, LeaseUntil: leaseUntil(r.Job.At)}
		if r.Cause != nil {
			s.log.DebugContext(ctx, "webhook attempt failed", "endpoint", r.Job.EndpointID, "delivery", r.Job.ID, "err", r.Err, causeOf(r))
		}
		if disable != "" {
			s.log.WarnContext(ctx, "webhook endpoint disabled", "endpoint", r.Job.EndpointID, "reason", disable, causeOf(r))
		}
	}
	return out
}

// causeOf is the attribute that logs a result's cause, if it has one: Go's
// error, which may tell of the server's network, and which only the
// server's log holds. It names no URL, and holds no payload or secret.
func causeOf(r webhook.Result) slog.Attr {
	if r.Cause == nil {
		return slog.Attr{}
	}
	return slog.Any("cause", r.Cause)
}
