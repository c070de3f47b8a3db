package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// TestBackup_WhileServing: `parley backup` runs beside a server that
// members send messages to and an app reads through, and `parley restore`
// makes a new data directory of it. A server on the restored directory
// holds every message acknowledged before the backup began, with its seq
// and text, the thread's seqs without a gap, and, in alice's access log,
// every read of the app acknowledged before then; every member's chain
// verifies. The backup is its owner's only. The data directories and the
// backup are named with the characters that end a URI's path or make a
// pattern of a file name.
func TestBackup_WhileServing(t *testing.T) {
	ctx := context.Background()
	const odd = " #1 [a] ?%*"
	env := apptest.Start(t, embedded(filepath.Join(t.TempDir(), "data"+odd)), apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	tok := env.MustToken(t, env.MustPartner(t, "Films"), "alice", []string{"openid", "profile"}, apptest.Answer{})
	films := env.Client.WithToken(tok.AccessToken)

	// Each worker records what was acknowledged while the backup had not
	// begun: an ack seen before began was set came before the backup.
	var began atomic.Bool
	var mu sync.Mutex
	acked := map[string]ack{}
	reads := 0
	const warmUp = 20 // messages, and reads, acknowledged before the backup begins
	warm := make(chan struct{})
	var warmOnce sync.Once
	note := func(record func()) {
		if began.Load() {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		record()
		if len(acked) >= warmUp && reads >= warmUp {
			warmOnce.Do(func() { close(warm) })
		}
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			sender := alice
			if w%2 == 1 {
				sender = bob
			}
			for i := 0; loadCtx.Err() == nil; i++ {
				text := fmt.Sprintf("worker %d message %d", w, i)
				m, err := sender.SendMessage(loadCtx, th.ID, text, "")
				if err != nil {
					return
				}
				note(func() { acked[m.ID] = ack{m.Seq, text} })
			}
		})
	}
	wg.Go(func() {
		for loadCtx.Err() == nil {
			if _, err := films.Me(loadCtx); err != nil {
				return
			}
			note(func() { reads++ })
		}
	})
	<-warm
	began.Store(true)
	dest := filepath.Join(t.TempDir(), "parley-backup"+odd+".db")
	out, err := run(t, env.Server.Config, "", "backup", dest)
	stopLoad()
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.Contains(out, "backed up to "+dest) || !strings.Contains(out, "2 members' access logs") {
		t.Errorf("backup's summary: %q", out)
	}
	if info, err := os.Stat(dest); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the backup: %v, %v; want mode 0600", info, err)
	}

	restored := filepath.Join(t.TempDir(), "restored"+odd)
	if out, err := run(t, config.Config{DataDir: restored}, "", "restore", dest); err != nil || !strings.Contains(out, "every chain intact") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if beside, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), "*")); !slices.Equal(beside, []string{dest, dest + sqlstore.DigestSuffix}) {
		t.Errorf("beside the backup: %q; want the backup and its digest alone", beside)
	}
	env.Stop()
	again := apptest.Start(t, embedded(restored))
	signIn := func(name string) *client.Client {
		s, err := again.Client.SignIn(ctx, name, apptest.Password(name))
		if err != nil {
			t.Fatal(err)
		}
		return again.Client.WithToken(s.Token)
	}
	alice, bob = signIn("alice"), signIn("bob")
	mustHoldAcknowledged(t, acked, readThread(t, alice, th.ID))
	entries := map[string]int64{}
	for name, c := range map[string]*client.Client{"alice": alice, "bob": bob} {
		var v service.Verification
		if _, err := c.Do(ctx, "GET", "/api/v1/me/access-log/verify", nil, &v); err != nil {
			t.Fatal(err)
		}
		if !v.Intact {
			t.Errorf("%s's access log in the restored install breaks: %+v", name, v.Break)
		}
		entries[name] = v.Entries
	}
	// alice's log holds the grant's creation, then the app's reads.
	t.Logf("acknowledged before the backup: %d messages, %d reads; alice's log holds %d entries", len(acked), reads, entries["alice"])
	if entries["alice"] < int64(1+reads) {
		t.Errorf("alice's access log in the restored install holds %d entries; the grant and %d reads were acknowledged before the backup", entries["alice"], reads)
	}
}

// backup and restore refuse what they must not do, exit non-zero and
// change nothing: a DEST that exists or whose directory does not, a data
// directory that is not empty,
// a file that is no backup, a database an older parley serves (which
// backs it up itself), PostgreSQL (pointing to pg_dump and
// pg_restore), a missing argument.
func TestBackup_Refusals(t *testing.T) {
	install := config.Config{DataDir: t.TempDir()}
	if _, err := run(t, install, "", "db", "init"); err != nil {
		t.Fatal(err)
	}
	taken := filepath.Join(t.TempDir(), "taken.db")
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	for _, f := range []string{taken, garbage} {
		if err := os.WriteFile(f, []byte("not a database, not to be overwritten"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	older := config.Config{DataDir: t.TempDir()}
	if err := sqlstore.CreateAtSchema(context.Background(), older.DatabasePath(), sqlstore.SchemaVersion()-1); err != nil {
		t.Fatal(err)
	}
	pg := config.Config{DataDir: t.TempDir(), Database: "postgres://parley@127.0.0.1:5432/parley"}
	backup := filepath.Join(t.TempDir(), "good.db")
	if out, err := run(t, install, "", "backup", backup); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	for name, tc := range map[string]struct {
		install config.Config
		args    []string
		want    string
	}{
		"ExistingDest":    {install, []string{"backup", taken}, "exists"},
		"NoDest":          {install, []string{"backup"}, "accepts 1 arg"},
		"NoDestDirectory": {install, []string{"backup", filepath.Join(t.TempDir(), "none", "b.db")}, "none does not exist: make it first"},
		"NoDatabase":      {config.Config{DataDir: t.TempDir()}, []string{"backup", filepath.Join(t.TempDir(), "b.db")}, "no parley database"},
		"OlderSchema":     {older, []string{"backup", filepath.Join(t.TempDir(), "b.db")}, "back it up with the parley that serves it"},
		"BackupPostgres":  {pg, []string{"backup", filepath.Join(t.TempDir(), "b.db")}, "pg_dump"},
		"NonEmptyData":    {install, []string{"restore", backup}, "not empty"},
		"GarbageSource":   {config.Config{DataDir: t.TempDir()}, []string{"restore", garbage}, "not a parley backup"},
		"MissingSource":   {config.Config{DataDir: t.TempDir()}, []string{"restore", filepath.Join(t.TempDir(), "none.db")}, "no such file"},
		"RestorePostgres": {pg, []string{"restore", backup}, "pg_restore"},
	} {
		t.Run(name, func(t *testing.T) {
			before, _ := os.ReadDir(tc.install.DataDir)
			out, err := run(t, tc.install, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: %v\n%s; want an error naming %q", tc.args, err, out, tc.want)
			}
			if after, _ := os.ReadDir(tc.install.DataDir); len(after) != len(before) {
				t.Errorf("the data directory changed: %v, then %v", before, after)
			}
		})
	}
	if data, _ := os.ReadFile(taken); string(data) != "not a database, not to be overwritten" {
		t.Errorf("backup overwrote an existing file: %q", data)
	}
	t.Run("NewerBackup", func(t *testing.T) {
		db, err := sqlstore.OpenSQLite(context.Background(), backup)
		if err != nil {
			t.Fatal(err)
		}
		if err := sqlstore.RecordSchema(context.Background(), db, sqlstore.SchemaVersion()+1); err != nil {
			t.Fatal(err)
		}
		db.Close()
		// As a newer parley wrote it: the digest was of the file before.
		if err := os.Remove(backup + sqlstore.DigestSuffix); err != nil {
			t.Fatal(err)
		}
		restored := filepath.Join(t.TempDir(), "restored")
		if _, err := run(t, config.Config{DataDir: restored}, "", "restore", backup); err == nil || !strings.Contains(err.Error(), "made by a newer parley") {
			t.Fatalf("restore of a newer backup: %v", err)
		}
		if _, err := os.Stat(restored); !os.IsNotExist(err) {
			t.Errorf("the data directory restore made is left: %v", err)
		}
	})
	t.Run("Help", func(t *testing.T) {
		for cmd, pgTool := range map[string]string{"backup": "pg_dump", "restore": "pg_restore"} {
			out, err := run(t, install, "", cmd, "--help")
			if err != nil || !strings.Contains(out, "integrity check") || !strings.Contains(out, pgTool) {
				t.Errorf("%s --help: %v\n%s", cmd, err, out)
			}
		}
	})
}

// TestBackup_LeavesDestDirectoryAlone: backup writes one private file
// into DEST's directory, which is the operator's, not a data directory:
// it does not make it 0700 (a shared /tmp or /backups would lose its
// mode, sticky bit included, and the other users their access), nor fail
// where it cannot (a directory the server's user may write but does not
// own).
func TestBackup_LeavesDestDirectoryAlone(t *testing.T) {
	install := config.Config{DataDir: t.TempDir()}
	if _, err := run(t, install, "", "db", "init"); err != nil {
		t.Fatal(err)
	}
	shared := t.TempDir()
	const mode = os.ModeSticky | 0o777 // as /tmp
	if err := os.Chmod(shared, mode); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(shared, "parley.db")
	if out, err := run(t, install, "", "backup", dest); err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if info, err := os.Stat(shared); err != nil || info.Mode() != os.ModeDir|mode {
		t.Errorf("DEST's directory after the backup: %v, %v; want it as it was, %v", info.Mode(), err, os.ModeDir|mode)
	}
	if info, err := os.Stat(dest); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("the backup: %v, %v; want mode 0600", info, err)
	}
}

// TestBackup_OfABrokenAccessLog: an install whose access log already
// breaks is still backed up, the copy breaking where the install does,
// and the command fails all the same, naming the break: a broken chain
// neither goes unseen nor stops every backup from then on. Its restore
// takes --accept-broken-log.
func TestBackup_OfABrokenAccessLog(t *testing.T) {
	env := apptest.Start(t, embedded(t.TempDir()))
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
	err := sqlstore.TamperAccessEntry(context.Background(), env.Server.Store, apptest.MustMe(t, alice).ID, 1,
		func(e *parley.AccessEntry) { e.AppName = "Someone else" })
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "broken.db")
	out, err := run(t, env.Server.Config, "", "backup", dest)
	if err == nil || !strings.Contains(err.Error(), "the install's access log does not verify") ||
		!strings.Contains(out, "access log of alice: broken at entry 1") || !strings.Contains(out, "1 of them broken") {
		t.Fatalf("backup of a broken log: %v\n%s", err, out)
	}
	if _, err := os.Stat(dest); err != nil {
		t.Fatalf("no backup written: %v", err)
	}
	restored := config.Config{DataDir: filepath.Join(t.TempDir(), "restored")}
	if out, err := run(t, restored, "", "restore", dest); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("restore of a broken log: %v\n%s", err, out)
	}
	if out, err := run(t, restored, "", "restore", dest, "--accept-broken-log"); err != nil || !strings.Contains(out, "broken at entry 1") {
		t.Fatalf("restore --accept-broken-log: %v\n%s", err, out)
	}
}

// A backup changed since it was written, by one byte of a message, is
// refused by restore, which restores nothing and says why: SQLite's
// integrity check alone would find the database whole, and the member
// would read another amount than they were sent. Without its digest, the
// same file is restored, and restore says it checked it as a database only.
func TestRestore_RefusesABackupChangedSince(t *testing.T) {
	env := apptest.Start(t, embedded(t.TempDir()))
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "pay bob 100 euros")
	dest := filepath.Join(t.TempDir(), "b.db")
	if out, err := run(t, env.Server.Config, "", "backup", dest); err != nil {
		t.Fatal(err, out)
	}
	env.Stop()
	data, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte("pay bob 100 euros"))
	if i < 0 {
		t.Fatal("the message is not in the backup")
	}
	data[i+len("pay bob ")] = '9'
	if err := os.WriteFile(dest, data, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if out, err := run(t, config.Config{DataDir: restored}, "", "restore", dest); err == nil || !strings.Contains(err.Error(), "has changed since parley backup wrote it") {
		t.Fatalf("restore of a changed backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(restored); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused restore left its data directory: %v", err)
	}
	if err := os.Remove(dest + sqlstore.DigestSuffix); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, config.Config{DataDir: restored}, "", "restore", dest); err != nil || !strings.Contains(out, "has no digest beside it") {
		t.Fatalf("restore without the digest: %v\n%s", err, out)
	}
}

// Restore refuses another program's SQLite database migrated with goose,
// whose table of migrations has Parley's name (goose_db_version), and
// restores nothing: at that program's low version it would be taken for
// a backup of an older parley, restored for `parley db upgrade`, which
// would then fail halfway through Parley's migrations.
func TestRestore_RefusesAnotherProgramsDatabase(t *testing.T) {
	src := filepath.Join(t.TempDir(), "invoices.db")
	db, err := sql.Open("sqlite", "file:"+src)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`CREATE TABLE goose_db_version (id INTEGER PRIMARY KEY AUTOINCREMENT, version_id INTEGER NOT NULL, is_applied INTEGER NOT NULL, tstamp TIMESTAMP DEFAULT (datetime('now')))`,
		`INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, 1), (1, 1), (2, 1), (3, 1)`,
		`CREATE TABLE invoices (id INTEGER PRIMARY KEY, customer TEXT, amount INTEGER)`,
		`INSERT INTO invoices (customer, amount) VALUES ('acme', 1200)`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	out, err := run(t, config.Config{DataDir: restored}, "", "restore", src)
	if err == nil || !strings.Contains(err.Error(), "holds no parley database") || !strings.Contains(err.Error(), "another program's") {
		t.Fatalf("restore of another program's database: %v\n%s", err, out)
	}
	if _, err := os.Stat(restored); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused restore left its data directory: %v", err)
	}
}

// A failed restore leaves nothing of what it made: the data directory and
// the directories above it that it made for it.
func TestRestore_FailedLeavesNoDirectory(t *testing.T) {
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	if err := os.WriteFile(garbage, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	if _, err := run(t, config.Config{DataDir: filepath.Join(base, "srv", "parley", "data")}, "", "restore", garbage); err == nil {
		t.Fatal("a restore of garbage succeeded")
	}
	if left, _ := os.ReadDir(base); len(left) != 0 {
		t.Errorf("a failed restore left %s in %s", left[0].Name(), base)
	}
}
