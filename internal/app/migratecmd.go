package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"slices"
	"time"

	"github.com/parleyhq/parley/internal/bus"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/words"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// errUnverified makes migrate exit non-zero when the copy does not verify.
var errUnverified = errors.New("the copy does not verify")

// errBrokenLogCopied makes migrate exit non-zero when the copy's
// access-log chains break where the install's own break, and verifies
// otherwise.
var errBrokenLogCopied = errors.New("copied, but the install's access log does not verify: the copy's chains break where the install's break (above); find out why, with `parley access-log verify`, before trusting either")

func migrateCommand() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "migrate --from DIR --to URL",
		Short: "Copy an embedded install into a new PostgreSQL database, then verify the copy",
		Long: `Copy everything an embedded install holds into a new, empty PostgreSQL
database, as stored: members, friends, threads, messages, apps, grants,
tokens, sessions, keys and access logs. Members stay signed in and apps keep
their tokens. Then verify the copy: every member's access-log chain, and as
many messages in every thread as in the install. A PostgreSQL copy is
analysed first, so that its planner has statistics from the first query on,
not once autovacuum comes round. The command exits non-zero when anything
fails.

Stop the server first. migrate opens the install as the server does, folding
the reads its journal still holds into the access log, and refuses while a
server runs on it. The copy is of the install as it was when the copy
began: run no other parley command on it during the copy, or what that
changes is not in the copy. The
install must be at this parley's schema (run ` + "`parley db upgrade`" + ` first
if it is older), and is left as the server would leave it: its journal
folded, nothing else changed. The target must be empty: migrate refuses a database that holds any
Parley data, and a copy that fails leaves it empty; one that does not
verify stays, to be looked into. An install whose access log breaks is
copied as it is, and migrate says so and exits non-zero.

--to may also name a new data directory: the copy is then an embedded
database, verified the same way.`,
		Example: `  parley migrate --from ./data --to 'postgres://parley@db.internal:5432/parley'
  parley serve --database 'postgres://parley@db.internal:5432/parley'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return migrate(cmd.Context(), from, to, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "data directory of the install to copy, such as ./data")
	cmd.Flags().StringVar(&to, "to", "", "the new PostgreSQL database, postgres://user@host:port/name?options, or a new data directory")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

// migrate copies the install in the data directory from into the database
// to names, with a progress bar and any warning on progress, verifies the
// copy and reports on out.
func migrate(ctx context.Context, from, to string, out, progress io.Writer) error {
	target := to // what the summary names: a URL without its passwords
	if config.MeantAsDatabase(from) {
		// Not repeated: a URL given here, the flags swapped, may hold a
		// password.
		return errors.New("--from is the data directory of the embedded install to copy: migrate copies into PostgreSQL, not out of it; write a directory whose name begins like a URL or host= as ./NAME")
	}
	if err := mustBeURLOrDirectory(to); err != nil {
		return err
	}
	if sqlstore.IsPostgresURL(to) {
		if _, err := url.Parse(to); err != nil {
			return errors.New("--to: not a URL") // it may hold a password: not repeated
		}
		target = config.RedactURL(to)
	} else if same, err := sameDir(from, to); err != nil {
		return err
	} else if same {
		return errors.New("--to must be a PostgreSQL URL or a new data directory, not the install's own")
	}
	src, err := openStoreWith(ctx, config.Config{DataDir: from}, commandLog(progress), sqlstore.Current, false)
	if err != nil {
		return fmt.Errorf("open the install (stop its server first): %w", err)
	}
	defer src.Close()
	dst, err := openTarget(ctx, to)
	if err != nil {
		return fmt.Errorf("open %s: %w", target, err)
	}
	defer dst.Close()

	started := time.Now()
	var bar *progressbar.ProgressBar
	var rows int64
	err = sqlstore.Copy(ctx, src, dst, func(table string, done, total int64) {
		if bar == nil && total > 0 {
			bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(progress), progressbar.OptionSetWidth(30),
				progressbar.OptionShowCount(), progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts(),
				progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionSetPredictTime(true),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(progress) }))
		}
		if bar != nil {
			if table == "" {
				table = "copied"
			}
			bar.Describe(fmt.Sprintf("%-20s", table))
			bar.Set64(done)
		}
		rows = done
	})
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("copy into %s: %w", target, err)
	}
	// A database filled at once has no statistics until autovacuum comes
	// round: until then, the planner takes every table for a nearly empty one.
	if err := sqlstore.Analyze(ctx, dst); err != nil {
		return fmt.Errorf("analyze %s: %w", target, err)
	}
	fmt.Fprintf(out, "copied %s into %s in %s\n", words.Count(rows, "row", "rows"), target, time.Since(started).Round(time.Millisecond))
	return verifyCopy(ctx, src, dst, out)
}

// verifyCopy checks the copy: every member's access-log chain verifies on
// it, or breaks where the install's breaks, and every thread holds as many
// messages as in the source. It reports each failure and the summary on
// out.
func verifyCopy(ctx context.Context, src, dst *sqlstore.DB, out io.Writer) error {
	logs, err := verifyAccessLogs(ctx, dst, out)
	if err != nil {
		return err
	}
	brokenAsInstalled := false
	if !logs.intact {
		if brokenAsInstalled, err = breaksAsInstalled(ctx, src, logs.breaks); err != nil {
			return err
		}
	}
	failed := !logs.intact && !brokenAsInstalled
	want, err := sqlstore.MessageCounts(ctx, src)
	if err != nil {
		return err
	}
	got, err := sqlstore.MessageCounts(ctx, dst)
	if err != nil {
		return err
	}
	var messages int64
	for _, id := range slices.Sorted(maps.Keys(want)) {
		messages += want[id]
		if n, ok := got[id]; !ok || n != want[id] {
			failed = true
			fmt.Fprintf(out, "thread %s: %s in the copy, %d in the install\n", id, words.Count(n, "message", "messages"), want[id])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[id]; !ok {
			failed = true
			fmt.Fprintf(out, "thread %s: in the copy, not in the install\n", id)
		}
	}
	if failed {
		return errUnverified
	}
	threads := words.Count(len(want), "thread holds its", "threads hold their") + " " + words.Count(messages, "message", "messages")
	if brokenAsInstalled {
		fmt.Fprintf(out, "verified but for the access logs that break as the install's do: %s\n", threads)
		return errBrokenLogCopied
	}
	fmt.Fprintf(out, "verified: %s (%s); %s\n",
		words.Count(logs.members, "member's access log is intact", "members' access logs are intact"),
		words.Count(logs.entries, "entry", "entries"), threads)
	return nil
}

// accessLogs is what verifyAccessLogs found.
type accessLogs struct {
	members int   // members, each with an access log
	entries int64 // entries of all their logs
	intact  bool  // whether every chain verifies
	// breaks says where each chain that does not verify breaks, and why.
	breaks []string
}

// verifyAccessLogs verifies every member's access-log chain in db, as
// `parley access-log verify` does, and reports each broken one on out.
func verifyAccessLogs(ctx context.Context, db *sqlstore.DB, out io.Writer) (accessLogs, error) {
	events := bus.NewMemory(bus.DefaultBuffer)
	defer events.Close()
	svc := service.New(db, events, slog.New(slog.DiscardHandler), service.Options{})
	ctx = service.ConsoleContext(ctx) // as the operator, whoever called
	users, err := svc.Users(ctx)
	if err != nil {
		return accessLogs{}, err
	}
	logs := accessLogs{members: len(users), intact: true}
	for _, u := range users {
		v, err := svc.VerifyAccessLogOf(ctx, u.Username)
		if err != nil {
			return accessLogs{}, fmt.Errorf("verify the access log of %s: %w", u.Username, err)
		}
		logs.entries += v.Entries
		if !v.Intact {
			logs.intact = false
			broken := fmt.Sprintf("access log of %s: broken at entry %d: %s", u.Username, v.Break.Seq, v.Break.Reason)
			logs.breaks = append(logs.breaks, broken)
			fmt.Fprintln(out, broken)
		}
	}
	return logs, nil
}

// breaksAsInstalled reports whether the access-log chains of a copy break
// (breaks, as verifyAccessLogs reports them) exactly where the install's
// own chains break: then the copy is faithful, and the install's log is
// what is broken. The breaks are compared in one order, as each list
// follows its engine's order of usernames, which a collation of
// PostgreSQL's may set otherwise than SQLite.
func breaksAsInstalled(ctx context.Context, install *sqlstore.DB, breaks []string) (bool, error) {
	v, err := verifyAccessLogs(ctx, install, io.Discard)
	if err != nil {
		return false, err
	}
	return slices.Equal(slices.Sorted(slices.Values(v.breaks)), slices.Sorted(slices.Values(breaks))), nil
}

// mustBeURLOrDirectory refuses a --to that is neither a postgres:// URL
// nor plainly a directory: one that looks meant as a database (a
// keyword/value string, a scheme in capitals or misspelt, a slash
// missing) would otherwise become the name of a new data directory, the
// copy would report success, with the password, and PostgreSQL would stay
// empty. It does not repeat to, which may hold a password.
func mustBeURLOrDirectory(to string) error {
	if sqlstore.IsPostgresURL(to) || !config.MeantAsDatabase(to) {
		return nil
	}
	return errors.New("--to must be a PostgreSQL URL, postgres://user@host:port/name?options (in lower case, with both slashes), or a new data directory; write a directory whose name begins like a URL or host= as ./NAME")
}

// openTarget opens the database migrate copies into: PostgreSQL for a
// postgres:// URL, otherwise the embedded database of a data directory.
// It makes the schema where there is no Parley database, and otherwise
// opens the one there only at this binary's schema, changing nothing: a
// Parley database at another schema has been used, and must not be
// upgraded under the servers that may still run on it. But one at an
// older schema that holds nothing is what a migrate stopped while it made
// the schema (one migration a transaction) leaves: its schema is finished.
func openTarget(ctx context.Context, to string) (*sqlstore.DB, error) {
	where := to
	if !sqlstore.IsPostgresURL(to) {
		where = config.Config{DataDir: to}.DatabasePath()
	}
	open := func(schema sqlstore.Schema) (*sqlstore.DB, error) {
		if sqlstore.IsPostgresURL(to) {
			return sqlstore.OpenPostgresWith(ctx, to, schema)
		}
		return sqlstore.OpenSQLiteWith(ctx, where, sqlstore.SQLiteOptions{Schema: schema})
	}
	db, err := open(sqlstore.Create)
	if errors.Is(err, sqlstore.ErrDatabaseExists) {
		db, err = open(sqlstore.Current)
	}
	if se, ok := errors.AsType[*sqlstore.SchemaError](err); ok && se.Database < se.Binary {
		if empty, err := sqlstore.HoldsNothing(ctx, where); err != nil {
			return nil, err
		} else if empty {
			return open(sqlstore.Upgrade)
		}
	}
	if se, ok := errors.AsType[*sqlstore.SchemaError](err); ok {
		return nil, fmt.Errorf("it holds a parley database, at schema %d: migrate copies into an empty database only", se.Database)
	}
	return db, err
}

// sameDir reports whether from and to, migrate's install and target, name
// one directory. Its errors name the flag, not the path, which may be a
// database's URL mistyped, with its password.
func sameDir(from, to string) (bool, error) {
	fi, err := os.Stat(from)
	if err != nil {
		return false, fmt.Errorf("--from: %w", withoutPath(err))
	}
	ti, err := os.Stat(to)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("--to: %w", withoutPath(err))
	}
	return os.SameFile(fi, ti), nil
}

// withoutPath returns err without the path a *fs.PathError names.
func withoutPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}
