package app_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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
	u, err := url.Parse(env.Server.Config.Database)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	admin := *u
	admin.Path = "/postgres"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` ALLOW_CONNECTIONS true`)
	})
	if _, err := conn.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, name); err != nil {
		t.Fatal(err)
	}
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
