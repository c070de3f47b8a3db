package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for the planner's statistics
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// migrateTo runs `parley migrate` and returns what it printed on its
// standard output and error.
func migrateTo(t *testing.T, from, to string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = app.Main(context.Background(), []string{"migrate", "--from", from, "--to", to}, app.IO{
		In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: func(string) string { return "" },
	})
	return out.String(), errOut.String(), err
}

// memberView is what a member sees of their data through the API.
type memberView struct {
	Threads  []string               // thread summaries, as JSON
	Messages map[string]string      // each thread's messages, as JSON
	Log      *service.AccessLogPage // the access log, newest first
	Verify   *service.Verification  // the log's verification
	Grants   json.RawMessage        // the apps connected
	Friends  json.RawMessage        // friends
}

// viewOf reads everything c's member sees.
func viewOf(t *testing.T, c *client.Client) *memberView {
	t.Helper()
	ctx := context.Background()
	v := &memberView{Messages: map[string]string{}, Log: &service.AccessLogPage{}, Verify: &service.Verification{}}
	page, err := c.Threads(ctx, client.ThreadsQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range page.Threads {
		b, _ := json.Marshal(th)
		v.Threads = append(v.Threads, string(b))
		msgs, err := c.Messages(ctx, th.ID, client.MessagesQuery{Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		b, _ = json.Marshal(msgs)
		v.Messages[th.ID] = string(b)
	}
	for path, out := range map[string]any{
		"/api/v1/me/access-log?limit=200": v.Log, "/api/v1/me/access-log/verify": v.Verify, "/api/v1/me/grants": &v.Grants, "/api/v1/friends": &v.Friends,
	} {
		if _, err := c.Do(ctx, "GET", path, nil, out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return v
}

// TestMigrate_CopiesAnInstall: an install populated through the API and
// stopped is copied into a new database; a server on the copy shows every
// member the same threads, messages, access log, connected apps and friends, its
// logs verify, and the sessions and the app's token made on the install
// work on it. A running install and a database that holds data are refused.
func TestMigrate_CopiesAnInstall(t *testing.T) {
	ctx := context.Background()
	srcDir := t.TempDir()
	src := apptest.Start(t, embedded(srcDir))
	alice, bob, carol := src.MustMember(t, "alice"), src.MustMember(t, "bob"), src.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol")
	for i, c := range []*client.Client{alice, bob, carol, alice, bob, carol, alice} {
		apptest.MustSend(t, c, group.ID, strings.Repeat("hello ", i+1))
	}
	if err := carol.DeleteMessage(ctx, apptest.MustSend(t, carol, group.ID, "regretted").ID); err != nil {
		t.Fatal(err)
	}
	private := apptest.MustThread(t, carol, "alice")
	apptest.MustSend(t, carol, private.ID, "apps keep out")
	if _, err := carol.SetThreadAppAccess(ctx, private.ID, false); err != nil {
		t.Fatal(err)
	}
	partner := src.MustPartner(t, "Films")
	tok := src.MustToken(t, partner, "alice", []string{"openid", "shares.write", "messages.read"}, apptest.Answer{})
	films := src.Client.WithToken(tok.AccessToken)
	card, err := films.Share(ctx, client.NewShare{To: "bob", URL: "https://films.example/42", Title: "Watch this"})
	if err != nil {
		t.Fatal(err)
	}
	apptest.MustSend(t, bob, card.ThreadID, "thanks")
	for range 3 {
		if _, err := films.Messages(ctx, card.ThreadID, client.MessagesQuery{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.Client.SignIn(ctx, "bob", "not-bobs-password"); err == nil {
		t.Fatal("a wrong password signed in")
	}
	if _, err := alice.EventTicket(ctx); err != nil {
		t.Fatal(err)
	}
	members := map[string]*client.Client{"alice": alice, "bob": bob, "carol": carol}
	before := map[string]*memberView{}
	for name, c := range members {
		before[name] = viewOf(t, c)
		if !before[name].Verify.Intact || before[name].Verify.Entries == 0 && name != "carol" {
			t.Fatalf("%s's log on the install: %+v", name, before[name].Verify)
		}
	}

	if _, _, err := migrateTo(t, srcDir, t.TempDir()); err == nil || !strings.Contains(err.Error(), "running server") {
		t.Fatalf("migrate beside a running server: %v; want a refusal", err)
	}
	src.Stop()

	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			to, onCopy := migrateTarget(t, engine)
			out, progress, err := migrateTo(t, srcDir, to)
			if err != nil {
				t.Fatalf("migrate: %v\n%s%s", err, out, progress)
			}
			if !strings.Contains(out, "verified: 3 members' access logs are intact (") || !strings.Contains(out, "; 3 threads hold their 11 messages\n") ||
				!strings.Contains(progress, "100%") {
				t.Errorf("migrate printed:\n%s\nand on stderr:\n%s", out, progress)
			}
			if engine == "postgres" {
				// The copy leaves the planner statistics, as it would not
				// have until autovacuum came round.
				for _, table := range []string{"messages", "access_log"} {
					if rows := estimatedRows(t, to, table); rows <= 0 {
						t.Errorf("the planner estimates %s to hold %v rows after migrate, want its count: no statistics", table, rows)
					}
				}
			}

			dst := apptest.Start(t, onCopy)
			for name, c := range members {
				after := viewOf(t, dst.Client.WithToken(c.Token()))
				// Share links are on each server's own URL; their tokens
				// are the same.
				want, _ := json.Marshal(before[name])
				want = bytes.ReplaceAll(want, []byte(src.URL+"/s/"), []byte("/s/"))
				if got, _ := json.Marshal(after); !bytes.Equal(bytes.ReplaceAll(got, []byte(dst.URL+"/s/"), []byte("/s/")), want) {
					t.Errorf("%s sees on the copy:\n%s\nand saw on the install:\n%s", name, got, want)
				}
			}
			read, err := dst.Client.WithToken(tok.AccessToken).Messages(ctx, card.ThreadID, client.MessagesQuery{})
			if err != nil || len(read.Messages) != 2 {
				t.Fatalf("the app's token on the copy: %+v, %v", read, err)
			}
			if v := viewOf(t, dst.Client.WithToken(alice.Token())).Verify; !v.Intact || v.Entries != before["alice"].Verify.Entries+1 {
				t.Errorf("alice's log after a read on the copy: %+v", v)
			}

			dst.Stop()
			out, _, err = migrateTo(t, srcDir, to)
			if err == nil || !strings.Contains(err.Error(), "not empty") || !strings.Contains(err.Error(), "users") {
				t.Fatalf("migrate into a database that holds data: %v\n%s", err, out)
			}
		})
	}
}

// migrateTarget returns a new, empty database on the engine for migrate's
// --to, and the option that starts a server on it.
func migrateTarget(t *testing.T, engine string) (to string, serve func(*config.Config)) {
	t.Helper()
	if engine == "postgres" {
		to = sqlstoretest.PostgresURL(t)
		return to, func(c *config.Config) { c.Database = to }
	}
	to = t.TempDir()
	return to, embedded(to)
}

// estimatedRows is the planner's estimate of the rows of a table of the
// PostgreSQL database at url, from its statistics: -1 before the table was
// first analysed (or vacuumed).
func estimatedRows(t *testing.T, url, table string) float64 {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows float64
	if err := db.QueryRow(`SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, table).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// embedded is the option that starts a test server on the embedded
// database in dir, whatever engine the other tests run on.
func embedded(dir string) func(*config.Config) {
	return func(c *config.Config) {
		c.DataDir = dir
		c.Database = ""
	}
}

// TestMigrate_OfABrokenAccessLog: an install whose access log already
// breaks is copied as it is, and migrate fails all the same, naming the
// break and saying it is the install's, not the copy's: a broken chain
// neither goes unseen nor passes for a bad copy.
func TestMigrate_OfABrokenAccessLog(t *testing.T) {
	dir := t.TempDir()
	env := apptest.Start(t, embedded(dir))
	alice := env.MustMember(t, "alice")
	env.MustToken(t, env.MustPartner(t, "Tunes"), "alice", []string{"openid"}, apptest.Answer{})
	err := sqlstore.TamperAccessEntry(context.Background(), env.Server.Store, apptest.MustMe(t, alice).ID, 1,
		func(e *parley.AccessEntry) { e.AppName = "Someone else" })
	if err != nil {
		t.Fatal(err)
	}
	env.Stop()
	out, errOut, err := migrateTo(t, dir, filepath.Join(t.TempDir(), "copy"))
	if err == nil || !strings.Contains(err.Error(), "the install's access log does not verify") ||
		!strings.Contains(out, "access log of alice: broken at entry 1") || !strings.Contains(out, "verified but for the access logs that break as the install's do") {
		t.Fatalf("migrate of a broken log: %v\n%s%s", err, out, errOut)
	}
}

// TestMigrate_RefusesBadArguments: migrate needs an install to copy and a
// target other than the install itself, and names what is wrong.
func TestMigrate_RefusesBadArguments(t *testing.T) {
	install := t.TempDir()
	if _, err := run(t, config.Config{DataDir: install}, "", "db", "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, config.Config{DataDir: install}, "long-enough-password\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"ErrNoInstall":    {[]string{"--from", t.TempDir(), "--to", t.TempDir()}, "no parley database"},
		"ErrIntoItself":   {[]string{"--from", install, "--to", install}, "not the install's own"},
		"ErrNoTarget":     {[]string{"--from", install}, `"to" not set`},
		"ErrBadTargetURL": {[]string{"--from", install, "--to", "postgres://u:s3cret@%zz/db"}, "not a URL"},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := run(t, config.Config{DataDir: t.TempDir()}, "", append([]string{"migrate"}, tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error()+out, "s3cret") {
				t.Fatalf("migrate %v: %v\n%s; want an error naming %q", tc.args, err, out, tc.want)
			}
		})
	}
}

// migrate names its target without a password, whether the URL gives it
// as user:password@ or as a parameter, as pgx takes password and
// sslpassword too: neither in its summary nor in an error.
func TestMigrate_PrintsNoPassword(t *testing.T) {
	install := t.TempDir()
	if _, err := run(t, config.Config{DataDir: install}, "", "db", "init"); err != nil {
		t.Fatal(err)
	}
	// PostgreSQL here trusts local connections: the password is not checked.
	to := sqlstoretest.PostgresURL(t) + "&password=s3cret-one&sslpassword=s3cret-two"
	for _, attempt := range []string{"into an empty database", "into the copy, refused"} {
		out, progress, err := migrateTo(t, install, to)
		printed := out + progress
		if err != nil {
			printed += err.Error()
		}
		if strings.Contains(printed, "s3cret") || !strings.Contains(printed, "password=xxxxx") {
			t.Errorf("migrate %s printed:\n%s", attempt, printed)
		}
	}
}

// TestMigrate_RefusesATargetNotAURLNorADirectory: a --to that is meant as
// a database but is not a postgres:// URL, such as a keyword/value
// connection string, a scheme in capitals or a URL missing a slash, is
// refused, naming the forms --to takes, rather than taken for the name of
// a new data directory: that copy would report success, repeat the
// password, and leave PostgreSQL empty for the servers started on it.
func TestMigrate_RefusesATargetNotAURLNorADirectory(t *testing.T) {
	install := t.TempDir()
	if _, err := run(t, config.Config{DataDir: install}, "", "db", "init"); err != nil {
		t.Fatal(err)
	}
	for name, to := range map[string]string{
		"KeywordValue": "host=127.0.0.1 user=postgres password=s3cret dbname=test",
		"Capitals":     "POSTGRES://postgres:s3cret@127.0.0.1:5432/test",
		"OneSlash":     "postgres:/127.0.0.1:5432/test?password=s3cret",
		"OtherScheme":  "postgre://postgres:s3cret@127.0.0.1:5432/test",
	} {
		t.Run(name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			out, progress, err := migrateTo(t, install, to)
			printed := out + progress
			if err != nil {
				printed += err.Error()
			}
			if err == nil || !strings.Contains(err.Error(), "postgres://") || strings.Contains(printed, "s3cret") {
				t.Errorf("migrate --to %q: %v\n%s", to, err, printed)
			}
			if made, _ := os.ReadDir("."); len(made) > 0 {
				t.Errorf("migrate --to %q made %v", to, made[0].Name())
			}
		})
	}
	t.Run("DirectoryWithAColon", func(t *testing.T) {
		t.Chdir(t.TempDir())
		if out, _, err := migrateTo(t, install, "./copy:1"); err != nil {
			t.Fatalf("migrate --to ./copy:1: %v\n%s", err, out)
		}
	})
}

// TestMigrate_RefusesADatabaseAsTheInstall: --from is the data directory
// of an embedded install, which migrate copies into PostgreSQL, not out
// of it. A database given there (the flags swapped, to move back) is
// refused, naming --from, rather than looked for as a directory and
// printed, password and all, in the error; so is an install that is not
// there, named by its flag and not by the path, which may be a URL
// mistyped.
func TestMigrate_RefusesADatabaseAsTheInstall(t *testing.T) {
	for name, from := range map[string]string{
		"URL":          passwordURL,
		"Capitals":     "POSTGRES://parley:s3cret@127.0.0.1:5432/test",
		"KeywordValue": "host=127.0.0.1 user=parley password=s3cret dbname=test",
	} {
		for target, to := range map[string]string{"IntoADirectory": filepath.Join(t.TempDir(), "copy"), "IntoPostgres": "postgres://parley@127.0.0.1:5432/test"} {
			t.Run(name+"/"+target, func(t *testing.T) {
				t.Chdir(t.TempDir())
				out, progress, err := migrateTo(t, from, to)
				if err == nil || !strings.HasPrefix(err.Error(), "--from is the data directory") {
					t.Errorf("migrate: %v; want it refused, naming --from", err)
				}
				if printed := fmt.Sprint(out, progress, err); strings.Contains(printed, "s3cret") {
					t.Errorf("migrate printed the password:\n%s", printed)
				}
				if made, _ := os.ReadDir("."); len(made) > 0 {
					t.Errorf("migrate made %s in the working directory", made[0].Name())
				}
			})
		}
	}
	t.Run("NoInstallThere", func(t *testing.T) {
		t.Chdir(t.TempDir())
		_, _, err := migrateTo(t, "postgres//parley:s3cret@127.0.0.1:5432/test", filepath.Join(t.TempDir(), "copy"))
		if err == nil || err.Error() != "--from: no such file or directory" {
			t.Errorf("migrate from no install: %v; want --from: no such file or directory", err)
		}
	})
}

// TestMigrate_RunsAgainAfterStoppedMakingItsSchema: migrate stopped (Ctrl-C,
// a lost connection) while it made the target's schema, one migration a
// transaction, leaves the target at an older schema holding nothing; run
// again, migrate finishes the schema and copies. A target at an older
// schema that holds anything, used by an older parley, is still refused
// and left as it was. A PostgreSQL target's URL carries a pool setting,
// which the look for rows must not send PostgreSQL. The summary speaks of
// the install's one member in the singular, of its no threads in the plural.
func TestMigrate_RunsAgainAfterStoppedMakingItsSchema(t *testing.T) {
	ctx := context.Background()
	install := t.TempDir()
	if _, err := run(t, config.Config{DataDir: install}, "", "db", "init"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, config.Config{DataDir: install}, "long-enough-password\n", "user", "add", "alice", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	const stoppedAt = 16 // of the schema's migrations, as an interrupted migrate leaves them
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			for _, used := range []bool{false, true} {
				to, _ := migrateTarget(t, engine)
				where := to
				if engine == "sqlite" {
					where = filepath.Join(to, "parley.db")
				}
				if err := sqlstore.CreateAtSchema(ctx, where, stoppedAt); err != nil {
					t.Fatal(err)
				}
				if used {
					if err := sqlstore.MarkUsed(ctx, where); err != nil {
						t.Fatal(err)
					}
				}
				if engine == "postgres" {
					// The pool's settings, as README advises them.
					sep := "?"
					if strings.Contains(to, "?") {
						sep = "&"
					}
					to += sep + "pool_max_conns=4"
				}
				out, progress, err := migrateTo(t, install, to)
				switch {
				case !used && (err != nil || !strings.Contains(out, "verified: 1 member's access log is intact (0 entries); 0 threads hold their 0 messages\n")):
					t.Errorf("migrate into a target left at schema %d: %v\n%s%s", stoppedAt, err, out, progress)
				case used && (err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at schema %d", stoppedAt))):
					t.Errorf("migrate into a used database at schema %d: %v\n%s; want it refused", stoppedAt, err, out)
				}
			}
		})
	}
}
