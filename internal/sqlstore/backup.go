package sqlstore

// Backups of the embedded database, taken while its server runs, and their
// restore.
//
// A backup is one SQLite file, made with VACUUM INTO: a read transaction
// of its own, so the copy is the database as one commit left it, whatever
// the server writes meanwhile (WAL mode lets the reader and the writer go
// on together). What the copy may lack is the reads of the journal of
// reads (journal.go) that the server had not yet folded into the access
// log when the copy's transaction began: they are in the journal's
// segment files, not in the database.
//
// So Backup reads the journal's segments first, then copies the database,
// then folds into the copy the lines it read that the copy has not
// folded (those numbered above the copy's access_journal.folded), as the
// server would have at its next commit. Every read acknowledged before
// the backup began is then in the copy's access log: its line was written
// before the segments were read, and a segment is removed only after a
// fold that committed its lines, so the line was either read from its
// segment, or folded before the copy's transaction began, and is in the
// copy. Lines written after the segments were read, or cut short by a
// write under way, may be missing; no read they record was acknowledged
// before the backup began.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
)

// ErrNotABackup is returned by Restore for a file that is not a Parley
// database.
var ErrNotABackup = errors.New("sqlstore: not a parley backup")

// DigestSuffix ends the name of the file Backup writes beside a backup:
// the backup's SHA-256, as sha256sum writes it ("HEX  NAME"), so that
// `sha256sum -c` checks it too. SQLite's integrity check finds a damaged
// b-tree, not a changed byte of a message; the digest finds both.
const DigestSuffix = ".sha256"

// ErrDigestMismatch is returned by Restore for a backup that is no longer
// what Backup wrote: it differs from the digest beside it.
var ErrDigestMismatch = errors.New("sqlstore: the backup differs from its digest")

// Backup writes a consistent copy of the SQLite database db to dest, a
// new file, while db's server, if any, goes on serving. db may be opened
// beside the server (SQLiteOptions.Beside), and must be at this binary's
// schema. The copy holds every write committed, and every read logged to
// the access log, before Backup began (see the comment at the top of
// this file).
//
// The copy is made in a temporary file beside dest, created 0600, opened
// at this binary's schema and given to verify, checked (PRAGMA
// integrity_check), and only then linked to dest, its digest beside it
// (DigestSuffix); Backup refuses a dest or a digest that exists, also one
// created meanwhile, and leaves nothing behind when it fails. The copy
// uses SQLite's rollback journal, not WAL, so that it is one file.
func Backup(ctx context.Context, db *DB, dest string, verify func(*DB) error) error {
	if db.pg != nil {
		return errors.New("sqlstore: backups are of the embedded database; use PostgreSQL's pg_dump")
	}
	for _, name := range []string{dest, dest + DigestSuffix} {
		if _, err := os.Lstat(name); err == nil {
			return fmt.Errorf("sqlstore: backup: %s exists already", name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlstore: backup: %w", err)
		}
	}
	var src string
	if err := db.read.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&src); err != nil {
		return fmt.Errorf("sqlstore: backup: %w", err)
	}
	segments, err := readSegments(src)
	if err != nil {
		return err
	}
	tmp, err := tempFile(filepath.Dir(dest), filepath.Base(dest))
	if err != nil {
		return err
	}
	defer removeDatabase(tmp)
	if err := vacuumInto(ctx, src, tmp); err != nil {
		return fmt.Errorf("sqlstore: backup: %w", err)
	}
	for suffix, data := range segments {
		if err := os.WriteFile(journalPrefix(tmp)+suffix, data, 0o600); err != nil {
			return fmt.Errorf("sqlstore: backup: %w", err)
		}
	}
	if err := foldAndVerify(ctx, tmp, false, verify); err != nil {
		return err
	}
	if err := finish(ctx, tmp, "DELETE"); err != nil {
		return err
	}
	return publishWithDigest(tmp, dest)
}

// publishWithDigest gives the finished backup at tmp the name dest, and
// writes its digest beside it, first: a backup is never found without
// the digest that says it is whole. Neither is left when either fails.
func publishWithDigest(tmp, dest string) error {
	sum, err := digestOf(tmp)
	if err != nil {
		return err
	}
	digestTmp, err := tempFile(filepath.Dir(dest), filepath.Base(dest)+DigestSuffix)
	if err != nil {
		return err
	}
	defer os.Remove(digestTmp)
	if err := os.WriteFile(digestTmp, fmt.Appendf(nil, "%s  %s\n", sum, filepath.Base(dest)), 0o600); err != nil {
		return fmt.Errorf("sqlstore: backup: %w", err)
	}
	if err := syncFile(digestTmp); err != nil {
		return err
	}
	if err := publish(digestTmp, dest+DigestSuffix); err != nil {
		return err
	}
	if err := publish(tmp, dest); err != nil {
		os.Remove(dest + DigestSuffix)
		return err
	}
	return nil
}

// digestOf returns the SHA-256 of the file at path, in hex.
func digestOf(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("sqlstore: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("sqlstore: digest of %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkDigest compares the backup at src with the digest beside it, and
// reports whether there was one. A digest file that is not what Backup
// writes fails as a mismatch would: it cannot vouch for the backup.
func checkDigest(src string) (bool, error) {
	line, err := os.ReadFile(src + DigestSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("sqlstore: restore: %w", err)
	}
	want, _, _ := strings.Cut(string(line), " ")
	got, err := digestOf(src)
	if err != nil {
		return false, err
	}
	if want != got {
		return true, fmt.Errorf("%w: %s is not the file its digest, %s, was taken of", ErrDigestMismatch, src, src+DigestSuffix)
	}
	return true, nil
}

// Restored is what Restore found of a backup.
type Restored struct {
	// Schema is the backup's schema version.
	Schema int64
	// Digest tells whether the backup had its digest beside it, which it
	// matched; a backup without one is checked as a database only.
	Digest bool
}

// Restore makes the database at path, whose directory must exist and
// which must not, a copy of the backup src, checked (PRAGMA
// integrity_check) and, when its schema is this binary's, opened and
// given to verify. It refuses, with ErrDigestMismatch, a backup that
// differs from the digest beside it (DigestSuffix), if there is one; with
// ErrNotABackup, a file that is not a Parley database, another program's
// whose table of migrations has Parley's name too (recordedSchema); and,
// with a *SchemaError, a backup whose schema is newer than this binary.
// One whose schema is older is restored as it is, for a server or `parley
// db upgrade` to migrate, without verify.
func Restore(ctx context.Context, src, path string, verify func(*DB) error) (Restored, error) {
	if _, err := os.Stat(src); err != nil {
		return Restored{}, fmt.Errorf("sqlstore: restore: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		return Restored{}, fmt.Errorf("sqlstore: restore: %s exists already", path)
	}
	var r Restored
	var err error
	if r.Digest, err = checkDigest(src); err != nil {
		return Restored{}, err
	}
	tmp, err := tempFile(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return Restored{}, err
	}
	defer removeDatabase(tmp)
	if err := vacuumInto(ctx, src, tmp); err != nil {
		return Restored{}, fmt.Errorf("%w: %s: %w", ErrNotABackup, src, err)
	}
	if ok, err := isParley(ctx, tmp); errors.Is(err, ErrAnotherProgram) {
		return Restored{}, fmt.Errorf("%w: %s holds no parley database: %w", ErrNotABackup, src, err)
	} else if err != nil {
		return Restored{}, err
	} else if !ok {
		return Restored{}, fmt.Errorf("%w: %s holds no parley database", ErrNotABackup, src)
	}
	r.Schema = SchemaVersion()
	err = foldAndVerify(ctx, tmp, true, verify)
	if se, ok := errors.AsType[*SchemaError](err); ok && se.Database < se.Binary {
		r.Schema, err = se.Database, nil
	}
	if err != nil {
		return Restored{}, err
	}
	if err := finish(ctx, tmp, "WAL"); err != nil {
		return Restored{}, err
	}
	return r, publish(tmp, path)
}

// readSegments reads the segment files of the journal of reads of the
// database at path, by their names' suffixes. A segment removed between
// the listing and its reading had been folded, and is skipped.
func readSegments(path string) (map[string][]byte, error) {
	prefix := journalPrefix(path)
	paths, err := filesNamed(prefix)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: backup: journal of reads: %w", err)
	}
	segments := make(map[string][]byte, len(paths))
	for _, p := range paths {
		if p == prefix+"lock" {
			continue
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("sqlstore: backup: journal of reads: %w", err)
		}
		segments[strings.TrimPrefix(p, prefix)] = data
	}
	return segments, nil
}

// journalPrefix is what the names of the journal's files of the database
// at path begin with.
func journalPrefix(path string) string { return path + "-access-journal." }

// filesNamed returns the paths of the files whose paths begin with prefix,
// in the order of their names. It is filepath.Glob(prefix + "*") but for
// the pattern's characters in prefix: a data directory may be named with
// '[', '*' or '?'.
func filesNamed(prefix string) ([]string, error) {
	dir, start := filepath.Split(prefix)
	entries, err := os.ReadDir(filepath.Clean(dir + "."))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), start) {
			paths = append(paths, dir+e.Name())
		}
	}
	return paths, nil
}

// tempFile creates an empty file, 0600, for a copy of a database in dir,
// named after the file it will become.
func tempFile(dir, name string) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".*.partial")
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("sqlstore: the directory %s does not exist: make it first", dir)
	} else if err != nil {
		return "", fmt.Errorf("sqlstore: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("sqlstore: %w", err)
	}
	// Absolute, as the journal of reads wants the paths it finds by
	// globbing to be the ones it made: CreateTemp's begin with "./" in
	// the working directory.
	return filepath.Abs(f.Name())
}

// vacuumInto copies the SQLite database at src into the empty file dest,
// as one read transaction sees it, without writing to src.
func vacuumInto(ctx context.Context, src, dest string) error {
	db, err := sql.Open("sqlite", fileURI(src, "mode=ro&_pragma=busy_timeout(10000)"))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, dest)
	return err
}

// isParley reports whether the SQLite database at path holds Parley's
// table of migrations, and refuses, with ErrAnotherProgram, one whose
// table of migrations is another program's (recordedSchema).
func isParley(ctx context.Context, path string) (bool, error) {
	db, err := sql.Open("sqlite", fileURI(path, "mode=ro"))
	if err != nil {
		return false, fmt.Errorf("sqlstore: %w", err)
	}
	defer db.Close()
	_, found, err := recordedSchema(ctx, db, goose.DialectSQLite3)
	return found, err
}

// foldAndVerify opens the copy at path as its server would, which folds
// the journal of reads beside it into its access log, gives it to verify
// and closes it, removing the journal's files. dataDir says whether the
// copy's directory is a data directory (a restore's), made private, or
// the operator's (a backup's DEST), left as it is.
func foldAndVerify(ctx context.Context, path string, dataDir bool, verify func(*DB) error) error {
	db, err := OpenSQLiteWith(ctx, path, SQLiteOptions{Schema: Current, NotDataDir: !dataDir})
	if err != nil {
		return err
	}
	if err := db.foldJournal(ctx); err != nil {
		db.Close()
		return err
	}
	if err := verify(db); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	// What is left of the journal holds only lines folded now, or before
	// the copy was made: its lock, and segments whose lines were all
	// folded already, which no fold had reason to remove.
	left, err := filesNamed(journalPrefix(path))
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	for _, p := range left {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
	}
	return nil
}

// finish sets the journal mode of the copy at path, checks its
// integrity and syncs it to disk.
func finish(ctx context.Context, path, journalMode string) error {
	db, err := sql.Open("sqlite", fileURI(path, "_pragma=journal_mode("+journalMode+")&_pragma=synchronous(FULL)"))
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	defer db.Close()
	var problems []string
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("sqlstore: integrity check: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return fmt.Errorf("sqlstore: integrity check: %w", err)
		}
		problems = append(problems, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: integrity check: %w", err)
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return fmt.Errorf("sqlstore: integrity check: %s", strings.Join(problems, "; "))
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	return syncFile(path)
}

// publish gives the finished copy at tmp its name, refusing one that
// exists, and makes the name durable.
func publish(tmp, name string) error {
	if err := os.Link(tmp, name); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	return syncFile(filepath.Dir(name))
}

// syncFile flushes a file or a directory to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sqlstore: sync %s: %w", path, err)
	}
	return f.Close()
}

// removeDatabase removes what may be left of a database file at path: the
// file, SQLite's files beside it and the journal of reads.
func removeDatabase(path string) {
	leftovers, _ := filesNamed(journalPrefix(path))
	for _, p := range append(leftovers, path, path+"-wal", path+"-shm", path+"-journal") {
		os.Remove(p)
	}
}
