package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/words"
	"github.com/spf13/cobra"
)

// errBackupUnverified makes backup and restore exit non-zero when the copy
// does not verify.
var errBackupUnverified = errors.New("the copy does not verify: an access-log chain is broken")

// errBrokenLogBackedUp makes backup exit non-zero when it wrote a copy whose
// access-log chains break where the install's own break.
var errBrokenLogBackedUp = errors.New("backed up, but the install's access log does not verify: the copy's chains break where the install's break (above); find out why, with `parley access-log verify`, before trusting either")

func backupCommand(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "backup DEST",
		Short: "Write a verified copy of the embedded database to the new file DEST, also while the server runs",
		Long: `Write a consistent copy of the embedded database under --data to DEST, a
new file, while the server goes on serving: every message, change and read
logged to the access log that was acknowledged before the backup began is
in it, the reads the server's journal still held included. The copy is made
beside DEST, readable by its owner only, and checked before it takes DEST's
name: SQLite's integrity check, the schema, and every member's access-log
chain. Beside it, DEST.sha256 holds its SHA-256 (as sha256sum writes it),
which restore checks: keep the two together. backup refuses a DEST, or a
DEST.sha256, that exists, and prints a summary.

The database must be at this parley's schema: back up with the parley that
serves it, before upgrading. Restore with ` + "`parley restore`" + `.

On PostgreSQL (--database) use pg_dump instead: see the README.`,
		Example: `  parley backup --data ./data /backups/parley-$(date +%F).db`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Database != "" {
				return errors.New("backup copies the embedded database; on PostgreSQL use pg_dump -Fc (see the README)")
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return backup(cmd.Context(), *cfg, args[0], cmd.OutOrStdout(), commandLog(cmd.ErrOrStderr()))
		},
	}
}

// backup copies the install's database to dest and reports on out, and its
// warnings on log.
func backup(ctx context.Context, cfg config.Config, dest string, out io.Writer, log *slog.Logger) error {
	db, err := openStoreWith(ctx, cfg, log, sqlstore.Current, true)
	if se, ok := errors.AsType[*sqlstore.SchemaError](err); ok && se.Database < se.Binary {
		return fmt.Errorf("the database is at schema %d, older than this parley's %d: back it up with the parley that serves it, then upgrade", se.Database, se.Binary)
	} else if err != nil {
		return err
	}
	defer db.Close()
	started := time.Now()
	var sum contents
	// A copy whose chains break as the install's own do is a faithful one:
	// it is written, and the command fails all the same, so that a broken
	// log neither goes unseen nor stops every backup from then on.
	sameAsInstall := func(breaks []string) (bool, error) { return breaksAsInstalled(ctx, db, breaks) }
	if err := sqlstore.Backup(ctx, db, dest, verifyContents(ctx, out, &sum, sameAsInstall)); err != nil {
		return err
	}
	info, err := os.Stat(dest)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backed up to %s in %s: %s, %s\n", dest, time.Since(started).Round(time.Millisecond), humanize.IBytes(uint64(info.Size())), sum)
	if !sum.logs.intact {
		return errBrokenLogBackedUp
	}
	return nil
}

func restoreCommand(cfg *config.Config) *cobra.Command {
	var acceptBroken bool
	cmd := &cobra.Command{
		Use:   "restore SRC",
		Short: "Make a new data directory (--data) from the backup SRC, and verify it",
		Long: `Copy the backup SRC, made by ` + "`parley backup`" + `, into --data, which must be
empty or not exist, then verify it: SQLite's integrity check, the schema,
and every member's access-log chain. restore refuses a backup that differs
from the digest backup wrote beside it (SRC.sha256), a file that is not a
Parley database, and one made by a newer parley; a backup without its
digest is checked as a database only, and restore says so. A backup made by an
older parley is restored as it is, unverified: ` + "`parley db upgrade`" + ` or
` + "`parley serve`" + ` migrates it.

A backup whose access-log chains break (backup writes one when the
install's own chains break there, and says so) is refused, unless
--accept-broken-log: the data is restored, and the breaks reported.

Then start the server on it: ` + "`parley serve --data DIR`" + `.

On PostgreSQL (--database) use pg_restore instead: see the README.`,
		Example: `  parley restore --data ./data /backups/parley-2026-11-29.db`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Database != "" {
				return errors.New("restore makes an embedded database; on PostgreSQL use pg_restore into an empty database (see the README)")
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			return restore(cmd.Context(), *cfg, args[0], acceptBroken, cmd.OutOrStdout())
		},
	}
	cmd.Flags().BoolVar(&acceptBroken, "accept-broken-log", false, "restore a backup whose access-log chains break, reporting where")
	return cmd
}

// restore copies the backup src into the install's data directory, which
// must be empty or missing, and reports on out; one whose access-log
// chains break only with acceptBroken. The directories it made for the
// data directory are removed again when it fails.
func restore(ctx context.Context, cfg config.Config, src string, acceptBroken bool, out io.Writer) (err error) {
	entries, err := os.ReadDir(cfg.DataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		var made []string
		defer func() {
			if err != nil {
				for _, dir := range made {
					os.Remove(dir)
				}
			}
		}()
		if made, err = makeDirs(cfg.DataDir); err != nil {
			return err
		}
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("the data directory %s is not empty: restore only into a new or empty one (check --data)", config.RedactDir(cfg.DataDir))
	}
	started := time.Now()
	var sum contents
	accept := func([]string) (bool, error) { return acceptBroken, nil }
	r, err := sqlstore.Restore(ctx, src, cfg.DatabasePath(), verifyContents(ctx, out, &sum, accept))
	if se, ok := errors.AsType[*sqlstore.SchemaError](err); ok {
		return fmt.Errorf("%s is at schema %d, made by a newer parley; this parley expects %d: restore it with that parley", src, se.Database, se.Binary)
	} else if errors.Is(err, sqlstore.ErrDigestMismatch) {
		return fmt.Errorf("%s has changed since parley backup wrote it: it differs from its digest, %s; nothing was restored (to restore it all the same, unchecked, move the digest away)", src, src+sqlstore.DigestSuffix)
	} else if err != nil {
		return err
	}
	if !r.Digest {
		fmt.Fprintf(out, "%s has no digest beside it (%s): it was checked as a database, not byte for byte\n", src, filepath.Base(src)+sqlstore.DigestSuffix)
	}
	if binary := sqlstore.SchemaVersion(); r.Schema < binary {
		fmt.Fprintf(out, "restored %s into %s at schema %d, older than this parley's %d, unverified: run `parley db upgrade`\n", src, config.RedactDir(cfg.DataDir), r.Schema, binary)
		return nil
	}
	fmt.Fprintf(out, "restored %s into %s in %s: %s\n", src, config.RedactDir(cfg.DataDir), time.Since(started).Round(time.Millisecond), sum)
	return nil
}

// makeDirs makes the directory dir, and those above it that are missing,
// each for its owner alone (0700), and returns those it made, dir first.
func makeDirs(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); !errors.Is(err, fs.ErrNotExist) || d == filepath.Dir(d) {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o700); err != nil {
			return missing[i+1:], err
		}
	}
	return missing, nil
}

// contents is what a verified copy holds.
type contents struct {
	logs     accessLogs
	messages int64
}

func (c contents) String() string {
	// Every account's log is verified and counted, a deleted account's too:
	// "members" alone would count those among the members.
	chains := "every chain intact"
	if !c.logs.intact {
		chains = fmt.Sprintf("%d of them broken", len(c.logs.breaks))
	}
	return fmt.Sprintf("%s, %s (%s), %s", words.Count(c.messages, "message", "messages"),
		words.Count(c.logs.members, "member's access log", "members' access logs"), words.Count(c.logs.entries, "entry", "entries"), chains)
}

// verifyContents returns the verify function of a backup or a restore: it
// verifies every member's access-log chain, reporting each broken one on
// out, and counts into sum what the copy holds. A copy with broken chains
// fails, unless accept, given where they break, takes it.
func verifyContents(ctx context.Context, out io.Writer, sum *contents, accept func(breaks []string) (bool, error)) func(*sqlstore.DB) error {
	return func(db *sqlstore.DB) error {
		logs, err := verifyAccessLogs(ctx, db, out)
		if err != nil {
			return err
		}
		if !logs.intact {
			if ok, err := accept(logs.breaks); err != nil {
				return err
			} else if !ok {
				return errBackupUnverified
			}
		}
		counts, err := sqlstore.MessageCounts(ctx, db)
		if err != nil {
			return err
		}
		sum.logs = logs
		for _, n := range counts {
			sum.messages += n
		}
		return nil
	}
}
