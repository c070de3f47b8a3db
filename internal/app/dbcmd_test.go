package app_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// adminCommands are commands that work on an install's data without being
// allowed to create or upgrade its database.
var adminCommands = map[string][]string{
	"UserList":        {"user", "list"},
	"UserAdd":         {"user", "add", "alice", "--password-stdin"},
	"AppList":         {"app", "list"},
	"AppSuspend":      {"app", "suspend", "some-client"},
	"AccessLogVerify": {"access-log", "verify", "alice"},
}

// blankInstall is an install with no database: a data directory with
// nothing in it and, on PostgreSQL, an empty schema.
func blankInstall(t *testing.T) config.Config {
	cfg := config.Config{DataDir: t.TempDir()}
	if apptest.Engine() == "postgres" {
		cfg.Database = sqlstoretest.PostgresURL(t)
	}
	return cfg
}

// olderInstall is an install whose database an older parley made: its
// schema is one migration behind this binary's.
func olderInstall(t *testing.T) config.Config {
	cfg := blankInstall(t)
	where := cfg.Database
	if where == "" {
		where = cfg.DatabasePath()
	}
	if err := sqlstore.CreateAtSchema(context.Background(), where, sqlstore.SchemaVersion()-1); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A mistyped --data is an error for every admin command, not a new empty
// install: nothing is created.
func TestCLI_RefusesMissingDatabase(t *testing.T) {
	for name, args := range adminCommands {
		t.Run(name, func(t *testing.T) {
			cfg := blankInstall(t)
			cfg.DataDir = filepath.Join(cfg.DataDir, "mistyped")
			_, err := run(t, cfg, "long-enough-password\n", args...)
			if err == nil || !strings.Contains(err.Error(), "no parley database") || !strings.Contains(err.Error(), "parley db init") {
				t.Fatalf("err = %v; want a refusal naming `parley db init`", err)
			}
			if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
				t.Fatalf("the mistyped data directory was created (%v)", err)
			}
			if cfg.Database != "" {
				if _, err := run(t, cfg, "", "db", "upgrade"); err == nil || !strings.Contains(err.Error(), "no parley database") {
					t.Fatalf("the empty schema was given a database: %v", err)
				}
			}
		})
	}
}

// passwordURL is a PostgreSQL URL with a password, as it is given to
// --database or PARLEY_DATABASE, and, by a slip, to --data or PARLEY_DATA.
const passwordURL = "postgres://parley:s3cret@127.0.0.1:5432/test?sslmode=disable"

// A PostgreSQL URL given as the data directory (--data, or PARLEY_DATA,
// set where PARLEY_DATABASE was meant) is refused by every command,
// naming --database, rather than taken for the name of a directory: backup
// would say there is no database in it, password and all, and restore
// would restore into a new embedded database under ./postgres: and say it
// restored into the URL, leaving PostgreSQL as it was. Nothing is made and
// the password is not printed.
func TestCLI_RefusesADatabaseAsTheDataDirectory(t *testing.T) {
	install := config.Config{DataDir: t.TempDir()}
	if _, err := run(t, install, "", "db", "init"); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "b.db")
	if out, err := run(t, install, "", "backup", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	commands := map[string][]string{
		"DBInit":    {"db", "init"},
		"DBUpgrade": {"db", "upgrade"},
		"Backup":    {"backup", filepath.Join(t.TempDir(), "b.db")},
		"Restore":   {"restore", backup},
	}
	for name, args := range adminCommands {
		commands[name] = args
	}
	for name, args := range commands {
		for from, env := range map[string]map[string]string{
			"Flag":        nil,
			"Environment": {"PARLEY_DATA": passwordURL},
		} {
			t.Run(name+"/"+from, func(t *testing.T) {
				t.Chdir(t.TempDir())
				args := args
				if env == nil {
					args = append(slices.Clone(args), "--data", passwordURL)
				}
				var out bytes.Buffer
				err := app.Main(context.Background(), args, app.IO{
					In: strings.NewReader("long-enough-password\n"), Out: &out, Err: &out, Getenv: func(name string) string { return env[name] },
				})
				if err == nil || !strings.Contains(err.Error(), "give a PostgreSQL URL to --database") {
					t.Errorf("parley %s: %v\n%s; want it refused, naming --database", strings.Join(args, " "), err, out.String())
				}
				if printed := fmt.Sprint(out.String(), err); strings.Contains(printed, "s3cret") {
					t.Errorf("printed the password:\n%s", printed)
				}
				if made, _ := os.ReadDir("."); len(made) > 0 {
					t.Errorf("made %s in the working directory", made[0].Name())
				}
			})
		}
	}
}

// Every admin command refuses a database an older parley made, naming
// `parley db upgrade`, and changes nothing: the refusal holds after it.
func TestCLI_RefusesOlderSchema(t *testing.T) {
	cfg := olderInstall(t)
	for name, args := range adminCommands {
		t.Run(name, func(t *testing.T) {
			for range 2 {
				_, err := run(t, cfg, "long-enough-password\n", args...)
				if err == nil || !strings.Contains(err.Error(), "the database is at schema") || !strings.Contains(err.Error(), "run `parley db upgrade` (back up first)") {
					t.Fatalf("err = %v; want a refusal naming `parley db upgrade`", err)
				}
			}
		})
	}
	t.Run("MigrateSource", func(t *testing.T) {
		if cfg.Database != "" {
			t.Skip("migrate copies from an embedded install")
		}
		_, err := run(t, cfg, "", "migrate", "--from", cfg.DataDir, "--to", t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "run `parley db upgrade`") {
			t.Fatalf("err = %v; want a refusal naming `parley db upgrade`", err)
		}
	})
	// A --to that names a database in use (mistyped, say) is refused, and
	// not upgraded under the servers that may run on it. (One that holds
	// nothing is what a migrate stopped while it made the schema leaves,
	// and is finished: TestMigrate_RunsAgainAfterStoppedMakingItsSchema.)
	t.Run("MigrateTarget", func(t *testing.T) {
		install := config.Config{DataDir: t.TempDir()}
		if _, err := run(t, install, "", "db", "init"); err != nil {
			t.Fatal(err)
		}
		to, where := cfg.Database, cfg.Database
		if to == "" {
			to, where = cfg.DataDir, cfg.DatabasePath()
		}
		if err := sqlstore.MarkUsed(context.Background(), where); err != nil {
			t.Fatal(err)
		}
		_, err := run(t, install, "", "migrate", "--from", install.DataDir, "--to", to)
		if err == nil || !strings.Contains(err.Error(), "migrate copies into an empty database only") {
			t.Fatalf("err = %v; want a refusal of the target", err)
		}
		if _, err := run(t, cfg, "", "user", "list"); err == nil || !strings.Contains(err.Error(), "the database is at schema") {
			t.Fatalf("the target after migrate: %v; want it at its older schema still", err)
		}
	})
}

// `parley db upgrade` brings an older database to this parley's schema,
// after which the admin commands work on it.
func TestCLI_DBUpgrade(t *testing.T) {
	cfg := olderInstall(t)
	out, err := run(t, cfg, "", "db", "upgrade")
	if err != nil || !strings.Contains(out, "at schema") {
		t.Fatalf("db upgrade: %q, %v", out, err)
	}
	if out, err := run(t, cfg, "long-enough-password\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatalf("user add after the upgrade: %q, %v", out, err)
	}
	if out, err := run(t, cfg, "", "db", "upgrade"); err != nil {
		t.Fatalf("db upgrade of a current database: %q, %v", out, err)
	}
	if _, err := run(t, cfg, "", "db", "init"); err == nil || !strings.Contains(err.Error(), "already") {
		t.Fatalf("db init on a database: %v; want a refusal", err)
	}
}

// `parley serve` upgrades an older database as `parley db upgrade` does,
// and says so once, naming the schemas; on a database at its own schema it
// says nothing of an upgrade. On PostgreSQL the upgrade happens under the
// older servers still running, which the line tells their operator of.
func TestServe_LogsTheUpgrade(t *testing.T) {
	older := olderInstall(t)
	env := apptest.Start(t, func(c *config.Config) { c.DataDir, c.Database = older.DataDir, older.Database })
	entries := env.LogEntries(t, "upgraded the database schema")
	if len(entries) != 1 {
		t.Fatalf("logged the upgrade %d times, want once", len(entries))
	}
	e := entries[0]
	if e["level"] != "INFO" || e["from"] != float64(sqlstore.SchemaVersion()-1) || e["to"] != float64(sqlstore.SchemaVersion()) {
		t.Errorf("the upgrade's line: %v; want INFO from=%d to=%d", e, sqlstore.SchemaVersion()-1, sqlstore.SchemaVersion())
	}
	env.Stop()

	again := apptest.Start(t, func(c *config.Config) { c.DataDir, c.Database = older.DataDir, older.Database })
	if n := len(again.LogEntries(t, "upgraded the database schema")); n != 0 {
		t.Errorf("a start on a database at this parley's schema logged an upgrade %d times", n)
	}
}

// On the embedded database, `parley db upgrade`, and a second `parley
// serve` started by mistake, refuse while a server runs on it, and change
// nothing first: the server, a previous parley's on its schema, would run
// on a schema it does not know, and its own parley would refuse the
// database from then on. Once the server stops, the same commands
// upgrade it. The running server here is this parley's, its database
// taken back to the previous schema under it, as the previous parley's
// migrations left it.
func TestDBUpgrade_RefusesBesideARunningServer(t *testing.T) {
	previous := sqlstore.SchemaVersion() - 1
	for _, how := range []string{"DBUpgrade", "Serve"} {
		t.Run(how, func(t *testing.T) {
			env := apptest.Start(t, embedded(t.TempDir()))
			cfg := env.Server.Config
			if err := sqlstore.UndoSchema(context.Background(), cfg.DatabasePath(), previous); err != nil {
				t.Fatal(err)
			}
			upgrade := func() error {
				if how == "DBUpgrade" {
					_, err := run(t, cfg, "", "db", "upgrade")
					return err
				}
				second := cfg
				second.Addr = "127.0.0.1:0"
				srv, err := app.OpenServer(context.Background(), second, slog.New(slog.DiscardHandler), parley.WallClock{})
				if err == nil {
					srv.Close()
				}
				return err
			}
			if err := upgrade(); err == nil || !strings.Contains(err.Error(), "in use by a running server") {
				t.Fatalf("%s beside a running server: %v; want a refusal", how, err)
			}
			atPrevious := fmt.Sprintf("the database is at schema %d,", previous)
			if _, err := run(t, cfg, "", "user", "list"); err == nil || !strings.Contains(err.Error(), atPrevious) {
				t.Fatalf("after the refusal, user list: %v; want the database at schema %d still", err, previous)
			}
			env.Stop()
			if err := upgrade(); err != nil {
				t.Fatalf("%s once the server stopped: %v", how, err)
			}
			if out, err := run(t, cfg, "", "user", "list"); err != nil {
				t.Fatalf("user list after the upgrade: %q, %v", out, err)
			}
		})
	}
}

// `parley db init` makes a database where there was none; `serve` makes
// one too, as on a fresh machine.
func TestCLI_DBInit(t *testing.T) {
	cfg := blankInstall(t)
	cfg.DataDir = filepath.Join(cfg.DataDir, "new")
	if out, err := run(t, cfg, "", "db", "init"); err != nil || !strings.Contains(out, "created the database") {
		t.Fatalf("db init: %q, %v", out, err)
	}
	if out, err := run(t, cfg, "", "user", "list"); err != nil {
		t.Fatalf("user list: %q, %v", out, err)
	}
	fresh := blankInstall(t)
	env := apptest.Start(t, func(c *config.Config) { c.DataDir, c.Database = fresh.DataDir, fresh.Database })
	env.MustMember(t, "alice")
	if out, err := run(t, fresh, "", "user", "list"); err != nil || !strings.Contains(out, "alice") {
		t.Fatalf("user list beside the server that made the database: %q, %v", out, err)
	}
}

// Every command, serve and db upgrade too, refuses a database a newer
// parley migrated.
func TestCLI_RefusesNewerSchema(t *testing.T) {
	cfg := apptest.Install(t)
	db, err := openStore(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.RecordSchema(context.Background(), db, sqlstore.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for name, args := range map[string][]string{"UserList": {"user", "list"}, "DBUpgrade": {"db", "upgrade"}} {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, cfg, "", args...)
			if err == nil || !strings.Contains(err.Error(), "made by a newer parley") {
				t.Fatalf("err = %v; want a refusal naming a newer parley", err)
			}
		})
	}
	t.Run("Serve", func(t *testing.T) {
		_, err := app.OpenServer(context.Background(), cfg, slog.New(slog.DiscardHandler), parley.WallClock{})
		if err == nil || !strings.Contains(err.Error(), "made by a newer parley") {
			t.Fatalf("err = %v; want a refusal naming a newer parley", err)
		}
	})
}

// openStore opens an install's database as a server would.
func openStore(t *testing.T, cfg config.Config) (*sqlstore.DB, error) {
	if cfg.Database != "" {
		return sqlstore.OpenPostgres(context.Background(), cfg.Database)
	}
	return sqlstore.OpenSQLite(context.Background(), cfg.DatabasePath())
}

// `parley --version` names the version, the commit and the schema.
func TestCLI_Version(t *testing.T) {
	var buf bytes.Buffer
	err := app.Main(context.Background(), []string{"--version"}, app.IO{Out: &buf, Err: &buf, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"parley ", "commit ", fmt.Sprintf("schema %d", sqlstore.SchemaVersion())} {
		if !strings.Contains(out, want) {
			t.Fatalf("--version printed %q; want %q in it", out, want)
		}
	}
}

// A mistyped or missing subcommand of every group exits non-zero.
func TestCLI_UnknownSubcommand(t *testing.T) {
	for _, group := range []string{"user", "app", "access-log", "db"} {
		t.Run(group, func(t *testing.T) {
			if _, err := run(t, config.Config{DataDir: t.TempDir()}, "", group, "frobnicate", "bob"); err == nil || !strings.Contains(err.Error(), "unknown command") {
				t.Fatalf("%s frobnicate: %v; want an error", group, err)
			}
			if _, err := run(t, config.Config{DataDir: t.TempDir()}, "", group); err == nil || !strings.Contains(err.Error(), "needs a subcommand") {
				t.Fatalf("%s alone: %v; want an error", group, err)
			}
		})
	}
	if _, err := run(t, config.Config{DataDir: t.TempDir()}, "", "frobnicate"); err == nil {
		t.Fatal("an unknown command exited zero")
	}
}
