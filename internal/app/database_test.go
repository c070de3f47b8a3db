package app_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// An admin command given --database works on the PostgreSQL database `db
// init` made there, and
// a server on the same database, started from PARLEY_DATABASE, sees what
// it made; the data directory is left empty.
func TestCLI_DatabaseFlagReachesPostgres(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	dir := t.TempDir()
	if out, err := run(t, config.Config{DataDir: dir}, "", "db", "init", "--database", url); err != nil || !strings.Contains(out, "created the database") {
		t.Fatalf("db init: %q, %v", out, err)
	}
	out, err := run(t, config.Config{DataDir: dir}, "s3cret-password\n", "user", "add", "alice", "--password-stdin", "--database", url)
	if err != nil || !strings.Contains(out, "created alice") {
		t.Fatalf("user add: %q, %v", out, err)
	}
	cfg, err := config.FromEnv(func(k string) string { return map[string]string{"PARLEY_DATABASE": url}[k] })
	if err != nil || cfg.Database != url || cfg.Engine() != "postgres" {
		t.Fatalf("PARLEY_DATABASE: %+v, %v", cfg, err)
	}
	env := apptest.Start(t, func(c *config.Config) { c.DataDir = dir; c.Database = cfg.Database })
	if _, err := env.Client.SignIn(context.Background(), "alice", "s3cret-password"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, config.Config{DataDir: dir}, "", "user", "list", "--database", url); err != nil || !strings.Contains(out, "alice") {
		t.Fatalf("user list beside the server: %q, %v", out, err)
	}
	if files, err := os.ReadDir(dir); err != nil || len(files) != 0 {
		t.Fatalf("the data directory holds %v (%v); want nothing", files, err)
	}
	if _, err := run(t, config.Config{DataDir: t.TempDir()}, "", "user", "list", "--database", "mysql://x"); err == nil || strings.Contains(err.Error(), "mysql://x") {
		t.Fatalf("a URL that is not PostgreSQL's: %v; want a refusal that does not repeat the URL", err)
	}
}
