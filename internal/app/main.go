package app

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// IO is where a command reads and writes, so tests can run commands in process.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	Getenv   func(string) string
}

// Main runs the parley command line with args (without the program name).
// A server it runs stops gracefully when ctx is done (StopContext).
func Main(ctx context.Context, args []string, stdio IO) error {
	cfg, envErr := config.FromEnv(stdio.Getenv)
	root := &cobra.Command{
		Use:           "parley",
		Short:         "Parley: messaging with consent-first partner access",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	root.PersistentFlags().StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (PARLEY_DATA)")
	root.PersistentFlags().StringVar(&cfg.NATS, "nats", cfg.NATS, "NATS server with JetStream that carries events between nodes, nats://host:port; empty for one node; only serve connects to it (PARLEY_NATS)")
	root.PersistentFlags().StringVar(&cfg.KeysFile, "keys-file", cfg.KeysFile, "file, 0600, that holds the provider's signing and sealing keys instead of the database; made on first start; the same on every server (PARLEY_KEYS_FILE)")
	root.PersistentFlags().StringVar(&cfg.Database, "database", cfg.Database, "PostgreSQL URL, postgres://…, to keep everything in instead of the embedded database under --data (PARLEY_DATABASE)")
	// A URL from the environment may hold a password, which --help, showing
	// each flag's default, must not print.
	if f := root.PersistentFlags().Lookup("database"); f.DefValue != "" {
		f.DefValue = config.RedactURL(f.DefValue)
	}
	if f := root.PersistentFlags().Lookup("nats"); f.DefValue != "" {
		f.DefValue = config.RedactURLs(f.DefValue)
	}
	serve := serveCommand(&cfg, stdio)
	root.AddCommand(serve, userCommand(&cfg), appCommand(&cfg), accessLogCommand(&cfg), migrateCommand(), dbCommand(&cfg), auditCommand(&cfg), flagsCommand(&cfg), backupCommand(&cfg), restoreCommand(&cfg), keysCommand(&cfg))
	if envErr != nil {
		if cmd, _, _ := root.Find(args); cmd == serve {
			return serveFailed(stdio, slog.LevelInfo, envErr)
		}
		return envErr
	}
	return root.ExecuteContext(ctx)
}

// serveFailed writes why the server did not start or stopped, err, as a
// JSON line of its log at level, and returns err as Logged: a log read
// line by line as JSON (journalctl … | jq) must not stop at the one line
// that says why the service is down, a setting or flag refused included.
func serveFailed(stdio IO, level slog.Level, err error) error {
	newLogger(stdio.Err, level).Error("parley stopped on an error", "err", ErrorText(err))
	return loggedError{err}
}

// loggedError is an error the server wrote to its log already, which the
// parley command then does not print again (Logged).
type loggedError struct{ error }

func (e loggedError) Unwrap() error { return e.error }

// Logged reports whether err, which Main returned, is in the server's log
// already, as a JSON line like its others: the parley command prints it
// only if not.
func Logged(err error) bool {
	_, ok := errors.AsType[loggedError](err)
	return ok
}

// ErrorText is what the parley command prints for err, which Main
// returned: a Parley error as its message alone, as the API gives it
// ("give 1 to 10 redirect URIs", not "parley error: code=invalid
// message=…"), after whatever context wraps it; any other error as it is.
func ErrorText(err error) string {
	e, ok := errors.AsType[*parley.Error](err)
	if !ok {
		return err.Error()
	}
	return strings.Replace(err.Error(), e.Error(), e.Message, 1)
}

func serveCommand(cfg *config.Config, stdio IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := cfg.Validate()
			level := slog.LevelInfo
			if err == nil {
				level = cfg.Level()
			}
			log := newLogger(stdio.Err, level)
			if err == nil {
				// The OIDC library logs through slog's default logger, and
				// whatever uses the standard log package writes through it
				// too: both become JSON lines like the server's own.
				slog.SetDefault(log)
				for _, w := range cfg.Warnings() {
					log.Warn(w)
				}
				tuneGC(*cfg, stdio.Getenv)
				err = serve(cmd.Context(), *cfg, log)
			}
			if err != nil {
				return serveFailed(stdio, level, err)
			}
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return serveFailed(stdio, slog.LevelInfo, err) })
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (PARLEY_ADDR)")
	f.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "URL members and apps reach the server at, the OpenID Connect issuer (PARLEY_PUBLIC_URL; default http://ADDR)")
	f.StringVar(&cfg.Registration, "registration", cfg.Registration, "open or closed: whether anyone may create an account; open suits trials only (PARLEY_REGISTRATION)")
	f.StringVar(&cfg.TrustedProxies, "trusted-proxies", cfg.TrustedProxies, "reverse proxies, IP addresses or CIDR prefixes separated by commas, whose X-Forwarded-For header names the client; empty trusts no header (PARLEY_TRUSTED_PROXIES)")
	f.DurationVar(&cfg.SessionTTL, "session-ttl", cfg.SessionTTL, "how long a sign-in lasts (PARLEY_SESSION_TTL)")
	f.IntVar(&cfg.SignUpsPerAddress, "signups-per-address", cfg.SignUpsPerAddress, "accounts one client address may create through the API before each further one waits (PARLEY_SIGNUPS_PER_ADDRESS)")
	f.Float64Var(&cfg.RateLimitApp, "rate-limit-app", cfg.RateLimitApp, "requests a second an app may make to /api/v1 through all its tokens together (a public client's per member), and all apps together for one member, 0 for no limit (PARLEY_RATE_LIMIT_APP)")
	f.IntVar(&cfg.RateLimitAppBurst, "rate-limit-app-burst", cfg.RateLimitAppBurst, "requests an app may make at once (PARLEY_RATE_LIMIT_APP_BURST)")
	f.Float64Var(&cfg.RateLimitMember, "rate-limit-member", cfg.RateLimitMember, "requests a second a member may make to /api/v1 with their own sessions, and forms they may post on the pages, 0 for no limit (PARLEY_RATE_LIMIT_MEMBER)")
	f.IntVar(&cfg.RateLimitMemberBurst, "rate-limit-member-burst", cfg.RateLimitMemberBurst, "requests a member may make at once (PARLEY_RATE_LIMIT_MEMBER_BURST)")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (PARLEY_LOG_LEVEL)")
	f.IntVar(&cfg.ReportMinPeople, "report-min-people", cfg.ReportMinPeople, "the k of share reports: no number in one is counted from fewer people, at least 3 (PARLEY_REPORT_MIN_PEOPLE)")
	f.BoolVar(&cfg.WebhooksAllowPrivate, "webhooks-allow-private", cfg.WebhooksAllowPrivate, "let webhook endpoints be on loopback (127.0.0.1, ::1, localhost), over http too: for development and tests only")
	f.BoolVar(&cfg.AppsRequireReview, "apps-require-review", cfg.AppsRequireReview, "make the apps members register wait for an operator's approval (parley app approve, or /operator) before anyone may connect them (PARLEY_APPS_REQUIRE_REVIEW)")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "address of a listener of its own for /metrics, which is then served only there, not at --addr (PARLEY_METRICS_ADDR; default: at --addr, to this machine's clients only)")
	f.DurationVar(&cfg.DrainTime, "drain-time", cfg.DrainTime, "how long a server asked to stop goes on serving while /readyz answers 503, when a load balancer asked /readyz in the minute before; 0 stops at once (PARLEY_DRAIN_TIME)")
	f.IntVar(&cfg.MinFreeDiskMiB, "min-free-disk-mib", cfg.MinFreeDiskMiB, "free space in MiB of the data directory's disk under which /readyz answers 503 (PARLEY_MIN_FREE_DISK_MIB)")
	f.IntVar(&cfg.MemoryLimitMiB, "memory-limit-mib", cfg.MemoryLimitMiB, "soft memory limit of the Go runtime in MiB, 0 for none (PARLEY_MEMORY_LIMIT_MIB)")
	return cmd
}

// tuneGC sets the garbage collector for a server: a soft memory limit, and,
// under it, collections rarer than Go's default. The live heap is small,
// so the default (collect at twice the live heap) collects very often under
// load; the limit still bounds memory. At three times the live heap, and at
// least 8 MiB (Go's 4 MiB floor scaled by GOGC), collections cost a send no
// measurable CPU while the heap stays half what five times took
// (bench/README.md, "Footprint"). GOGC and GOMEMLIMIT, when set, win.
func tuneGC(cfg config.Config, getenv func(string) string) {
	if getenv("GOMEMLIMIT") != "" || getenv("GOGC") != "" || cfg.MemoryLimitMiB == 0 {
		return
	}
	debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	debug.SetGCPercent(200)
}

// serve runs a server until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	srv, err := OpenServer(ctx, cfg, log, parley.WallClock{})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve() }()
	select {
	case err := <-served:
		srv.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("parley shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.DrainTime+cfg.ShutdownTimeout)
	defer cancel()
	shutdownCtx, stop := cutShortOnSignal(shutdownCtx)
	defer stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("parley stopped")
	return <-served
}

func userCommand(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage members", PersistentPreRun: atConsole, Args: cobra.NoArgs, RunE: unknownSubcommand}
	var displayName string
	var passwordStdin, operator bool
	add := &cobra.Command{
		Use:   "add USERNAME --password-stdin [--display-name NAME]",
		Short: "Create a member, reading the password from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !passwordStdin {
				return errors.New("give the password on standard input with --password-stdin")
			}
			pw, err := readPassword(cmd, "Password for "+args[0]+": ")
			if err != nil {
				return err
			}
			return withService(cmd, *cfg, func(svc *service.Service) error {
				u, err := svc.CreateUser(cmd.Context(), service.NewAccount{Username: args[0], Password: pw, DisplayName: displayName, Operator: operator})
				if err != nil {
					return err
				}
				if u.Operator {
					fmt.Fprintf(cmd.OutOrStdout(), "created operator %s (%s)\n", u.Username, u.ID)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "created %s (%s)\n", u.Username, u.ID)
				}
				return nil
			})
		},
	}
	add.Flags().StringVar(&displayName, "display-name", "", "the name others see")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	add.Flags().BoolVar(&operator, "operator", false, "make the account an operator's: it may review apps at /operator")

	list := listCommand(cfg, "List members", "USERNAME\tDISPLAY NAME\tID\tCREATED\tOPERATOR\tSTATE",
		(*service.Service).Users, func(u *parley.User) string {
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%v\t%s", u.Username, u.DisplayName, u.ID, u.CreatedAt.Format(time.RFC3339), u.Operator, accountState(u))
		})
	cmd.AddCommand(add, list, operatorCommand(cfg, true), operatorCommand(cfg, false),
		passwdCommand(cfg), disableCommand(cfg, true), disableCommand(cfg, false),
		sessionsCommand(cfg), signOutCommand(cfg), renameCommand(cfg), deleteCommand(cfg))
	return cmd
}

// accountState is what `user list` says of an account: active, disabled
// (by an operator) or deleted (by its member or an operator; a deleted
// account is disabled too).
func accountState(u *parley.User) string {
	switch {
	case u.Deleted:
		return "deleted"
	case u.Disabled:
		return "disabled"
	}
	return "active"
}

// readPassword reads a password: from a terminal, twice, each after a
// prompt on standard error and without showing what is typed, and only if
// both are the same; otherwise the first line of standard input. Like
// readLine, it gives up when the command is stopped, and then gives the
// terminal back as it found it, echoing what is typed.
func readPassword(cmd *cobra.Command, prompt string) (string, error) {
	f, ok := cmd.InOrStdin().(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return readLine(cmd, "password")
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	var typed [2]string
	for i, p := range []string{prompt, "Again: "} {
		fmt.Fprint(cmd.ErrOrStderr(), p)
		pw, err := untilStopped(cmd, func() ([]byte, error) { return term.ReadPassword(fd) })
		fmt.Fprintln(cmd.ErrOrStderr())
		if errors.Is(err, errStopped) {
			term.Restore(fd, state)
		}
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		typed[i] = string(pw)
	}
	if typed[0] != typed[1] {
		return "", errors.New("the two passwords typed differ; nothing was changed")
	}
	return typed[0], nil
}

// readLine reads the first line of standard input, which holds what, or
// gives up when the command is stopped.
func readLine(cmd *cobra.Command, what string) (string, error) {
	line, err := untilStopped(cmd, func() (string, error) {
		return bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	})
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// errStopped is what a prompt returns when its command is stopped before
// the operator answered.
var errStopped = errors.New("stopped before an answer; nothing was changed")

// untilStopped returns what read, which waits for the operator, returns,
// or errStopped as soon as the command's context ends: StopContext takes
// Ctrl-C and SIGTERM from their default, ending the process, so a prompt
// has to give up itself. A read given up on ends with the process. A
// command stopped before its prompt starts no read: a password's would
// turn the terminal's echo off after the caller gave it back.
func untilStopped[T any](cmd *cobra.Command, read func() (T, error)) (T, error) {
	type answer struct {
		v   T
		err error
	}
	if cmd.Context().Err() != nil {
		var zero T
		return zero, errStopped
	}
	answered := make(chan answer, 1)
	go func() {
		v, err := read()
		answered <- answer{v, err}
	}()
	select {
	case a := <-answered:
		return a.v, a.err
	case <-cmd.Context().Done():
		var zero T
		return zero, errStopped
	}
}

// operatorCommand is `user grant-operator`, or `user revoke-operator` when
// grant is false.
func operatorCommand(cfg *config.Config, grant bool) *cobra.Command {
	use, short, done := "grant-operator USERNAME", "Make a member an operator, who may review apps at /operator", "is an operator"
	if !grant {
		use, short, done = "revoke-operator USERNAME", "Make an operator an ordinary member again", "is no longer an operator"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				u, err := svc.SetOperator(cmd.Context(), args[0], grant)
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", u.Username, done)
				}
				return err
			})
		},
	}
}

// unknownSubcommand is the RunE of a group of commands, such as `user`: it
// runs only when no subcommand of the group matched, and fails, so that a
// mistyped or missing subcommand exits non-zero. (Given arguments, the
// group's cobra.NoArgs fails first, naming the unknown command.)
func unknownSubcommand(cmd *cobra.Command, _ []string) error {
	return fmt.Errorf("%s needs a subcommand: see %s --help", cmd.CommandPath(), cmd.CommandPath())
}

// version is what `parley --version` prints: the module's version, the
// commit it was built from ("unknown" when the build recorded none) and
// the database schema version it expects.
func version() string {
	v, commit := build()
	return fmt.Sprintf("parley %s\ncommit %s\nschema %d", v, commit, sqlstore.SchemaVersion())
}

// build returns the binary's module version and the commit it was built
// from, each "unknown" when the binary does not record it.
func build() (version, commit string) {
	version, commit = "unknown", "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		version = info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	return version, commit
}

// atConsole runs a command as the server's console, which acts as an
// operator (service.ConsoleContext); it is the PersistentPreRun of the
// commands that manage members and apps and read their access logs.
func atConsole(cmd *cobra.Command, _ []string) {
	cmd.SetContext(service.ConsoleContext(cmd.Context()))
}

// listCommand is a `list` subcommand that prints a table: the header, then
// one tab-separated row per item fetch returns.
func listCommand[T any](cfg *config.Config, short, header string,
	fetch func(*service.Service, context.Context) ([]T, error), row func(T) string) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				items, err := fetch(svc, cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, header)
				for _, it := range items {
					fmt.Fprintln(tw, row(it))
				}
				return tw.Flush()
			})
		},
	}
}

// withService opens the store for an admin command. It works beside a
// running server: SQLite serialises the two processes' writes, and the
// server's journal of reads stays the server's; PostgreSQL serves both.
func withService(cmd *cobra.Command, cfg config.Config, fn func(*service.Service) error) error {
	return besideServer(cmd, cfg, func(srv *Server) error { return fn(srv.Service) })
}

// besideServer opens the store beside a running server, as withService
// does, for fn.
func besideServer(cmd *cobra.Command, cfg config.Config, fn func(*Server) error) error {
	return commandServer(cmd, cfg, asCommand, fn)
}

// withServersStopped runs fn as besideServer does, for a command the
// servers must be stopped for: refused while a server runs on the
// embedded database.
func withServersStopped(cmd *cobra.Command, cfg config.Config, fn func(*Server) error) error {
	return commandServer(cmd, cfg, asCommandAlone, fn)
}

// commandServer runs fn on a server opened for a command, as as says. A
// failure to close it fails the command: closing keeps the events of what
// it changed for the servers (bus.Outbox).
func commandServer(cmd *cobra.Command, cfg config.Config, as openAs, fn func(*Server) error) (err error) {
	srv, err := openServer(cmd.Context(), cfg, commandLog(cmd.ErrOrStderr()), parley.WallClock{}, as)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := srv.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("done, but closing the store afterwards failed: %w", cerr)
		} else if cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	return fn(srv)
}

// commandLog is the log of an admin command: its warnings, such as of a
// data file made private that others could read, on w (the command's
// standard error), without the time a server's log lines carry; what is
// below a warning is the server's to log.
func commandLog(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// newLogger returns the server's logger, JSON lines at level and above on
// w. It leaves out the state an app sent with its authorization request,
// which the OIDC library logs (in oidc_error) with every refusal it sends
// back to the app: the app's binding of the request to its user's
// browser, not the server's to keep.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if slices.Contains(groups, "oidc_error") && (a.Key == "state" || a.Key == "session_state") {
			return slog.Attr{}
		}
		return a
	}}))
}
