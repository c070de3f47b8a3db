package app_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// Once the server's PostgreSQL database takes no connection (its
// connections cut, new ones refused), /readyz says not ready within a
// probe's timeout, and /healthz stays 200. The shared PostgreSQL server
// runs on: only this test's database is closed, then opened again.
func TestReadyz_DatabaseGone(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	if status, _, detail := readyz(t, env); status != http.StatusOK {
		t.Fatalf("/readyz before: %d %s", status, detail)
	}
	closeDatabase(t, env)
	start := time.Now()
	status, typ, detail := readyz(t, env)
	t.Logf("/readyz with the database gone: %d %s %q in %s", status, typ, detail, time.Since(start).Round(time.Millisecond))
	if status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database gone = %d, want 503", status)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("/readyz took %s", took)
	}
	mustStatus(t, env.URL+"/healthz", http.StatusOK)
}

// A page the server cannot answer for a failure of its own (here, no
// table found in its database) is logged with the request it failed, for
// the operator to find which page and what it could not do.
func TestPages_AFailureIsLoggedWithItsPage(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	breakDatabase(t, env)
	link := "/s/" + strings.Repeat("A", 43) // a link's shape, so that it is looked up
	resp, err := http.Get(env.URL + link)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 500 {
		t.Fatalf("a share link with the database gone = %d, want a server error", resp.StatusCode)
	}
	entries := env.LogEntries(t, "page error")
	if len(entries) != 1 {
		t.Fatalf("logged %d page errors, want 1:\n%s", len(entries), env.Logs)
	}
	if e := entries[0]; e["method"] != "GET" || e["path"] != link || e["err"] == "" {
		t.Errorf("the page error logged is %v, want its method, its path and its error", e)
	}
}

// A realtime stream that ends on a failure of the server's own is logged
// with whose it was: its member and its app. Here the app's token runs out
// a second after its stream opens, and the stream cannot look into its
// grant, no table being found in the database.
func TestEvents_AFailureIsLoggedWithWhoseStreamItWas(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	stream, partner := appStreamDueACheck(t, env)
	breakDatabase(t, env)
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := stream.Next(wait); err == nil || wait.Err() != nil {
		t.Fatalf("the stream did not end: %v", err)
	}
	entries := env.LogEntries(t, "realtime stream")
	if len(entries) != 1 {
		t.Fatalf("logged %d failed streams, want 1:\n%s", len(entries), env.Logs)
	}
	if e := entries[0]; e["user"] != "alice" || e["user_id"] == nil || e["client_id"] != partner.App.ClientID || e["err"] == nil {
		t.Errorf("the failed stream logged is %v, want alice's, the app's and its error", e)
	}
}

// appStreamDueACheck opens alice's stream through an app whose token runs
// out a second later, when the stream looks into the app's grant again,
// in the database, and returns it with the app.
func appStreamDueACheck(t *testing.T, env *apptest.Env) (*client.EventStream, *apptest.Partner) {
	t.Helper()
	env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Films")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	env.Clock.Advance(time.Until(tok.Expiry) - time.Second)
	stream, err := env.Client.WithToken(tok.AccessToken).Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stream.Close() })
	return stream, partner
}

// /readyz is public and asks no credentials, and its probe writes, to the
// one row (access_version) every app's request reads: however often it is
// asked, the server writes to the database for it at most once a second,
// and again each second it is still asked. Writes are counted by a
// trigger in the test's own database, hence PostgreSQL only.
func TestReadyz_ProbesTheDatabaseAtMostOnceASecond(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(env.Server.Config.Database)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{
		`CREATE TABLE probe_writes (n bigint NOT NULL)`,
		`INSERT INTO probe_writes VALUES (0)`,
		`CREATE FUNCTION count_probe_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE probe_writes SET n = n + 1; RETURN NEW; END $$`,
		`CREATE TRIGGER count_probe_write AFTER UPDATE ON access_version FOR EACH ROW EXECUTE FUNCTION count_probe_write()`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	writes := func() int64 {
		var n int64
		if err := conn.QueryRow(ctx, `SELECT n FROM probe_writes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := writes()
	requests := 0
	start := time.Now()
	for time.Since(start) < 2500*time.Millisecond {
		if status, _, detail := readyz(t, env); status != http.StatusOK {
			t.Fatalf("/readyz = %d %s", status, detail)
		}
		requests++
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	n := writes() - before
	t.Logf("%d requests in %s: %d writes", requests, took.Round(time.Millisecond), n)
	if most := int64(took/time.Second) + 1; n > most {
		t.Errorf("%d anonymous GET /readyz in %s wrote to the database %d times, want at most %d", requests, took.Round(time.Millisecond), n, most)
	}
	if n < 2 {
		t.Errorf("%d GET /readyz over %s wrote to the database %d times: a probe's result answered past its second", requests, took.Round(time.Millisecond), n)
	}
}

// When PostgreSQL stops answering without refusing (a network partition,
// a server stuck on its disk), /readyz still answers 503 within a probe's
// time, not as long as the silence lasts.
func TestReadyz_DatabaseSilent(t *testing.T) {
	t.Parallel() // it waits on the probe's bound most of its time
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env, proxy := startBehindProxy(t)
	if status, _, detail := readyz(t, env); status != http.StatusOK {
		t.Fatalf("/readyz before: %d %s", status, detail)
	}

	proxy.setPaused(true)
	// Deferred, so that it runs before the cleanups, which stop the
	// server: its stuck write must finish for it to close its store.
	defer proxy.setPaused(false)
	type answer struct {
		status int
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(env.URL + "/readyz")
		if err != nil {
			got <- answer{err: err}
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got <- answer{status: resp.StatusCode}
	}()
	select {
	case a := <-got:
		if a.err != nil || a.status != http.StatusServiceUnavailable {
			t.Fatalf("/readyz with PostgreSQL not answering: %d, %v; want 503", a.status, a.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("/readyz has not answered 15 s after PostgreSQL stopped answering: its probe of 5 s waits for the database")
	}
}

// startBehindProxy starts a server on PostgreSQL whose connections to its
// database go through a pausableProxy.
func startBehindProxy(t *testing.T, options ...func(*config.Config)) (*apptest.Env, *pausableProxy) {
	t.Helper()
	install := apptest.Install(t)
	u, err := url.Parse(install.Database)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startPausableProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	install.Database = u.String()
	options = append(options, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	return apptest.StartInstall(t, install, options...), proxy
}

// pausableProxy forwards TCP connections to target until paused; paused,
// it keeps every connection open but passes no byte either way, as a
// network partition, or a PostgreSQL server stuck on its disk, looks to
// a client.
type pausableProxy struct {
	ln     net.Listener
	mu     sync.Mutex
	paused bool
	cond   *sync.Cond
	conns  []net.Conn
}

func startPausableProxy(t *testing.T, target string) *pausableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pausableProxy{ln: ln}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go p.pipe(c, u)
			go p.pipe(u, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.setPaused(false)
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *pausableProxy) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.paused {
				p.cond.Wait()
			}
			p.mu.Unlock()
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			to.Close()
			return
		}
	}
}

func (p *pausableProxy) setPaused(paused bool) {
	p.mu.Lock()
	p.paused = paused
	p.cond.Broadcast()
	p.mu.Unlock()
}

// closeDatabase makes the test server's PostgreSQL database take no
// connection (its connections cut, new ones refused) until reopen, or the
// test's end; the shared PostgreSQL server runs on.
func closeDatabase(t *testing.T, env *apptest.Env) (reopen func()) {
	t.Helper()
	alter := alterDatabase(t, env)
	alter(`ALLOW_CONNECTIONS false`)
	t.Cleanup(func() { alter(`ALLOW_CONNECTIONS true`) })
	return func() { alter(`ALLOW_CONNECTIONS true`) }
}

// breakDatabase makes every statement of the test server's PostgreSQL
// database fail as a bug would, its connections cut and new ones made
// with a search_path that names no schema, so that no table is found.
func breakDatabase(t *testing.T, env *apptest.Env) {
	t.Helper()
	alterDatabase(t, env)(`SET search_path = nowhere`)
}

// alterDatabase returns a function that alters the test server's
// PostgreSQL database (ALTER DATABASE name change) and then ends its
// connections, so that the server's next ones are made as altered.
func alterDatabase(t *testing.T, env *apptest.Env) func(change string) {
	t.Helper()
	u, err := url.Parse(env.Server.Config.Database)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(admin.String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return func(change string) {
		if _, err := conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` `+change); err != nil {
			t.Error(err)
		}
		if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
			t.Error(err)
		}
	}
}
