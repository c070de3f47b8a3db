// Package apptest starts real Parley servers for tests: a temporary SQLite
// file, the full HTTP stack on a loopback port, and the public Go client.
//
// With PARLEY_TEST_DATABASE=postgres the servers keep their data in a
// database of their own in the PostgreSQL test server instead
// (sqlstoretest), so that a whole suite runs on PostgreSQL.
//
// A test binary that uses apptest hashes members' passwords at argon2id's
// least cost (password.UseLeastCostInTests): the servers do with hashes
// what they always do, without a third of the tests' CPU going to them.
package apptest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/password"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

func init() { password.UseLeastCostInTests() }

// Env is a running server.
type Env struct {
	Server *app.Server
	URL    string
	// Client is an anonymous client of the server; WithToken makes others
	// that share its connections. Every answer it gets from /api/v1 is
	// checked against the OpenAPI document (ConformingTransport), but in a
	// benchmark: the check runs in the server's process, and would be
	// counted in the CPU the benchmark measures.
	Client *client.Client
	// HTTP is the plain HTTP client under Client, for raw requests, with
	// the same checks.
	HTTP *http.Client
	// Logs holds everything the server logged, at debug level.
	Logs *SyncBuffer
	// Clock is the server's clock; Advance moves it on.
	Clock *Clock

	stop func() // shuts the server down, once
}

// Start runs a server until the test ends. Options adjust its config.
// With PARLEY_TEST_BUS=nats in the environment, its events go through
// NATS (see NATS), so that tests written for one node hold the NATS bus
// to the same behaviour.
func Start(tb testing.TB, options ...func(*config.Config)) *Env {
	tb.Helper()
	return StartInstall(tb, Install(tb), options...)
}

// StartInstall runs a server on the install cfg, made by the test, until
// the test ends, as Start does.
func StartInstall(tb testing.TB, cfg config.Config, options ...func(*config.Config)) *Env {
	tb.Helper()
	cfg.Addr = "127.0.0.1:0"
	// No load balancer sends a test's server anything: it stops at once,
	// though its /readyz was asked. The drain's own tests set the time.
	cfg.DrainTime = 0
	if os.Getenv("PARLEY_TEST_BUS") == "nats" {
		cfg.NATS = NATS(tb)
	}
	for _, o := range options {
		o(&cfg)
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(RecordLogs(logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	clock := &Clock{}
	srv, err := app.OpenServer(context.Background(), cfg, log, clock)
	if err != nil {
		tb.Fatal(err)
	}
	stop := Serve(tb, srv)
	var transport http.RoundTripper = &http.Transport{MaxIdleConnsPerHost: 64}
	if _, bench := tb.(*testing.B); !bench {
		transport = &ConformingTransport{Base: transport, Fail: tb.Errorf}
	}
	hc := &http.Client{Transport: transport}
	return &Env{Server: srv, URL: srv.URL(), Client: client.New(srv.URL()).WithHTTPClient(hc), HTTP: hc, Logs: logs, Clock: clock, stop: stop}
}

// Stop shuts the server down before the test ends, as an operator stops
// one, so that its data directory is free for a command or another server.
func (e *Env) Stop() { e.stop() }

// Serve binds srv's address and serves until the test ends, then shuts it
// down, within its configured time as `parley serve` does, and fails the
// test if that went wrong; stop shuts it down earlier.
func Serve(tb testing.TB, srv *app.Server) (stop func()) {
	tb.Helper()
	if err := srv.Listen(); err != nil {
		srv.Close()
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	stop = sync.OnceFunc(func() {
		ctx, cancel := context.WithTimeout(context.Background(), srv.Config.DrainTime+srv.Config.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	tb.Cleanup(stop)
	return stop
}

// Unlimited lifts the rate limits on /api/v1, for tests that call faster
// than anyone may.
func Unlimited(c *config.Config) { c.RateLimitApp, c.RateLimitMember = 0, 0 }

// Install returns the configuration of a new, empty install for the test:
// a data directory of its own and, on PostgreSQL (Engine), a database of
// its own. Commands and servers given it share its data.
//
// The database is a copy of one install the test binary made once with
// `parley db init`, as an install restored from a backup is: making the
// schema and the provider's RSA key took most of a test server's start.
// On SQLite the copy is of the database file (sqlstoretest.SQLiteCopy),
// on PostgreSQL of a database (postgresInstall, copied by
// sqlstoretest.PostgresCopy). The installs of one test binary share those
// keys and secrets, as no two installs elsewhere do; a test of what keys
// an install makes makes its own (`parley db init`).
//
// The package's TestMain must run its tests through sqlstoretest.Main,
// which drops the binary's install on PostgreSQL when they end.
func Install(tb testing.TB) config.Config {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	if Engine() == "postgres" {
		cfg.Database = withSmallPool(tb, sqlstoretest.PostgresCopy(tb, postgresInstall(tb)))
		return cfg
	}
	sqlstoretest.SQLiteCopy(tb, cfg.DatabasePath(), "install", func(dir string) (string, error) {
		cfg := config.Default()
		cfg.DataDir = dir
		return cfg.DatabasePath(), initDatabase(cfg)
	})
	return cfg
}

// testPoolSize is the most connections a test server keeps to its
// database on PostgreSQL, where a server's own default is 8. A server
// starting opens as many as it may at once, for its background jobs; each
// is a process PostgreSQL starts, which then reads its catalogs afresh,
// and that was most of what the API's tests cost PostgreSQL: with 4, the
// tests took four fifths of the time and three quarters of the CPU
// (2026-12-06). A server with fewer connections than requests waits for
// one, which the tests then also test.
const testPoolSize = 4

// withSmallPool is the database URL with a pool of testPoolSize
// connections.
func withSmallPool(tb testing.TB, database string) string {
	tb.Helper()
	u, err := url.Parse(database)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(testPoolSize))
	u.RawQuery = q.Encode()
	return u.String()
}

// postgresInstall returns the name of the test binary's install on
// PostgreSQL, made by `parley db init` in a database of its own.
func postgresInstall(tb testing.TB) string {
	tb.Helper()
	return sqlstoretest.Template(tb, "install", func(url string) error {
		cfg := config.Default()
		cfg.DataDir = tb.TempDir()
		cfg.Database = url
		return initDatabase(cfg)
	})
}

// initDatabase runs `parley db init` on cfg's data directory and database.
func initDatabase(cfg config.Config) error {
	args := []string{"db", "init", "--data", cfg.DataDir}
	if cfg.Database != "" {
		args = append(args, "--database", cfg.Database)
	}
	var out bytes.Buffer
	if err := app.Main(context.Background(), args, app.IO{Out: &out, Err: &out, Getenv: func(string) string { return "" }}); err != nil {
		return fmt.Errorf("parley db init: %w\n%s", err, out.String())
	}
	return nil
}

// Engine is the database engine test servers run on: "postgres" when
// PARLEY_TEST_DATABASE says so, otherwise "sqlite".
func Engine() string {
	if os.Getenv("PARLEY_TEST_DATABASE") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// Metric reads one series, such as `parley_http_requests_total{code="200",route="GET /healthz"}`,
// from the server's /metrics; a series absent reads as 0.
func (e *Env) Metric(tb testing.TB, series string) float64 {
	tb.Helper()
	v, _ := e.LookupMetric(tb, series)
	return v
}

// LookupMetric reads one series from the server's /metrics and reports
// whether it is there.
func (e *Env) LookupMetric(tb testing.TB, series string) (float64, bool) {
	tb.Helper()
	resp, err := http.Get(e.Server.MetricsURL() + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return f, true
		}
	}
	return 0, false
}

// Password is the password MustMember gives a member.
func Password(username string) string {
	pw := "password-of-" + username
	Secret(pw)
	return pw
}

// MustMember registers a member and returns a client signed in as them.
func (e *Env) MustMember(tb testing.TB, username string) *client.Client {
	tb.Helper()
	ctx := context.Background()
	if _, err := e.Client.CreateAccount(ctx, username, Password(username), "Member "+username); err != nil {
		tb.Fatalf("create %s: %v", username, err)
	}
	s, err := e.Client.SignIn(ctx, username, Password(username))
	if err != nil {
		tb.Fatalf("sign in %s: %v", username, err)
	}
	Secret(s.Token)
	return e.Client.WithToken(s.Token)
}

// MustFriends makes two members friends.
func MustFriends(tb testing.TB, a, b *client.Client) {
	tb.Helper()
	ctx := context.Background()
	bu := MustMe(tb, b)
	if _, err := a.AddFriend(ctx, bu.Username); err != nil {
		tb.Fatal(err)
	}
	if s, err := b.AddFriend(ctx, MustMe(tb, a).Username); err != nil || s.State != client.FriendAccepted {
		tb.Fatalf("accept: %+v, %v", s, err)
	}
}

// MustMe returns who c is signed in as.
func MustMe(tb testing.TB, c *client.Client) *client.User {
	tb.Helper()
	u, err := c.Me(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// MustThread starts a thread from c with the friends named.
func MustThread(tb testing.TB, c *client.Client, others ...string) *client.ThreadSummary {
	tb.Helper()
	th, err := c.CreateThread(context.Background(), client.NewThread{Participants: others})
	if err != nil {
		tb.Fatal(err)
	}
	return th
}

// MustSend posts a message.
func MustSend(tb testing.TB, c *client.Client, threadID, text string) *client.Message {
	tb.Helper()
	m, err := c.SendMessage(context.Background(), threadID, text, "")
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
