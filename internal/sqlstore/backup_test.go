package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
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
	if left, _ := filepath.Glob("*"); !slices.Equal(left, []string{"folded.db", "folded.db" + sqlstore.DigestSuffix}) {
		t.Errorf("files beside the backup: %v; want the backup and its digest alone", left)
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
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), "*")); !slices.Equal(left, []string{dest, dest + sqlstore.DigestSuffix}) {
		t.Errorf("files beside the backup: %v; want the backup and its digest alone", left)
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
		r, err := sqlstore.Restore(ctx, old, target, func(*sqlstore.DB) error { return errors.New("verified") })
		if err != nil || r.Schema != sqlstore.SchemaVersion()-1 || r.Digest {
			t.Fatalf("restore = %+v, %v; want schema %d, unverified, without a digest", r, err, sqlstore.SchemaVersion()-1)
		}
		db, err := sqlstore.OpenSQLiteWith(ctx, target, sqlstore.SQLiteOptions{Schema: sqlstore.Upgrade})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
	})
}

// A backup's digest is written beside it, as sha256sum writes one, and
// restore checks it: a backup changed since, by a byte, is refused and
// nothing is restored; a backup whose digest is gone is restored, and
// restore says it had none. A digest that exists refuses a backup, as the
// backup's own name does.
func TestBackup_Digest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, path := mustOpen(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "b.db")
	if err := sqlstore.Backup(ctx, besideOf(t, path), dest, verifyNothing); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if digest, err := os.ReadFile(dest + sqlstore.DigestSuffix); err != nil || string(digest) != hex.EncodeToString(sum[:])+"  b.db\n" {
		t.Fatalf("the digest beside the backup: %q, %v", digest, err)
	}
	if r, err := sqlstore.Restore(ctx, dest, filepath.Join(t.TempDir(), "parley.db"), verifyNothing); err != nil || !r.Digest {
		t.Fatalf("restore of the backup = %+v, %v; want it restored, its digest checked", r, err)
	}

	changed := slices.Clone(data)
	changed[len(changed)/2] ^= 1
	if err := os.WriteFile(dest, changed, 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "parley.db")
	if _, err := sqlstore.Restore(ctx, dest, target, verifyNothing); !errors.Is(err, sqlstore.ErrDigestMismatch) {
		t.Fatalf("restore of a changed backup = %v; want ErrDigestMismatch", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), "*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}

	if err := os.WriteFile(dest, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dest + sqlstore.DigestSuffix); err != nil {
		t.Fatal(err)
	}
	if r, err := sqlstore.Restore(ctx, dest, filepath.Join(t.TempDir(), "parley.db"), verifyNothing); err != nil || r.Digest {
		t.Fatalf("restore of a backup without its digest = %+v, %v; want it restored, no digest", r, err)
	}

	taken := filepath.Join(dir, "c.db")
	if err := os.WriteFile(taken+sqlstore.DigestSuffix, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sqlstore.Backup(ctx, besideOf(t, path), taken, verifyNothing); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("backup beside an existing digest = %v; want a refusal", err)
	}
	if _, err := os.Stat(taken); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the refused backup was written: %v", err)
	}
}
