package parley

import (
	"context"
	"slices"
	"time"
)

// Webhook event types, sent to an app's endpoints per the Standard Webhooks
// specification. Payloads are thin: IDs, thread, seq and time, never a
// message's text, so that the app reads content through the API, under its
// grant and into the access log. The events about a message are the
// realtime events of the same name, by definition: whether one reaches a
// grant, and how it is logged, is decided for both by the one rule.
const (
	// WebhookMessageCreated: a message was posted where a member's grant
	// reaches (WebhookMessage).
	WebhookMessageCreated = EventMessageCreated
	// WebhookMessageDeleted: a message a member's grant reached was deleted
	// (WebhookMessage).
	WebhookMessageDeleted = EventMessageDeleted
	// WebhookMessageEdited: a message a member's grant reaches was edited
	// (WebhookMessage); its new text is read through the API.
	WebhookMessageEdited = EventMessageEdited
	// WebhookGrantRevoked: a member's grant ended: revoked, expired, or its
	// app suspended (WebhookGrant).
	WebhookGrantRevoked = "grant.revoked"
	// WebhookThreadClosed: a thread left a member's grant: a participant
	// closed it to apps, or the member left it (WebhookThread).
	WebhookThreadClosed = "thread.closed_to_apps"
	// WebhookReportShares: a fortnight ended; the data is the app's share
	// report for it (ShareReport), which identifies no one.
	WebhookReportShares = "report.shares"
)

// WebhookEvents are the event types an endpoint may subscribe to.
var WebhookEvents = []string{
	WebhookMessageCreated, WebhookMessageEdited, WebhookMessageDeleted, WebhookGrantRevoked, WebhookThreadClosed, WebhookReportShares,
}

// Why a grant.revoked event was sent (WebhookGrant.Reason).
const (
	GrantEndRevoked   = "revoked"
	GrantEndExpired   = "expired"
	GrantEndSuspended = "app_suspended"
)

// Why a thread.closed_to_apps event was sent (WebhookThread.Reason).
const (
	ThreadEndClosed = "closed"
	ThreadEndLeft   = "left"
	// ThreadEndUnticked: the member took the thread out of the grant.
	ThreadEndUnticked = "unticked"
	// ThreadEndNarrowed: the member took messages.read out of the grant,
	// which reaches the thread still but reads it no more: the app is told
	// of no deletion or edit there from then on, and forgets what it kept.
	ThreadEndNarrowed = "narrowed"
)

// WebhookPayload is the body of every delivery, per Standard Webhooks.
type WebhookPayload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// WebhookMessage is the data of message.created, message.edited and
// message.deleted: which message, and through which member's grant the app
// may read it.
type WebhookMessage struct {
	ThreadID  string    `json:"thread_id"`
	MessageID string    `json:"message_id"`
	Seq       int64     `json:"seq"`
	UserID    string    `json:"user_id"`
	GrantID   string    `json:"grant_id"`
	At        time.Time `json:"at"`
}

// WebhookGrant is the data of grant.revoked.
type WebhookGrant struct {
	GrantID string    `json:"grant_id"`
	UserID  string    `json:"user_id"`
	Reason  string    `json:"reason"`
	At      time.Time `json:"at"`
}

// WebhookThread is the data of thread.closed_to_apps.
type WebhookThread struct {
	ThreadID string    `json:"thread_id"`
	UserID   string    `json:"user_id"`
	GrantID  string    `json:"grant_id"`
	Reason   string    `json:"reason"`
	At       time.Time `json:"at"`
}

// Limits on webhook endpoints.
const (
	MaxWebhookURLLen      = 512
	MaxWebhookEndpoints   = 10
	WebhookSecretRotation = 24 * time.Hour
	// WebhookDisableAfter is how long an endpoint's run of failures
	// (WebhookFailures) lasts before the endpoint is disabled.
	WebhookDisableAfter = 5 * 24 * time.Hour
	// MaxWebhookRetryAfter caps how long a Retry-After may put off an
	// attempt: no delivery waits longer between two attempts.
	MaxWebhookRetryAfter = 24 * time.Hour
	// WebhookActivation is how long after it is made an endpoint starts
	// receiving events: time for every server to learn of it.
	WebhookActivation      = 5 * time.Second
	MaxWebhookDeliveryList = 100
	// WebhookHistoryKept is how long a delivery is kept, with its
	// attempts, once it is made, unless it is still pending: an
	// endpoint's history, and what may be redelivered, is its last 30
	// days.
	WebhookHistoryKept = 30 * 24 * time.Hour
)

// Bounds of an endpoint's run of failures (WebhookFailures).
const (
	// webhookFailuresStep is how far on from the run's recorded Latest a
	// failure must come to be recorded as its Latest: so that a failing
	// endpoint is written about once an hour, not at every failed attempt.
	webhookFailuresStep = time.Hour
	// webhookQuietGap is the longest an endpoint may go without a failed
	// attempt and still be failing in one run. Each retry of a delivery
	// comes at most MaxWebhookRetryAfter after the attempt before it (the
	// retry schedule's longest wait, with its jitter, is 11 hours), so an
	// endpoint quiet for longer had no delivery to retry: it was not
	// failing, as its owner would say, but had nothing to fail at. The
	// recorded Latest lags the latest failure by less than
	// webhookFailuresStep, which the gap adds.
	webhookQuietGap = MaxWebhookRetryAfter + webhookFailuresStep
)

// WebhookFailures is an endpoint's run of failures: every attempt at its
// deliveries from Since, the first, to Latest failed, and none came more
// than a day and an hour (webhookQuietGap) after the one before it. A run is
// how long an endpoint has been failing: one that failed, had nothing to
// deliver for days, and fails again, starts a new run, and is not disabled
// for having failed days ago (WebhookDisableAfter).
type WebhookFailures struct {
	Since time.Time
	// Latest is the latest failure recorded, within webhookFailuresStep
	// of the latest one.
	Latest time.Time
}

// After returns the run of failures after an attempt at t that failed or
// not, given f, the run before it (nil when the endpoint was not failing),
// and whether the endpoint must record the run after: a success ends the
// run (nil); a failure more than webhookQuietGap after f's Latest starts a
// new one at t; any other failure extends f, recorded only when it moves
// Latest on by webhookFailuresStep or more.
func (f *WebhookFailures) After(t time.Time, failed bool) (after *WebhookFailures, record bool) {
	switch {
	case !failed:
		return nil, f != nil
	case f == nil || t.Sub(f.Latest) > webhookQuietGap:
		return &WebhookFailures{Since: t, Latest: t}, true
	case t.Sub(f.Latest) >= webhookFailuresStep:
		return &WebhookFailures{Since: f.Since, Latest: t}, true
	}
	return f, false
}

// WebhookEndpoint is where an app's owner asked for events. Its signing
// secrets are never part of this type.
type WebhookEndpoint struct {
	ID       string    `json:"id"`
	ClientID string    `json:"client_id"`
	URL      string    `json:"url"`
	Events   []string  `json:"events"`
	Created  time.Time `json:"created_at"`
	// ActiveFrom is when the endpoint starts receiving events, a moment
	// after it was made (WebhookActivation).
	ActiveFrom time.Time `json:"active_from"`
	// OldSecretUntil is when the secret a rotation replaced stops signing.
	OldSecretUntil *time.Time `json:"old_secret_until,omitempty"`
	// FailingSince is the first failed attempt of the endpoint's latest
	// run of failures (WebhookFailures); a success ends the run.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// DisabledAt and DisabledReason say that, and why, deliveries stopped:
	// the endpoint answered 410 Gone, or its run of failures lasted
	// WebhookDisableAfter.
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	DisabledReason string     `json:"disabled_reason,omitempty"`
}

// Validate checks an endpoint's events and the form of its URL (the
// destination is checked by the webhook package), and sorts the events,
// dropping repeats.
func (e *WebhookEndpoint) Validate() error {
	u, ok := parseWebURL(e.URL)
	if !ok || len(e.URL) > MaxWebhookURLLen || u.User != nil || u.Fragment != "" {
		return Errorf(EINVALID, "URL must be an absolute https URL of at most %d characters, without credentials or fragment, with a port, if any, from 1 to 65535", MaxWebhookURLLen)
	}
	if len(e.Events) == 0 {
		return Errorf(EINVALID, "events must name at least one event")
	}
	for _, ev := range e.Events {
		if !slices.Contains(WebhookEvents, ev) {
			return Errorf(EINVALID, "unknown event %q", ev)
		}
	}
	slices.Sort(e.Events)
	e.Events = slices.Compact(e.Events)
	return nil
}

// Webhook delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	// DeliveryWithdrawn is a delivery that was not sent, or not sent
	// again, because its app may no longer be told: about a message, its
	// grant no longer reaches the message (the grant ended, the member
	// left the thread or a participant closed it to apps before its
	// attempt was due); a thread.closed_to_apps, its grant ended; or its
	// app was suspended, but for message.deleted, message.edited,
	// thread.closed_to_apps and report.shares, held pending until the app
	// is reinstated, and withdrawn only if it is deleted.
	DeliveryWithdrawn = "withdrawn"
)

// WebhookDelivery is one event on its way to one endpoint, with every
// attempt made.
type WebhookDelivery struct {
	// ID is the webhook-id header: the same on every attempt.
	ID            string           `json:"id"`
	EndpointID    string           `json:"endpoint_id"`
	Event         string           `json:"event"`
	CreatedAt     time.Time        `json:"created_at"`
	State         string           `json:"state"`
	NextAttemptAt *time.Time       `json:"next_attempt_at,omitempty"`
	Attempts      []WebhookAttempt `json:"attempts"`
}

// WebhookAttempt is one try at sending a delivery.
type WebhookAttempt struct {
	At time.Time `json:"at"`
	// StatusCode is the endpoint's answer; 0 when none came.
	StatusCode int   `json:"status_code"`
	LatencyMS  int64 `json:"latency_ms"`
	// Error says what went wrong, when the attempt failed.
	Error     string `json:"error,omitempty"`
	Succeeded bool   `json:"succeeded"`
}

// NewWebhookDelivery is an event to enqueue for one endpoint. Thread events
// name the grant and message they concern, for the access log, and events
// about a message the members of its thread at the change (Readers), whose
// access logs record its first attempt.
type NewWebhookDelivery struct {
	ID         string
	EndpointID string
	Event      string
	Payload    []byte
	GrantID    string
	ThreadID   string
	MessageID  string
	Seq        int64
	Readers    []string
	CreatedAt  time.Time
}

// DueWebhook is a delivery taken for an attempt, with what sending it needs.
type DueWebhook struct {
	NewWebhookDelivery
	// Attempts made before this one.
	Attempts int
	ClientID string
	// Owner is whom the endpoint's deliveries count against, together
	// with those of the owner's other apps (WebhookTake.PerOwner): the ID
	// of the member who registered its app, or the app's client ID when
	// it was registered for no one.
	Owner   string
	AppName string
	URL     string
	// Secret and OldSecret are sealed; OldSecret signs beside Secret until
	// OldSecretUntil.
	Secret, OldSecret []byte
	OldSecretUntil    *time.Time
	// Failures is the endpoint's run of failures when the delivery was
	// taken; nil when it was not failing.
	Failures *WebhookFailures
}

// WebhookResult is the outcome of an attempt at a taken delivery.
type WebhookResult struct {
	DeliveryID string
	EndpointID string
	Attempt    WebhookAttempt
	// NextAttemptAt is when to try again; nil when the delivery is done,
	// by success or by giving up.
	NextAttemptAt *time.Time
	// Disable, when set, disables the endpoint with this reason.
	Disable string
	// Failures is the endpoint's run of failures when the delivery was
	// taken (DueWebhook.Failures): the store records the run After the
	// attempt when that says to.
	Failures *WebhookFailures
	// LeaseUntil is the lease the delivery was taken with (TakeDueWebhooks'
	// leaseUntil).
	LeaseUntil time.Time
}

// WebhookTake bounds what one TakeDueWebhooks takes.
type WebhookTake struct {
	// Limit is how many deliveries it takes at most.
	Limit int
	// PerEndpoint, when set, is how many deliveries of one endpoint the
	// taker has in flight at most, those in InFlight and those it takes:
	// an endpoint that answers slowly, or never, holds that many of the
	// taker's slots, not every slot, while others' deliveries wait.
	PerEndpoint int
	// InFlight counts, by endpoint ID, the deliveries the taker has in
	// flight already.
	InFlight map[string]int
	// PerOwner, when set, is how many deliveries of the endpoints of one
	// owner's apps (DueWebhook.Owner), all together, the taker has in
	// flight at most, those in InFlightByOwner and those it takes: a
	// member whose endpoints all answer slowly, or never, holds that many
	// of the taker's slots, however many apps and endpoints they have.
	PerOwner int
	// InFlightByOwner counts, by owner, the deliveries the taker has in
	// flight already.
	InFlightByOwner map[string]int
}

// WebhookTarget is an endpoint subscribed to an event whose app holds a
// grant, in force, of one of a thread's current participants.
type WebhookTarget struct {
	EndpointID string
	Grant      ThreadGrant
	// AppSuspended is set when an operator suspended the grant's app,
	// which ends none of its grants.
	AppSuspended bool
}

// WebhookStore keeps apps' webhook endpoints and the outbox of their
// deliveries. A delivery enqueued in a write is sent only if the write
// commits, and is kept until it succeeds or is given up.
type WebhookStore interface {
	// CreateWebhookEndpoint stores an endpoint with its sealed secret.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint, secret []byte) error
	// SetWebhookActiveFrom moves the time an endpoint is told of events
	// from, for each event it subscribes to.
	SetWebhookActiveFrom(ctx context.Context, id string, activeFrom time.Time) error
	// FindWebhookEndpoints returns the app's endpoints, oldest first.
	FindWebhookEndpoints(ctx context.Context, clientID string) ([]*WebhookEndpoint, error)
	FindWebhookEndpoint(ctx context.Context, id string) (*WebhookEndpoint, error)
	// RotateWebhookSecret makes secret the endpoint's secret and keeps the
	// one it replaces signing until oldUntil.
	RotateWebhookSecret(ctx context.Context, id string, secret []byte, oldUntil time.Time) error
	// DeleteWebhookEndpoint removes an endpoint with its deliveries.
	DeleteWebhookEndpoint(ctx context.Context, id string) error
	// FindWebhookEvents returns the events that enabled endpoints
	// subscribe to, active yet or not.
	FindWebhookEvents(ctx context.Context) ([]string, error)
	// FindWebhookTargets returns the enabled endpoints subscribed to event,
	// active at t, whose app is active or suspended (AppSuspended) and
	// holds a grant in force at t of one of the thread's current
	// participants, with that grant: whether the grant reaches the thread
	// is for the caller to decide.
	FindWebhookTargets(ctx context.Context, event, threadID string, t time.Time) ([]WebhookTarget, error)
	// FindWebhookSubscribers returns the IDs of the app's enabled
	// endpoints subscribed to event, active at t.
	FindWebhookSubscribers(ctx context.Context, clientID, event string, t time.Time) ([]string, error)
	// EnqueueWebhooks stores deliveries, due at once, but those whose
	// endpoint is gone, which it leaves out without an error: an endpoint
	// deleted after its caller found it hears of the event no more than one
	// deleted before. A disabled endpoint's are stored, and fail unsent.
	EnqueueWebhooks(ctx context.Context, ds []NewWebhookDelivery) error
	// TakeDueWebhooks takes up to take.Limit deliveries of enabled
	// endpoints due at now, oldest due first but for those of an endpoint
	// at take.PerEndpoint or of an owner at take.PerOwner, which it passes
	// over for the next endpoint's or owner's,
	// and makes them due again only at leaseUntil, so that an attempt that
	// never records its result is made again. Of writes taking at once, on
	// one server or several, each delivery is taken by one.
	TakeDueWebhooks(ctx context.Context, now, leaseUntil time.Time, take WebhookTake) ([]*DueWebhook, error)
	// RecordWebhookResults stores attempts' outcomes. A delivery redelivered
	// since it was taken (no longer due at its result's LeaseUntil) keeps
	// the redelivery's state and schedule: the attempt only joins its
	// history. One deleted since, with its endpoint, records nothing, and
	// does not keep the others from being recorded. A result recorded
	// already (its delivery has an attempt at the result's time) records
	// nothing again, so that results passed twice, after a write whose
	// commit went unheard, are recorded once. Each attempt moves its
	// endpoint's run of failures on as WebhookFailures.After says, from
	// the run its delivery was taken with or, after another result of the
	// endpoint in results, the run that result left; a failure does not
	// overwrite a run another write started or ended since, nor a success
	// end a run that began after it.
	RecordWebhookResults(ctx context.Context, results []WebhookResult) error
	// WithdrawWebhooks marks deliveries taken with leaseUntil withdrawn,
	// attempted no more unless redelivered, without touching their
	// endpoints' health; one redelivered since it was taken stays as the
	// redelivery left it.
	WithdrawWebhooks(ctx context.Context, leaseUntil time.Time, ids []string) error
	// HoldWebhooks puts deliveries taken with leaseUntil aside, pending and
	// due at no time, with their attempts and schedule as they were, until
	// ReleaseWebhooks; one redelivered since it was taken stays as the
	// redelivery left it.
	HoldWebhooks(ctx context.Context, leaseUntil time.Time, ids []string) error
	// ReleaseWebhooks makes the deliveries HoldWebhooks put aside for the
	// app's enabled endpoints due at t.
	ReleaseWebhooks(ctx context.Context, clientID string, t time.Time) error
	// ReturnWebhooks makes deliveries taken with leaseUntil, and not
	// attempted, due at t, as they were before they were taken: a worker
	// that stops gives back what it will not send rather than leave it to
	// the lease. One redelivered, attempted or set aside since it was
	// taken stays as that left it.
	ReturnWebhooks(ctx context.Context, leaseUntil, t time.Time, ids []string) error
	// FindWebhookDeliveries returns a page of the endpoint's deliveries,
	// newest first, below the delivery ID before (all for ""), with their
	// attempts.
	FindWebhookDeliveries(ctx context.Context, endpointID, before string, limit int) ([]*WebhookDelivery, error)
	// RedeliverWebhook makes a delivery of the endpoint due at t, with a
	// fresh schedule of retries.
	RedeliverWebhook(ctx context.Context, endpointID, deliveryID string, t time.Time) error
	// DeleteWebhookDeliveries deletes up to limit of the endpoint's
	// deliveries, with their attempts, and returns how many it deleted.
	DeleteWebhookDeliveries(ctx context.Context, endpointID string, limit int) (int, error)
	// DeleteWebhookHistory deletes up to limit deliveries made before t
	// that are not pending, oldest first, with their attempts, and returns
	// how many it deleted. Of writes deleting at once, on one server or
	// several, none waits for another: each deletes deliveries the others
	// do not hold.
	DeleteWebhookHistory(ctx context.Context, t time.Time, limit int) (int, error)
}
