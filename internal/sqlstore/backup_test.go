package sqlstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// besideOf opens the database at path as a command run beside its server.
func besideOf(t *testing.T, path string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.OpenSQLiteWith(context.Background(), path, sqlstore.SQLiteOptions{Schema: sqlstore.Current, Beside: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func verifyNothing(*sqlstore.DB) error { return nil }

// A backup holds the reads the server's journal held and had not folded
// into the access log, each once, and not those it had folded though
// their segment was still there; the server's database and journal stay
// as they were. The backup is one file, its owner's only.
func TestBackup_HoldsJournaledReads(t *testing.T) {
	ctx := context.Background()
	// A read folded by a server that crashed before removing its segment.
	path, ids, segment, folded := crashedWithARead(t)
	reopen(t, path).Close()
	if err := os.WriteFile(segment, folded, 0o600); err != nil {
		t.Fatal(err)
	}
	// DEST relative to the working directory, as an operator gives it.
	t.Chdir(t.TempDir())
	if err := sqlstore.Backup(ctx, besideOf(t, path), "folded.db", verifyNothing); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob("*"); len(left) != 1 {
		t.Errorf("files beside the backup: %v; want the backup alone", left)
	}
	if log := logOf(t, reopen(t, "folded.db"), ids[1]); len(log) != 1 {
		t.Errorf("bob's log in a backup of a journal of folded reads has %d entries; want 1", len(log))
	}

	// A read journaled and not yet folded, as the running server's.
	if err := os.WriteFile(path+"-access-journal.2", []byte(strings.Replace(string(folded), "1 ", "2 ", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	// and a line being written.
	appendTo(t, path+"-access-journal.2", `3 [{"at":17`)

	dest := filepath.Join(t.TempDir(), "parley-backup.db")
	var inVerify []*parley.AccessEntry
	err := sqlstore.Backup(ctx, besideOf(t, path), dest, func(copy *sqlstore.DB) error {
		inVerify = logOf(t, copy, ids[1])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inVerify) != 2 {
		t.Fatalf("bob's log in the backup has %d entries; want the folded read and the journaled one, once each", len(inVerify))
	}
	info, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the backup's mode is %v; want 0600", info.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), "*")); len(left) != 1 {
		t.Errorf("files beside the backup: %v; want the backup alone", left)
	}
	if log := logOf(t, reopen(t, dest), ids[1]); len(log) != 2 {
		t.Errorf("bob's log in the backup, opened, has %d entries; want 2", len(log))
	}
	if left, _ := filepath.Glob(path + "-access-journal.[0-9]*"); len(left) != 2 {
		t.Errorf("the server's journal after the backup: %v; want it untouched", left)
	}
}

// A backup refuses a file that exists, and leaves it as it was.
func TestBackup_RefusesAnExistingFile(t *testing.T) {
	t.Parallel()
	_, path := mustOpen(t)
	dest := filepath.Join(t.TempDir(), "taken.db")
	if err := os.WriteFile(dest, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := sqlstore.Backup(context.Background(), besideOf(t, path), dest, verifyNothing)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("backup onto an existing file = %v; want a refusal", err)
	}
	if data, _ := os.ReadFile(dest); string(data) != "mine" {
		t.Errorf("the existing file now holds %q", data)
	}
}

// A copy that does not verify is not a backup: nothing is left.
func TestBackup_UnverifiedLeavesNothing(t *testing.T) {
	t.Parallel()
	_, path := mustOpen(t)
	dir := t.TempDir()
	broken := errors.New("broken")
	err := sqlstore.Backup(context.Background(), besideOf(t, path), filepath.Join(dir, "b.db"), func(*sqlstore.DB) error { return broken })
	if !errors.Is(err, broken) {
		t.Fatalf("backup = %v; want verify's error", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// Restore refuses what is not a Parley database, and a backup of a newer
// parley; it restores an older one as it is.
func TestRestore_Refusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"Garbage": garbage, "EmptyFile": empty} {
		t.Run(name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "parley.db")
			if _, err := sqlstore.Restore(ctx, src, target, verifyNothing); !errors.Is(err, sqlstore.ErrNotABackup) {
				t.Fatalf("restore = %v; want ErrNotABackup", err)
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
	t.Run("Newer", func(t *testing.T) {
		db, path := mustOpen(t)
		if err := sqlstore.RecordSchema(ctx, db, sqlstore.SchemaVersion()+1); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := sqlstore.Restore(ctx, path, filepath.Join(t.TempDir(), "parley.db"), verifyNothing)
		if se, ok := errors.AsType[*sqlstore.SchemaError](err); !ok || se.Database != sqlstore.SchemaVersion()+1 {
			t.Fatalf("restore = %v; want a SchemaError", err)
		}
	})
	t.Run("Older", func(t *testing.T) {
		old := filepath.Join(t.TempDir(), "old.db")
		if err := sqlstore.CreateAtSchema(ctx, old, sqlstore.SchemaVersion()-1); err != nil {
			t.Fatal(err)
		}
		target := filepath.Join(t.TempDir(), "parley.db")
		v, err := sqlstore.Restore(ctx, old, target, func(*sqlstore.DB) error { return errors.New("verified") })
		if err != nil || v != sqlstore.SchemaVersion()-1 {
			t.Fatalf("restore = %d, %v; want schema %d, unverified", v, err, sqlstore.SchemaVersion()-1)
		}
		db, err := sqlstore.OpenSQLiteWith(ctx, target, sqlstore.SQLiteOptions{Schema: sqlstore.Upgrade})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
}
