package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
)

// run runs the parley command in process on the install and returns what
// it printed.
func run(t *testing.T, install config.Config, stdin string, args ...string) (string, error) {
	t.Helper()
	return runEnv(t, install, nil, stdin, args...)
}

// runEnv runs the parley command as run does, with the environment env.
func runEnv(t *testing.T, install config.Config, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := app.Main(context.Background(), onInstall(install, args...), app.IO{
		In: strings.NewReader(stdin), Out: &out, Err: &errOut, Getenv: func(name string) string { return env[name] },
	})
	return out.String() + errOut.String(), err
}

// onInstall returns the arguments of a command with the flags that point it
// at the install.
func onInstall(install config.Config, args ...string) []string {
	args = append(args, "--data", install.DataDir)
	if install.Database != "" {
		args = append(args, "--database", install.Database)
	}
	return args
}

func TestCLI_User(t *testing.T) {
	dir := apptest.Install(t)
	t.Run("Add", func(t *testing.T) {
		out, err := run(t, dir, "s3cret-password\n", "user", "add", "Alice", "--display-name", "Alice A", "--password-stdin")
		if err != nil || !strings.Contains(out, "created alice") {
			t.Fatalf("user add: %q, %v", out, err)
		}
	})
	for name, tc := range map[string]struct {
		stdin string
		args  []string
		want  string
	}{
		"ErrTaken":         {"another-password\n", []string{"user", "add", "ALICE", "--password-stdin"}, "taken"},
		"ErrShortPassword": {"short\n", []string{"user", "add", "bob", "--password-stdin"}, "password must be"},
		"ErrNoStdinFlag":   {"", []string{"user", "add", "bob"}, "--password-stdin"},
		"ErrBadUsername":   {"long-enough-password\n", []string{"user", "add", "b!", "--password-stdin"}, "username"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := run(t, dir, tc.stdin, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("List", func(t *testing.T) {
		out, err := run(t, dir, "", "user", "list")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "USERNAME") || !strings.Contains(lines[1], "alice") || !strings.Contains(lines[1], "Alice A") {
			t.Fatalf("user list:\n%s", out)
		}
		if strings.Contains(out, "s3cret") || strings.Contains(out, "argon2") {
			t.Fatalf("user list shows a secret:\n%s", out)
		}
	})
	t.Run("SignInThroughAPI", func(t *testing.T) {
		env := apptest.Start(t, func(c *config.Config) {
			c.DataDir, c.Database, c.Registration = dir.DataDir, dir.Database, config.RegistrationClosed
		})
		if _, err := env.Client.SignIn(context.Background(), "alice", "s3cret-password"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConfig_Env(t *testing.T) {
	env := map[string]string{"PARLEY_ADDR": "127.0.0.1:9999", "PARLEY_DATA": "/tmp/x", "PARLEY_REGISTRATION": "closed"}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.DataDir != "/tmp/x" || cfg.Registration != "closed" {
		t.Fatalf("config = %+v", cfg)
	}
	cfg.Registration = "sometimes"
	if err := cfg.Validate(); err == nil {
		t.Fatal("registration=sometimes accepted")
	}
	if d := config.Default(); d.Addr != "127.0.0.1:8080" || d.DataDir != "./data" || d.Validate() != nil {
		t.Fatalf("defaults = %+v", d)
	}
}

// TestConfig_NATSMustBeANATSURL: PARLEY_NATS names NATS servers by
// nats:// or tls:// URLs; anything else is refused at start, without
// quoting a password the URL holds.
func TestConfig_NATSMustBeANATSURL(t *testing.T) {
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"PARLEY_NATS": "nats://nats-1.example:4222,tls://nats-2.example:4222"}[k]
	})
	if err != nil || cfg.NATS != "nats://nats-1.example:4222,tls://nats-2.example:4222" || cfg.Validate() != nil {
		t.Fatalf("PARLEY_NATS read as %q, %v, %v", cfg.NATS, err, cfg.Validate())
	}
	for _, bad := range []string{"http://nats-1.example:4222", "nats-1.example:4222", "nats://", "nats://nats-1.example:4222,http://u:s3cret@nats-2.example"} {
		cfg.NATS = bad
		if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NATS %q: %v", bad, err)
		}
	}
}

func TestCLI_App(t *testing.T) {
	dir := apptest.Install(t)
	if _, err := run(t, dir, "owner-password\n", "user", "add", "owner", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, dir, "", "app", "add", "--name", "Tunes", "--redirect-uri", "https://tunes.example/cb",
		"--redirect-uri", "https://tunes.example/cb2", "--purpose", "Songs for friends", "--owner", "owner")
	if err != nil {
		t.Fatalf("app add: %v\n%s", err, out)
	}
	var clientID, secret string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id:"); ok {
			clientID = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(clientID, "pc_") || !strings.HasPrefix(secret, "pcs_") {
		t.Fatalf("app add printed:\n%s", out)
	}
	t.Run("Public", func(t *testing.T) {
		out, err := run(t, dir, "", "app", "add", "--name", "Phone", "--redirect-uri", "com.example.phone:/cb", "--public")
		if err != nil || strings.Contains(out, "client_secret") {
			t.Fatalf("public app add: %v\n%s", err, out)
		}
	})
	t.Run("ErrUnknownOwner", func(t *testing.T) {
		_, err := run(t, dir, "", "app", "add", "--name", "X", "--redirect-uri", "https://x.example/cb", "--owner", "nobody")
		if err == nil || !strings.Contains(err.Error(), "nobody") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ApproveAndSuspend", func(t *testing.T) {
		if _, err := run(t, dir, "", "app", "approve", clientID, "--reach", "selected"); err == nil {
			t.Fatal("approve --reach selected accepted")
		}
		if out, err := run(t, dir, "", "app", "approve", clientID, "--reach", "all"); err != nil {
			t.Fatalf("approve: %v\n%s", err, out)
		}
		if out, err := run(t, dir, "", "app", "suspend", clientID); err != nil {
			t.Fatalf("suspend: %v\n%s", err, out)
		}
		if _, err := run(t, dir, "", "app", "suspend", "pc_nonexistent"); err == nil {
			t.Fatal("suspending an unknown app succeeded")
		}
		if out, err := run(t, dir, "", "app", "unsuspend", clientID); err != nil || !strings.HasSuffix(out, " is active\n") {
			t.Fatalf("unsuspend: %v\n%s", err, out)
		}
		if out, err := run(t, dir, "", "app", "suspend", clientID); err != nil {
			t.Fatalf("suspend again: %v\n%s", err, out)
		}
		want := []string{parley.ActionAppSuspend, parley.ActionAppReinstate, parley.ActionAppSuspend, parley.ActionAppApproveAll, parley.ActionAppAdd}
		var got []string
		for _, a := range decisions(t, dir) {
			if a.Subject == clientID {
				got = append(got, a.Action)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("decisions recorded about the app, latest first: %v, want %v", got, want)
		}
		out, err := run(t, dir, "", "app", "list")
		if err != nil {
			t.Fatal(err)
		}
		var row string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, clientID) {
				row = line
			}
		}
		if fields := strings.Fields(row); len(fields) < 5 || fields[3] != "owner" || fields[4] != "suspended" {
			t.Fatalf("app list row %q; want its owner and suspended", row)
		}
		if strings.Contains(out, secret) {
			t.Fatal("app list shows the secret")
		}
	})
}

// Operator accounts are made with user add --operator or grant-operator,
// and undone with revoke-operator; each is recorded as the console's
// decision.
// An app's name from the command line is held to what the API holds it to:
// one that is not valid UTF-8 (which no JSON body can carry) is refused,
// not stored, where SQLite would keep it and PostgreSQL refuse it with an
// internal error (and so would `parley migrate` copying it there).
func TestCLI_AppNameNotText(t *testing.T) {
	dir := apptest.Install(t)
	out, err := run(t, dir, "", "app", "add", "--name", "Tunes\xff", "--redirect-uri", "https://tunes.example/cb")
	if err == nil || !strings.Contains(err.Error(), "name must be") {
		t.Fatalf("app add with a name that is not UTF-8: %v\n%s", err, out)
	}
	if out, err := run(t, dir, "", "app", "list"); err != nil || strings.Contains(out, "Tunes") {
		t.Fatalf("app list after the refusal: %v\n%s", err, out)
	}
}

func TestCLI_Operators(t *testing.T) {
	dir := apptest.Install(t)
	out, err := run(t, dir, "op-password-long\n", "user", "add", "Olga", "--operator", "--password-stdin")
	if err != nil || !strings.Contains(out, "created operator olga") {
		t.Fatalf("user add --operator: %q, %v", out, err)
	}
	if _, err := run(t, dir, "bob-password-long\n", "user", "add", "bob", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, dir, "", "user", "grant-operator", "BOB"); err != nil || !strings.Contains(out, "bob is an operator") {
		t.Fatalf("grant-operator: %q, %v", out, err)
	}
	if out, err := run(t, dir, "", "user", "revoke-operator", "olga"); err != nil || !strings.Contains(out, "olga is no longer an operator") {
		t.Fatalf("revoke-operator: %q, %v", out, err)
	}
	if _, err := run(t, dir, "", "user", "grant-operator", "nobody"); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Fatalf("grant-operator of no one: %v", err)
	}
	out, err = run(t, dir, "", "user", "list")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		fields := strings.Fields(line)
		if want := fmt.Sprint(fields[0] == "bob"); fields[len(fields)-2] != want {
			t.Errorf("user list: %q, want operator %s", line, want)
		}
	}
	actions := decisions(t, dir)
	var got []string
	for _, a := range actions {
		if a.Actor != parley.OperatorConsole || a.ActorID != "" {
			t.Errorf("decision %+v not the console's", a)
		}
		got = append(got, a.Action+" "+a.SubjectName)
	}
	want := []string{"user.revoke_operator olga", "user.grant_operator bob", "user.add bob", "user.grant_operator olga", "user.add olga"}
	if !slices.Equal(got, want) {
		t.Fatalf("decisions, latest first:\n%v\nwant\n%v", got, want)
	}
}

// decisions returns the operators' decisions, latest first, as `parley
// audit --json` lists them.
func decisions(t *testing.T, install config.Config) []*parley.OperatorAction {
	t.Helper()
	out, err := run(t, install, "", "audit", "--json", "--limit", "1000")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	var actions []*parley.OperatorAction
	for line := range strings.Lines(out) {
		var a parley.OperatorAction
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("audit --json line %q: %v", line, err)
		}
		actions = append(actions, &a)
	}
	return actions
}

func TestCLI_AccessLogVerify(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Tunes")
	env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
	dir := env.Server.Config

	out, err := run(t, dir, "", "access-log", "verify", "alice")
	if err != nil || !strings.Contains(out, "intact: 1 entry,") {
		t.Fatalf("verify: %q, %v", out, err)
	}
	err = sqlstore.TamperAccessEntry(context.Background(), env.Server.Store, apptest.MustMe(t, alice).ID, 1,
		func(e *parley.AccessEntry) { e.AppName = "Someone else" })
	if err != nil {
		t.Fatal(err)
	}
	out, err = run(t, dir, "", "access-log", "verify", "alice")
	if err == nil || !strings.Contains(out, "broken at entry 1") {
		t.Errorf("verify after tampering: %q, %v", out, err)
	}
	if _, err := run(t, dir, "", "access-log", "verify", "nobody"); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("verify of an unknown member: %v", err)
	}
}

// crashedWithAReadInTheJournal starts an embedded install in which alice
// granted the app Tunes, stops it, and writes a read of Tunes for her in
// its journal of reads, as a server that crashed before folding it leaves
// one (the journal is a file of the embedded database's). It returns the
// install's configuration and alice's ID.
func crashedWithAReadInTheJournal(t *testing.T) (config.Config, string) {
	t.Helper()
	env := apptest.Start(t, embedded(t.TempDir()))
	alice := apptest.MustMe(t, env.MustMember(t, "alice"))
	partner := env.MustPartner(t, "Tunes")
	env.MustToken(t, partner, "alice", []string{"openid"}, apptest.Answer{})
	dir := env.Server.Config
	env.Stop()
	read := parley.AccessRecord{UserIDs: []string{alice.ID}, Entry: parley.AccessEntry{At: parley.Now(),
		ClientID: partner.App.ClientID, AppName: "Tunes", GrantID: "g", Action: string(parley.ScopeProfile)}}
	if err := sqlstore.JournalReads(dir.DatabasePath(), []parley.AccessRecord{read}); err != nil {
		t.Fatal(err)
	}
	return dir, alice.ID
}

// `parley access-log verify` on a stopped install verifies the reads its
// journal still holds, as a server that crashed before folding them left
// them: it opens the database as a server does, which folds them.
func TestCLI_AccessLogVerifyFoldsWhatACrashLeft(t *testing.T) {
	dir, _ := crashedWithAReadInTheJournal(t)
	if out, err := run(t, dir, "", "access-log", "verify", "alice"); err != nil || !strings.Contains(out, "intact: 2 entries") {
		t.Fatalf("verify: %q, %v; want the journaled read among the entries", out, err)
	}
}

// A command that appends to a member's access log, run on a stopped
// install, first moves in the reads a crash left in the journal, as the
// server does when it starts: the log keeps them before the command's own
// entries, in the order things happened, and never shows an app reading
// after its grant was revoked.
func TestCLI_CommandFoldsWhatACrashLeftFirst(t *testing.T) {
	dir, aliceID := crashedWithAReadInTheJournal(t)
	if out, err := run(t, dir, "", "user", "disable", "alice"); err != nil {
		t.Fatalf("user disable: %q, %v", out, err)
	}
	db, err := openStore(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var actions []string
	err = db.Read(context.Background(), func(tx parley.Tx) error {
		entries, err := tx.FindAccessEntries(context.Background(), parley.AccessFilter{UserID: aliceID, Ascending: true, Limit: 100})
		for _, e := range entries {
			actions = append(actions, e.Action)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	read1, revoked := slices.Index(actions, string(parley.ScopeProfile)), slices.Index(actions, parley.ActionGrantRevokedByOperator)
	if read1 < 0 || revoked < 0 || read1 > revoked {
		t.Fatalf("alice's log, oldest first: %q; want the journaled read before the revocation", actions)
	}
}

// TestCLI_AppSuspendEndsStreams: `parley app suspend`, run beside the
// server, ends the app's realtime streams on the server within a second or
// so, though the command's process has no way to tell the server's.
func TestCLI_AppSuspendEndsStreams(t *testing.T) {
	env := apptest.Start(t)
	alice := env.MustMember(t, "alice")
	partner := env.MustPartner(t, "Listener")
	tok := env.MustToken(t, partner, "alice", []string{"openid", "messages.read"}, apptest.Answer{})
	stream, err := env.Client.WithToken(tok.AccessToken).Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	own, err := alice.Events(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if out, err := run(t, env.Server.Config, "", "app", "suspend", partner.App.ClientID); err != nil {
		t.Fatalf("suspend: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = stream.Next(ctx)
	if ctx.Err() != nil {
		t.Fatal("the suspended app's stream is still open after 2s")
	}
	if status := websocket.CloseStatus(err); status != websocket.StatusPolicyViolation {
		t.Fatalf("the stream ended with %v, want close status 1008", err)
	}
	// The member's own stream stays open.
	quiet, stop := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer stop()
	if _, err := own.Next(quiet); quiet.Err() == nil {
		t.Fatalf("alice's own stream ended: %v", err)
	}
}

// --help shows the database and NATS URLs the environment gives as the
// flags' defaults, but never a password in them.
func TestCLI_HelpHidesPasswordsOfTheEnvironment(t *testing.T) {
	env := map[string]string{
		"PARLEY_DATABASE": "postgres://parley:db-password@127.0.0.1:5432/parley?sslpassword=key-password",
		"PARLEY_NATS":     "nats://bus:nats-password@127.0.0.1:4222",
	}
	var out bytes.Buffer
	err := app.Main(context.Background(), []string{"serve", "--help"}, app.IO{
		In: strings.NewReader(""), Out: &out, Err: &out, Getenv: func(name string) string { return env[name] },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"postgres://parley:xxxxx@127.0.0.1:5432/parley", "nats://bus:xxxxx@127.0.0.1:4222"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not show %s:\n%s", want, out.String())
		}
	}
	for _, secret := range []string{"db-password", "key-password", "nats-password"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("--help shows %q:\n%s", secret, out.String())
		}
	}
}

// --help hides the credentials of every NATS server the environment names,
// in the form the README gives for a cluster (several URLs separated by
// commas), and a token, which a NATS URL holds where a user name goes.
func TestCLI_HelpHidesNATSCredentials(t *testing.T) {
	for _, nats := range []string{
		"nats://bus:nats-password-1@127.0.0.1:4222,nats://bus:nats-password-2@127.0.0.2:4222",
		"nats://nats-password-token@127.0.0.1:4222",
	} {
		var out bytes.Buffer
		err := app.Main(context.Background(), []string{"serve", "--help"}, app.IO{
			In: strings.NewReader(""), Out: &out, Err: &out, Getenv: func(name string) string {
				if name == "PARLEY_NATS" {
					return nats
				}
				return ""
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), "nats-password") {
			t.Errorf("with PARLEY_NATS=%s, --help shows a password:\n%s", nats, out.String())
		}
	}
}

// The command prints a refusal as the API words it, not as Go's error
// value: "parley: give 1 to 10 redirect URIs".
func TestCLI_RefusalsPrintTheirMessage(t *testing.T) {
	dir := apptest.Install(t)
	_, err := run(t, dir, "", "app", "add", "--name", "Movie Club")
	if got, want := app.ErrorText(err), "give 1 to 10 redirect URIs"; got != want {
		t.Errorf("app add without a redirect URI printed %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("backup: %w", parley.Errorf(parley.ENOTFOUND, "no such file"))
	if got, want := app.ErrorText(wrapped), "backup: no such file"; got != want {
		t.Errorf("a wrapped refusal printed %q, want %q", got, want)
	}
	if got, want := app.ErrorText(errors.New("disk I/O error")), "disk I/O error"; got != want {
		t.Errorf("another error printed %q, want %q", got, want)
	}
}
