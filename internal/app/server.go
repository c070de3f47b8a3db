// Package app assembles Parley from its parts and runs its commands. It is
// the only package that knows every other one; nothing imports it but
// cmd/parley and end-to-end tests.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/health"
	"github.com/parleyhq/parley/internal/httpapi"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/web"
	"github.com/parleyhq/parley/internal/webhook"
	"github.com/prometheus/client_golang/prometheus"
)

// Server is a Parley server: store, bus, service and HTTP, wired together.
type Server struct {
	Config  config.Config
	Store   *sqlstore.DB
	Service *service.Service
	// Limits is the server's share of the rate limits on /api/v1 and the
	// pages' forms.
	Limits *ratelimit.Limiter

	// limits are the members' and apps' policies, which the API and the
	// pages apply.
	limits  httpapi.Limits
	log     *slog.Logger
	bus     eventBus
	keys    *oauth.Keys
	api     *httpapi.Server
	metrics *httpapi.Metrics
	http    *http.Server
	ln      net.Listener
	// drain takes the server out of its load balancer before it stops.
	drain *drain
	// relay delivers the events of commands to this node's streams; Listen
	// starts it.
	relay *bus.Relay
	// metricsHTTP serves /metrics on metricsLn when the config gives it
	// an address of its own; both are nil otherwise.
	metricsHTTP *http.Server
	metricsLn   net.Listener
	// stopChores ends the background chores Listen starts; chores waits
	// for them.
	stopChores context.CancelFunc
	chores     sync.WaitGroup
	// hooks delivers webhooks, a chore Shutdown stops first, letting
	// the attempts under way finish.
	hooks *webhook.Worker
}

// expiryInterval is how often the server ends grants that ran out and logs
// their expiry.
const expiryInterval = time.Minute

// reportInterval is how often the server looks whether a fortnight ended
// whose share reports are due by webhook.
const reportInterval = time.Hour

// webhookWorkers is how many webhook workers each node runs. Every node
// runs them: each delivery is taken by one worker of all nodes'.
const webhookWorkers = 2

// webhookPruneInterval is how often the server deletes webhook deliveries
// older than parley.WebhookHistoryKept.
const webhookPruneInterval = time.Hour

// webhookEventsInterval is how often the server reads which events webhook
// endpoints subscribe to.
const webhookEventsInterval = time.Second

// relayInterval is how often the server relays the events commands kept
// in the store to its streams (bus.Relay): well within bus.OutboxKeep.
const relayInterval = time.Second

// accessCheckInterval is how often the server looks whether access ended
// through another process, to end the realtime streams it concerns.
const accessCheckInterval = time.Second

// sessionCheckInterval is how often the server asks the store whether the
// sessions of its members' realtime streams still last, to end the streams
// of those that ended through another process.
const sessionCheckInterval = 2 * time.Second

// OpenServer opens the store and assembles the server, which tells the time
// by clock, without listening yet. On the embedded database it fails while
// another server has the data directory open; any number of servers may
// share a PostgreSQL database.
func OpenServer(ctx context.Context, cfg config.Config, log *slog.Logger, clock parley.Clock) (*Server, error) {
	return openServer(ctx, cfg, log, clock, asServer)
}

// openAs says what openServer opens a server for.
type openAs int

const (
	// asServer: a server, which creates and upgrades the store and makes
	// the provider's keys on first start.
	asServer openAs = iota
	// asNodeBeside: a second server on the embedded database of a running
	// one, which opens the store as commands do and reads the keys.
	asNodeBeside
	// asCommand: a command beside a server, which opens the store as it
	// is. It opens no access tokens and never reads the keys, nor the
	// server's secrets kept with them, so it needs neither the keys file
	// nor the wrap key, and makes no keys where the server keeps none.
	asCommand
	// asCommandAlone: a command the servers must be stopped for, such as
	// moving the keys: as asCommand, but on the embedded database it is
	// refused while a server runs on it (on PostgreSQL nothing tells).
	asCommandAlone
)

// openServer assembles a server on the configured store; beside a server
// (asNodeBeside, asCommand), it opens the embedded database without taking
// it from the server, and only a database whose schema is this binary's,
// creating and upgrading nothing.
func openServer(ctx context.Context, cfg config.Config, log *slog.Logger, clock parley.Clock, as openAs) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var store *sqlstore.DB
	var err error
	switch as {
	case asCommandAlone:
		store, err = openStoreWith(ctx, cfg, log, sqlstore.Current, false)
	case asCommand:
		store, err = openCommandStore(ctx, cfg, log)
	default:
		store, err = openStore(ctx, cfg, log, as != asServer)
	}
	if err != nil {
		return nil, err
	}
	var keys *oauth.Keys
	var opener service.TokenOpener
	var secrets service.SecretKeeper = noSecrets{}
	if as == asServer || as == asNodeBeside {
		if keys, err = loadKeys(ctx, cfg, store, clock, as == asServer); err != nil {
			store.Close()
			return nil, err
		}
		secrets, opener = keys, keys
		if cfg.KeysFile != "" {
			secrets = service.StoreSecrets{Store: store}
		}
	}
	events, err := openBus(ctx, cfg, log, as, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	metrics := httpapi.NewMetrics()
	limiter := ratelimit.New(store, clock, log)
	svc := service.New(store, events, log, service.Options{
		OpenRegistration:     cfg.Registration == config.RegistrationOpen,
		SessionTTL:           cfg.SessionTTL,
		SignUpsPerAddress:    cfg.SignUpsPerAddress,
		AccessTokens:         opener,
		Secrets:              secrets,
		Clock:                clock,
		PublicURL:            cfg.PublicURL,
		ReportMinPeople:      cfg.ReportMinPeople,
		WebhooksAllowPrivate: cfg.WebhooksAllowPrivate,
		AppsRequireReview:    cfg.AppsRequireReview,
		Limiter:              limiter,
		RateLimited:          metrics.RateLimited,
		SignInFailed:         metrics.SignInFailed,
	})
	dataDir := cfg.DataDir
	if cfg.Database != "" {
		dataDir = "" // PostgreSQL's disk is its server's
	}
	monitor := health.New(store, dataDir, uint64(cfg.MinFreeDiskMiB)<<20, clock, log)
	metrics.Registry.MustRegister(monitor, buildInfo())
	if nb, ok := events.(*bus.NATS); ok {
		metrics.Registry.MustRegister(natsMetrics(nb)...)
	}
	limits := httpapi.Limits{
		Limiter: limiter,
		App:     ratelimit.Policy{Name: "app", Rate: cfg.RateLimitApp, Burst: cfg.RateLimitAppBurst},
		Member:  ratelimit.Policy{Name: "member", Rate: cfg.RateLimitMember, Burst: cfg.RateLimitMemberBurst},
		Refused: metrics.RateLimited,
	}
	drain := &drain{}
	api := httpapi.NewServer(svc, log, metrics, limits, drain.ready(monitor.Ready))
	hs := newHTTPServer(log)
	// Shutdown waits for requests but not for hijacked connections: the
	// realtime ones are told to close when it begins.
	hs.RegisterOnShutdown(api.CloseRealtime)
	srv := &Server{Config: cfg, Store: store, Service: svc, Limits: limiter, limits: limits, log: log, bus: events, keys: keys, api: api, metrics: metrics, http: hs, drain: drain}
	if cfg.MetricsAddr != "" {
		srv.metricsHTTP = newHTTPServer(log)
	}
	return srv, nil
}

// newHTTPServer returns an HTTP server with the timeouts and limits every
// listener of Parley's has.
func newHTTPServer(log *slog.Logger) *http.Server {
	return &http.Server{
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// eventBus is a bus the server closes when it stops.
type eventBus interface {
	parley.Bus
	Close() error
}

// localBus is a server's bus, which delivers to this node's subscriptions
// alone what it is handed so.
type localBus interface {
	eventBus
	bus.Local
}

// openBus returns a command's bus or a server's.
//
// A command never connects to NATS, whatever the config names: its bus is
// the store's outbox, which every server relays to its own streams within
// relayInterval, with NATS or without (Listen), so its events reach every
// node either way, a second or so late. A command that only reads (user
// list, audit, access-log verify) thus runs while NATS is out of reach,
// and one that changes something does its change and leaves its events in
// the database, as a server does with those it cannot publish.
//
// A server's bus is NATS, across nodes, when the config names a NATS
// server, and otherwise the in-process bus.
func openBus(ctx context.Context, cfg config.Config, log *slog.Logger, as openAs, store *sqlstore.DB) (eventBus, error) {
	switch {
	case as == asCommand || as == asCommandAlone:
		return bus.NewOutbox(store), nil
	case cfg.NATS != "":
		return bus.NewNATS(ctx, cfg.NATS, bus.NATSOptions{Log: log, Store: store})
	}
	return bus.NewMemory(bus.DefaultBuffer), nil
}

// natsMetrics are the collectors of a node's link to NATS. A node that
// lost NATS stays ready (/readyz): it still stores every change, and NATS
// is shared by every node, so taking the node out of a load balancer
// would take them all out at once. The metrics are where an alert on it
// looks.
// buildInfo is the parley_build_info gauge, 1, labelled with the version
// `parley --version` prints and the schema the binary expects.
func buildInfo() prometheus.Collector {
	v, _ := build()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "parley_build_info", Help: "1, labelled with the running parley's version and the database schema it expects.",
		ConstLabels: prometheus.Labels{"version": v, "schema": strconv.FormatInt(sqlstore.SchemaVersion(), 10)},
	})
	g.Set(1)
	return g
}

func natsMetrics(b *bus.NATS) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_nats_connected", Help: "1 while the node holds a connection to NATS, else 0.",
		}, func() float64 {
			if b.Connected() {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "parley_events_unpublished_total", Help: "Realtime events the node failed to send on through NATS: kept in the database for every node's relay, or, if that failed too, told to no connection.",
		}, func() float64 { return float64(b.Unpublished()) }),
	}
}

// openStore opens the PostgreSQL database the configuration names, or else
// the embedded one: as a server, creating and upgrading it, or beside one,
// as it is. An upgrade is logged, since on PostgreSQL it happens under the
// older servers still running on the database, whose /readyz it turns 503.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, beside bool) (*sqlstore.DB, error) {
	if beside {
		return openStoreWith(ctx, cfg, log, sqlstore.Current, true)
	}
	db, err := openStoreWith(ctx, cfg, log, sqlstore.CreateOrUpgrade, false)
	if err != nil {
		return nil, err
	}
	if u := db.Upgraded(); u != (sqlstore.SchemaUpgrade{}) {
		log.Info("upgraded the database schema", "from", u.From, "to", u.To)
	}
	return db, nil
}

// openCommandStore opens the store for a command, beside a server if one
// runs. On the embedded database with no server running, it first opens
// it as a server does, moves into the access log the reads a crash left in
// the journal, as the server would at its start, and closes it again: what
// the command then appends to a member's log comes after those reads, in
// the order things happened, and a damaged journal stops the command as it
// stops the server. The journal is held only for that moment, so that a
// command waiting for its operator keeps no server from starting. Beside a
// running server the journal is the server's, which folds it.
func openCommandStore(ctx context.Context, cfg config.Config, log *slog.Logger) (*sqlstore.DB, error) {
	if cfg.Database == "" {
		alone, err := openStoreWith(ctx, cfg, log, sqlstore.Current, false)
		switch {
		case errors.Is(err, sqlstore.ErrInUse):
		case err != nil:
			return nil, err
		default:
			if err := errors.Join(alone.FoldJournal(ctx), alone.Close()); err != nil {
				return nil, err
			}
		}
	}
	return openStoreWith(ctx, cfg, log, sqlstore.Current, true)
}

// noSecrets is the secret keeper of a command beside a server, which reads
// neither the keys nor the secrets kept with them: none of its calls needs
// one, and one made beside the keys would not be the servers'.
type noSecrets struct{}

func (noSecrets) Secret(_ context.Context, name string, _ func() ([]byte, error)) ([]byte, error) {
	return nil, fmt.Errorf("a command beside the server does not read its secrets (%s)", name)
}

// keyPlace is where the configuration keeps the provider's keys.
func keyPlace(cfg config.Config, store parley.Store) (oauth.KeyPlace, error) {
	wrap, err := cfg.WrapKey()
	switch {
	case err != nil:
		return nil, err
	case cfg.KeysFile != "" && wrap != nil:
		return nil, errors.New("set either --keys-file or PARLEY_KEYS_WRAP_KEY, not both: the wrap key wraps keys kept in the database")
	case cfg.KeysFile != "":
		return oauth.FileKeys(cfg.KeysFile, store), nil
	}
	return oauth.DatabaseKeys(store, wrap), nil
}

// loadKeys loads the provider's keys from where the configuration keeps
// them, making them, with create, if there are none yet.
func loadKeys(ctx context.Context, cfg config.Config, store parley.Store, clock parley.Clock, create bool) (*oauth.Keys, error) {
	place, err := keyPlace(cfg, store)
	if err != nil {
		return nil, err
	}
	return oauth.LoadKeys(ctx, place, clock, create)
}

// openStoreWith opens the configured store doing what schema says, and
// turns a refusal into what the operator should do.
func openStoreWith(ctx context.Context, cfg config.Config, log *slog.Logger, schema sqlstore.Schema, beside bool) (*sqlstore.DB, error) {
	var db *sqlstore.DB
	var err error
	where := "in " + config.RedactDir(cfg.DataDir) + " (check --data)"
	if cfg.Database != "" {
		where = "at --database"
		db, err = sqlstore.OpenPostgresWith(ctx, cfg.Database, schema)
	} else {
		db, err = sqlstore.OpenSQLiteWith(ctx, cfg.DatabasePath(), sqlstore.SQLiteOptions{Schema: schema, Beside: beside, Log: log})
	}
	if se, ok := errors.AsType[*sqlstore.SchemaError](err); ok {
		if se.Database > se.Binary {
			return nil, &schemaRefusal{se, fmt.Sprintf("the database is at schema %d, made by a newer parley; this parley expects %d: run the newer parley, or restore the backup made before it upgraded", se.Database, se.Binary)}
		}
		return nil, &schemaRefusal{se, fmt.Sprintf("the database is at schema %d, this parley expects %d: run `parley db upgrade` (back up first)", se.Database, se.Binary)}
	}
	if err == nil && cfg.Database != "" {
		if folds, ferr := db.FoldsCase(ctx); ferr == nil && !folds {
			log.Warn("the database's LC_CTYPE lowers ASCII letters only, so search matches other letters (É, Σ, Ж) only in the case typed: create the database with a UTF-8 locale (README, PostgreSQL)")
		}
	}
	switch {
	case errors.Is(err, sqlstore.ErrNoDatabase):
		return nil, fmt.Errorf("there is no parley database %s: create one with `parley db init`, or start `parley serve`, which creates it", where)
	case errors.Is(err, sqlstore.ErrDatabaseExists):
		return nil, fmt.Errorf("there is a parley database %s already", where)
	}
	return db, err
}

// schemaRefusal is openStoreWith's refusal of a database whose schema is
// not the binary's: what the operator should do, and the schemas.
type schemaRefusal struct {
	*sqlstore.SchemaError
	advice string
}

func (e *schemaRefusal) Error() string { return e.advice }

func (e *schemaRefusal) Unwrap() error { return e.SchemaError }

// maxProviderBody bounds the body of a request to the OAuth provider: its
// forms hold a code, a token or client credentials, a few kilobytes.
const maxProviderBody = 64 << 10

// Listen binds the configured address (with port 0 the system picks one),
// and the metrics address if one is set, assembles the handlers, which
// need the public URL (by default, the address just bound), and starts the
// background chores. When it fails after binding, it closes what it bound.
func (s *Server) Listen() (err error) {
	if s.ln, err = net.Listen("tcp", s.Config.Addr); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	defer func() {
		if err != nil {
			s.closeListeners()
		}
	}()
	if s.metricsHTTP != nil {
		if s.metricsLn, err = net.Listen("tcp", s.Config.MetricsAddr); err != nil {
			return fmt.Errorf("listen for metrics: %w", err)
		}
	}
	publicURL := s.Config.PublicURL
	if publicURL == "" {
		publicURL = s.URL()
	}
	s.Service.SetPublicURL(publicURL)
	// Started before any stream can open, so that it takes the commands'
	// events kept until now as older than every stream (bus.StartRelay).
	local, ok := s.bus.(localBus)
	if !ok {
		return errors.New("a server opened for a command does not listen")
	}
	if s.relay, err = bus.StartRelay(context.Background(), s.Store, local, s.log, time.Now); err != nil {
		return fmt.Errorf("read the commands' events: %w", err)
	}
	if err = s.buildHandlers(publicURL); err != nil {
		return err
	}
	s.startChores()
	return nil
}

// buildHandlers assembles the handlers of the server's listeners and sets
// them: the API, the OAuth provider at publicURL and the pages on the main
// listener, and /metrics on the metrics listener if there is one, else on
// the main.
func (s *Server) buildHandlers(publicURL string) error {
	provider, err := oauth.New(publicURL, s.Service, s.keys, s.limits, s.log)
	if err != nil {
		return err
	}
	pages, err := web.New(context.Background(), s.Service, provider, s.limits, s.log)
	if err != nil {
		return err
	}
	// The API counts and logs its own requests; the provider's and the
	// pages' are counted and logged here, as its are.
	// The provider's forms are read whole, by net/http up to 10 MB each:
	// they are bounded here, as the API's bodies and the pages' are, around
	// the counting, which reads the route from the request it passes on.
	bounded := http.MaxBytesHandler(s.metrics.Instrument(s.log, provider), maxProviderBody)
	// The pages take every path no other surface serves: a person's
	// mistyped address gets a page, not a problem in JSON.
	mux := http.NewServeMux()
	notFound := s.metrics.Instrument(s.log, pages)
	mux.Handle("/", notFound)
	mux.Handle(httpapi.HealthPath, s.api)
	mux.Handle(httpapi.ReadyPath, s.api)
	mux.Handle(oauth.DiscoveryPath, bounded)
	mux.Handle(oauth.PathPrefix, bounded)
	for _, path := range web.ProviderPaths() {
		mux.Handle(path, s.metrics.Instrument(s.log, pages))
	}
	metrics := s.metrics.Instrument(s.log, s.metrics.Handler())
	if s.metricsHTTP != nil {
		// Only there: the main listener answers /metrics 404, like any
		// path it does not serve.
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", metrics)
		s.metricsHTTP.Handler = mm
	} else {
		// Only to a scraper on this machine: the counts of requests by
		// route tell, on a quiet server, one member's actions as they come
		// (a share link's one visit, which the app's report hides), which
		// is no stranger's to read. Anyone else finds no such page.
		mux.Handle("GET /metrics", fromThisMachine(metrics, notFound))
	}
	// The API answers every path under its prefix itself: ServeMux would
	// redirect an unclean one (/api/v1//threads) to its clean form, before
	// authentication and without a problem. So would it one under the
	// provider's (/oauth2//token), which its clients would follow with
	// their form, secrets and all, and one that cleans to either
	// (//api/v1/threads): each is not found, as the API's is.
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The API's bodies and answers, the pages' and the provider's
		// alike, whatever the request's headers say. A realtime
		// connection, which outlives any such deadline, is rid of them
		// when its handshake hijacks the connection (net/http clears its
		// deadlines then, and the write deadline after every answer).
		rc := http.NewResponseController(w)
		if d := s.Config.BodyTimeout; d > 0 && r.Body != http.NoBody {
			// Only for a body: net/http lifts the deadline when the body
			// is read whole, and then reads on, for the next request or
			// the client's going away; a deadline passing during that
			// read would cancel the request, and the work of a long
			// answer (an export) with it.
			rc.SetReadDeadline(time.Now().Add(d))
		}
		if d := s.Config.AnswerTimeout; d > 0 {
			rc.SetWriteDeadline(time.Now().Add(d))
		}
		if strings.HasPrefix(r.URL.Path, httpapi.PathPrefix) {
			s.api.ServeHTTP(w, r)
			return
		}
		if forMachines(r.URL.Path) && httpapi.NotClean(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
	s.http.Handler = s.drain.handler(httpapi.WithClientAddr(root, s.Config.Proxies()))
	return nil
}

// fromThisMachine returns a handler that serves a request with h when it
// comes straight from this machine, a loopback peer that relays no one
// (no X-Forwarded-For, Forwarded or X-Real-IP: a proxy on this machine
// passing a request on says whose it is), and with other otherwise.
func fromThisMachine(h, other http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, err := netip.ParseAddrPort(r.RemoteAddr)
		relayed := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != "" || r.Header.Get("X-Real-IP") != ""
		if err == nil && peer.Addr().Unmap().IsLoopback() && !relayed {
			h.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}

// forMachines reports whether p, clean or not, is a path of the API or
// the provider, or one of the checks or /metrics (//api/v1/threads,
// /oauth2//token, //healthz): what programs call, which an unclean path of
// finds no endpoint rather than a redirect to the clean one. A page's
// unclean path is redirected, as for a person who mistyped it.
func forMachines(p string) bool {
	clean := path.Clean(p)
	switch clean {
	case httpapi.HealthPath, httpapi.ReadyPath, oauth.DiscoveryPath, "/metrics":
		return true
	}
	return strings.HasPrefix(clean+"/", httpapi.PathPrefix) || strings.HasPrefix(clean+"/", oauth.PathPrefix)
}

// startChores starts the background chores, which run until Shutdown or
// Close (waitChores).
func (s *Server) startChores() {
	ctx, stop := context.WithCancel(context.Background())
	s.stopChores = stop
	s.every(ctx, "end expired grants", expiryInterval, s.endExpiredGrants)
	// Every node checks access, and must: it only reads the store's access
	// version and wakes the app streams this node holds, so it is
	// idempotent and no node can do it for another.
	s.every(ctx, "check access", accessCheckInterval, s.Service.CheckAccess)
	// Every node asks whether the sessions of its member streams still
	// last, and must: it only reads, and ends the streams this node holds.
	// Sessions ended through this node, or through any node over NATS, end
	// their streams at once by an event; this is for the others: a command,
	// whose event comes through the relay, a node without NATS, an event
	// lost.
	s.every(ctx, "check sessions", sessionCheckInterval, s.Service.CheckSessions)
	// Every node reads which events webhook endpoints subscribe to, and
	// must: it keeps what it read in this node, whose sends skip looking
	// for endpoints to tell while no endpoint subscribes to their event.
	s.every(ctx, "read webhook events", webhookEventsInterval, s.Service.RefreshWebhookEvents)
	// Every node relays the events of commands, which never publish
	// through NATS (openBus), to the streams it holds, and must: no node
	// can deliver to another's.
	s.every(ctx, "relay commands' events", relayInterval, s.relay.Run)
	s.every(ctx, "send fortnight reports", reportInterval, s.sendFortnightReports)
	s.every(ctx, "prune webhook history", webhookPruneInterval, s.pruneWebhookHistory)
	// Every node reads the provider's keys again, taking in rotations made
	// by `parley keys rotate`, and must: it only reads, into this node. A
	// rotated key is used only oauth.KeyPublishDelay after it was made, by
	// when every node has read it.
	s.every(ctx, "read keys", oauth.KeyReloadInterval, s.ReloadKeys)
	s.keep(ctx, "sync rate limits", s.Limits.Run)
	// Two workers, so that one sends while the other takes and records.
	s.hooks = &webhook.Worker{Queue: s.Service, Sender: webhook.NewSender(s.Service.Guard()), Log: s.log}
	for range webhookWorkers {
		s.keep(ctx, "deliver webhooks", s.hooks.Run)
	}
}

// closeListeners closes what Listen bound, when it fails after binding.
func (s *Server) closeListeners() {
	s.ln.Close()
	if s.metricsLn != nil {
		s.metricsLn.Close()
	}
}

// URL is the server's base URL once it listens (config.ListenURL).
func (s *Server) URL() string { return config.ListenURL(s.ln.Addr().String()) }

// MetricsURL is the base URL of the listener of /metrics once the server
// listens: the metrics address's when one is set, else URL's.
func (s *Server) MetricsURL() string {
	if s.metricsLn != nil {
		return config.ListenURL(s.metricsLn.Addr().String())
	}
	return s.URL()
}

// Serve answers requests until Shutdown.
func (s *Server) Serve() error {
	where := slog.String("data", config.RedactDir(s.Config.DataDir))
	if s.Config.Database != "" {
		where = slog.Attr{} // no data directory: slog leaves an empty attribute out
	}
	v, _ := build()
	s.log.Info("parley serving", "version", v, "schema", sqlstore.SchemaVersion(), "addr", s.ln.Addr().String(), "metrics", s.MetricsURL(), "database", s.Config.Engine(), where, "registration", s.Config.Registration)
	metricsDone := make(chan error, 1)
	if s.metricsHTTP != nil {
		go func() { metricsDone <- s.metricsHTTP.Serve(s.metricsLn) }()
	} else {
		metricsDone <- http.ErrServerClosed
	}
	err := s.http.Serve(s.ln)
	if !errors.Is(err, http.ErrServerClosed) {
		// The main listener failed: the metrics one goes with it.
		s.closeMetrics()
	}
	if merr := <-metricsDone; !errors.Is(merr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("metrics: %w", merr))
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// closeMetrics closes the metrics listener's server, if there is one.
func (s *Server) closeMetrics() error {
	if s.metricsHTTP == nil {
		return nil
	}
	return s.metricsHTTP.Close()
}

// every runs chore, a background chore the log calls what, at start and
// then every interval, until ctx ends. A round that panics is a failure of
// that round, logged, not the end of the node: the next round runs.
func (s *Server) every(ctx context.Context, what string, interval time.Duration, chore func(context.Context) error) {
	s.chores.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if err := runChore(ctx, chore); err != nil {
				s.choreFailed(ctx, what, err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
}

// keep runs run, a background loop the log calls what, until ctx ends,
// starting it again a second after it panics: the panic is logged, and
// does not end the node.
func (s *Server) keep(ctx context.Context, what string, run func(context.Context)) {
	s.chores.Go(func() {
		for {
			err := runChore(ctx, func(ctx context.Context) error { run(ctx); return nil })
			if err == nil || ctx.Err() != nil {
				return
			}
			s.choreFailed(ctx, what, err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	})
}

// runChore runs one round of a chore, turning a panic into its error,
// with the stack where it happened.
func runChore(ctx context.Context, chore func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return chore(ctx)
}

// endExpiredGrants ends grants that ran out, and logs how many.
//
// Every node runs it; the runs need no coordination. Each batch is one
// write transaction whose FindExpiredGrants returns only grants not yet
// ended, so a grant another node ended is not found again: SQLite has one
// writer at a time, and a store of several nodes must hold the grants it
// returns for the transaction and skip those another holds (on
// PostgreSQL, SELECT … FOR UPDATE SKIP LOCKED). Each grant is then ended
// and logged once, by one node, whose grants.ended event the bus carries
// to every node.
func (s *Server) endExpiredGrants(ctx context.Context) error {
	n, err := s.Service.EndExpiredGrants(ctx)
	if n > 0 {
		s.log.Info("ended expired grants", "count", n)
	}
	return err
}

// sendFortnightReports sends each app due it the share report of the last
// fortnight that ended, and logs to how many.
//
// Every node runs it; the runs need no coordination. Each app's report is
// marked sent, in the store, in the write that enqueues it, and the mark
// of one app and fortnight is inserted once, whichever node tries first:
// the others find it marked and send nothing. A fortnight that ended while
// no node ran is sent at the next start.
func (s *Server) sendFortnightReports(ctx context.Context) error {
	n, err := s.Service.SendFortnightReports(ctx)
	if n > 0 {
		s.log.Info("sent fortnight share reports", "apps", n)
	}
	return err
}

// pruneWebhookHistory deletes the webhook deliveries, with their attempts,
// kept for parley.WebhookHistoryKept, and logs how many.
//
// Every node runs it; the runs need no coordination: each deletes, a batch
// a write, deliveries that no other run holds at that moment, and one that
// finds none left deletes nothing.
func (s *Server) pruneWebhookHistory(ctx context.Context) error {
	n, err := s.Service.PruneWebhookHistory(ctx)
	if n > 0 {
		s.log.Info("pruned webhook history", "deliveries", n)
	}
	return err
}

// ReloadKeys reads the provider's keys again, as the server does every
// oauth.KeyReloadInterval.
func (s *Server) ReloadKeys(ctx context.Context) error { return s.keys.Reload(ctx) }

// choreFailed logs a background chore's failure, if it is worth logging
// (parley.WorthLogging).
func (s *Server) choreFailed(ctx context.Context, chore string, err error) {
	if parley.WorthLogging(ctx, err) {
		s.log.Error(chore, "err", err)
	}
}

// Shutdown drains the server (see drain; for the config's DrainTime, if a
// load balancer watches it), stops taking requests, lets those in flight
// finish, ends realtime connections, telling their clients why, and
// background chores, and closes the store, so every acknowledged write is
// on disk. When ctx ends first, what is still in flight is cut off.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.drain.begin() && s.Config.DrainTime > 0 {
		s.log.Info("draining: /readyz answers 503 before the server stops taking requests", "for", s.Config.DrainTime)
		wait(ctx, s.Config.DrainTime)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Config.ShutdownTimeout)
	defer cancel()
	cut, err := stopServing(ctx, s.http)
	if cut {
		s.log.Warn("requests still in flight at the end of the shutdown were cut off")
	}
	if s.metricsHTTP != nil {
		_, merr := stopServing(ctx, s.metricsHTTP)
		err = errors.Join(err, merr)
	}
	if s.hooks != nil {
		s.hooks.Stop(ctx) // lets the webhook attempts under way finish, and records them
	}
	s.waitChores()
	// Realtime streams are told the server shuts down before the bus ends
	// their subscriptions (http.Server runs CloseRealtime on a goroutine
	// of its own), so that none takes the end for having fallen behind.
	s.api.CloseRealtime()
	if s.api.WaitRealtime(ctx) != nil {
		s.log.Warn("realtime streams still closing at the end of the shutdown were cut off")
	}
	return errors.Join(err, s.bus.Close(), s.Store.Close())
}

// stopServing shuts srv down, letting the requests in flight finish until
// ctx ends, and then cuts the connections of those still going, reporting
// that it did. A client still sending its body, or still reading a long
// answer, must not hold the stop, nor make it a failure: what it sends
// was never acknowledged.
func stopServing(ctx context.Context, srv *http.Server) (cut bool, err error) {
	if err := srv.Shutdown(ctx); err == nil || ctx.Err() == nil {
		return false, err
	}
	return true, srv.Close()
}

// Close releases the server's resources without waiting for requests.
func (s *Server) Close() error {
	err := errors.Join(s.http.Close(), s.closeMetrics())
	s.waitChores()
	return errors.Join(err, s.bus.Close(), s.Store.Close())
}

// waitChores stops the background chores, if Listen started them, and waits
// for them to end.
func (s *Server) waitChores() {
	if s.stopChores != nil {
		s.stopChores()
		s.chores.Wait()
	}
}
