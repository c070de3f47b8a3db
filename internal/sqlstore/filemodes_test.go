package sqlstore_test

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/sqlstore"
)

// The database is created private to the server's user in a data
// directory that existed with wider permissions: the directory becomes
// 0700 and every file of the database 0600, whatever the umask let
// through.
func TestSQLite_FilesPrivateInAnExistingDirectory(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // whatever the umask took away
	db := openLogging(t, dir, &bytes.Buffer{})
	defer db.Close()
	assertPrivate(t, dir)
}

// A data directory and database files others could read, as an older
// parley or a careless copy left them, are made private at start, and the
// server says which were open: their contents may have been read.
func TestSQLite_FilesOpenToOthersTightenedWithAWarning(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	db := openLogging(t, dir, &bytes.Buffer{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not parley's"), 0o644)
	os.Chmod(filepath.Join(dir, "notes.txt"), 0o644)
	for _, name := range []string{"parley.db", "parley.db-access-journal.lock"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(dir, 0o750)

	var logs bytes.Buffer
	db = openLogging(t, dir, &logs)
	defer db.Close()
	assertPrivate(t, dir)
	for _, want := range []string{
		`"path":"` + dir + `","mode":"0750"`,
		`"path":"` + filepath.Join(dir, "parley.db") + `","mode":"0644"`,
		`"path":"` + filepath.Join(dir, "parley.db-access-journal.lock") + `","mode":"0644"`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning with %s in\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), "notes.txt") {
		t.Errorf("warned of a file that is not the server's:\n%s", logs.String())
	}
	if info, _ := os.Stat(filepath.Join(dir, "notes.txt")); info.Mode().Perm() != 0o644 {
		t.Errorf("a file that is not the server's was changed to %v", info.Mode())
	}
}

// openLogging opens the database in dir as a server does, logging to logs.
func openLogging(t *testing.T, dir string, logs *bytes.Buffer) *sqlstore.DB {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(logs, nil))
	db, err := sqlstore.OpenSQLiteWith(context.Background(), filepath.Join(dir, "parley.db"), sqlstore.SQLiteOptions{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// assertPrivate fails the test unless dir is 0700 and each file of the
// database in it, at least the database file, its WAL and the lock of its
// journal of reads, is 0600.
func assertPrivate(t *testing.T, dir string) {
	t.Helper()
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("data directory %v, %v; want 0700", info.Mode(), err)
	}
	seen := map[string]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "parley.db") {
			continue
		}
		info, _ := e.Info()
		seen[e.Name()] = true
		if info.Mode().Perm() != fs.FileMode(0o600) {
			t.Errorf("%s is %v; want 0600", e.Name(), info.Mode())
		}
	}
	for _, name := range []string{"parley.db", "parley.db-wal", "parley.db-access-journal.lock"} {
		if !seen[name] {
			t.Errorf("no %s among %v", name, seen)
		}
	}
}

// Run as root on data another user owns (an operator's command without
// runuser), parley says to run as that user, since what it creates would
// be root's, not that another user can read the files, which the owner
// may. (Only root can give a file away, so only root runs this.)
func TestSQLite_RootOnAnotherUsersDataIsToldToRunAsThem(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("only root gives files to another user")
	}
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	db := openLogging(t, dir, &bytes.Buffer{})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "parley.db"} {
		if err := os.Chown(filepath.Join(dir, name), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	db = openLogging(t, dir, &logs)
	defer db.Close()
	if got := logs.String(); !strings.Contains(got, "run it as that user") || strings.Contains(got, "who can read it") {
		t.Errorf("root on another user's data logs:\n%s", got)
	}
}
