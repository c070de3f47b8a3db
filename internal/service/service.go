// Package service holds Parley's business rules. It is the only place that
// decides whether a caller may do something: handlers call it with the
// caller in the context and never reach the store themselves.
//
// Not-found and not-allowed look the same to a caller who may not know a
// thing exists: a thread a member is not in is ENOTFOUND, never EFORBIDDEN.
package service

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/ratelimit"
)

// Options are the service's settings.
type Options struct {
	// OpenRegistration lets anyone create an account through the API.
	OpenRegistration bool
	// SessionTTL is how long a sign-in lasts; 0 means
	// parley.DefaultSessionTTL.
	SessionTTL time.Duration
	// SignUpsPerAddress is how many accounts one client address may create
	// through Register in a day before each further one waits; 0 means
	// parley.DefaultSignUpsPerAddress.
	SignUpsPerAddress int
	// AccessTokens opens apps' access tokens; internal/oauth seals them.
	// Without it, only members' own session tokens authenticate.
	AccessTokens TokenOpener
	// Secrets keeps the server's secrets (ServerKey); nil keeps them in the
	// store as they are.
	Secrets SecretKeeper
	// Clock tells the time; nil means parley.WallClock.
	Clock parley.Clock
	// PublicURL is the server's public URL, which share links are on; it
	// may be set later, with SetPublicURL, before the server serves.
	PublicURL string
	// ReportMinPeople is the k of share reports: the fewest people a cell
	// is counted from; 0 means parley.DefaultReportMinPeople.
	ReportMinPeople int
	// WebhooksAllowPrivate lets webhook endpoints be on loopback, and
	// there only, over plain http too: for tests and development.
	WebhooksAllowPrivate bool
	// AppsRequireReview makes the apps members register wait, pending,
	// until an operator approves them (ApproveApp); no one may connect
	// them before.
	AppsRequireReview bool
	// Limiter, if set, holds requests to the rate limits of this package
	// (its ratelimit.Policy values, each beside what it limits): each
	// account's password checks to signInsPerAccount (throttle.go),
	// authorization requests to authRequestsPerAddress and apps' requests
	// to the token endpoints to tokenRequestsPerClient and
	// failedClientAuthsPerAddress (oauth.go), each member's searches to
	// searchesPerMember (search.go), their downloads of their data to
	// exportsPerMember (export.go), and failed event tickets to
	// failedTicketsPerAddress (tickets.go). Without it they have no rate
	// limit, as for the parley command's own service.
	Limiter *ratelimit.Limiter
	// RateLimited, if set, is told of each request one of those limits
	// refused, by the policy's name.
	RateLimited func(policy string)
	// SignInFailed, if set, is told of each sign-in refused, by reason:
	// "credentials" (wrong username or password), "disabled" (the account
	// is) or "throttled" (too many failures before).
	SignInFailed func(reason string)
}

// TokenOpener opens a sealed access token into "tokenID:subject", the form
// zitadel/oidc's op package seals (op.Crypto satisfies it).
type TokenOpener interface {
	Decrypt(token string) (string, error)
}

// Service implements Parley's operations over a store and a bus.
type Service struct {
	store parley.Store
	bus   parley.Bus
	log   *slog.Logger
	opts  Options
	watch *accessWatch
	// deliveries logs the events apps' streams deliver.
	deliveries *deliveryLog
	links      *linkKey
	devices    *deviceKey
	hooks      *webhooks
	// callers caches the callers of members' sessions and apps' tokens
	// (callercache.go).
	callers callerCache
	// streamSessions are the sessions of the process's member streams
	// (streamsessions.go).
	streamSessions streamSessions
	// streams counts the process's open streams (streamcount.go).
	streams streamCounts
	// typing is when the process last told of each member's writing in
	// each thread (typing.go).
	typing typingTold
	// verified is how far the process last found members' access logs
	// intact (verifiedlogs.go).
	verified verifiedLogs
}

// New returns a service.
func New(store parley.Store, bus parley.Bus, log *slog.Logger, opts Options) *Service {
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = parley.DefaultSessionTTL
	}
	if opts.SignUpsPerAddress <= 0 {
		opts.SignUpsPerAddress = parley.DefaultSignUpsPerAddress
	}
	if opts.Clock == nil {
		opts.Clock = parley.WallClock{}
	}
	if opts.ReportMinPeople == 0 {
		opts.ReportMinPeople = parley.DefaultReportMinPeople
	}
	if opts.Secrets == nil {
		opts.Secrets = StoreSecrets{store}
	}
	return &Service{store: store, bus: bus, log: log, opts: opts, watch: newAccessWatch(), deliveries: newDeliveryLog(), links: &linkKey{}, devices: &deviceKey{}, hooks: newWebhooks(opts.WebhooksAllowPrivate)}
}

// SetPublicURL sets the server's public URL, which share links are on,
// once it is known; call it before the server serves.
func (s *Service) SetPublicURL(u string) { s.opts.PublicURL = strings.TrimSuffix(u, "/") }

// PublicURL returns the server's public URL, without a trailing slash.
func (s *Service) PublicURL() string { return s.opts.PublicURL }

// Now returns the time by the service's clock, which decides what has
// expired.
func (s *Service) Now() time.Time { return s.opts.Clock.Now() }

// publish delivers an event after its change is durable. A failure to
// deliver is logged, not returned: the change itself succeeded.
func (s *Service) publish(ctx context.Context, userIDs []string, ev parley.Event) {
	if err := s.bus.Publish(ctx, userIDs, ev); err != nil {
		s.log.ErrorContext(ctx, "publish event", "type", ev.Type, "err", err)
	}
}

// isNotFound reports whether err is ENOTFOUND.
func isNotFound(err error) bool { return parley.ErrorCode(err) == parley.ENOTFOUND }

// threadNotFound is the one answer for a thread that is absent or hidden.
func threadNotFound() error { return parley.Errorf(parley.ENOTFOUND, "thread not found") }

// memberThread returns the thread if the member currently takes part in it.
// It knows nothing of grants: calls an app can make go through visibleThread.
//
// In a write it reads the thread first, which holds its row until the
// write ends (on PostgreSQL), and only then the member's place in it: a
// change to the thread on another connection that holds the row (the
// member leaving it, say) has then committed, and the place read is as it
// left it, not as it was before.
func memberThread(ctx context.Context, tx parley.Tx, threadID, userID string) (*parley.Thread, *parley.Participant, error) {
	th, err := tx.FindThreadByID(ctx, threadID)
	if isNotFound(err) {
		return nil, nil, threadNotFound()
	} else if err != nil {
		return nil, nil, err
	}
	p, err := tx.FindParticipant(ctx, threadID, userID)
	if isNotFound(err) || err == nil && p.LeftAt != nil {
		return nil, nil, threadNotFound()
	} else if err != nil {
		return nil, nil, err
	}
	return th, p, nil
}
