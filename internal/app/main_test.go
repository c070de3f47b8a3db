package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestMain lets the test binary double as the parley command, so process
// tests can start, kill and restart a real server; as a test binary it
// runs the tests through sqlstoretest.Main.
func TestMain(m *testing.M) {
	if os.Getenv("PARLEY_TEST_AS_COMMAND") == "1" {
		ctx, stop := app.StopContext(context.Background())
		err := app.Main(ctx, os.Args[1:], app.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
		stop()
		if err != nil {
			if !app.Logged(err) {
				fmt.Fprintln(os.Stderr, "parley:", err)
			}
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(sqlstoretest.Main(m))
}

// process is a parley server running as a child process.
type process struct {
	cmd  *exec.Cmd
	url  string
	logs *apptest.SyncBuffer
	done chan error
	// exited is closed once the process has exited, whoever took its
	// error from done.
	exited chan struct{}
}

// startProcess runs `parley serve` on a free loopback port with the flags,
// such as --data DIR.
func startProcess(t *testing.T, flags ...string) *process {
	t.Helper()
	return startCommand(t, exec.Command(os.Args[0], serveArgs(flags)...))
}

// serveArgs are the arguments of `parley serve` on a free loopback port
// with the flags.
func serveArgs(flags []string) []string {
	return append([]string{"serve", "--addr", "127.0.0.1:0"}, flags...)
}

// startCommand runs cmd, which runs this test binary as parley with
// serveArgs, perhaps through another program, such as nohup.
func startCommand(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	cmd.Env = append(os.Environ(), "PARLEY_TEST_AS_COMMAND=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, logs: &apptest.SyncBuffer{}, done: make(chan error, 1), exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, apptest.RecordLogs(p.logs)))
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "parley serving" {
				addr <- line.Addr
			}
		}
		p.done <- cmd.Wait()
		close(p.exited)
	}()
	// Killed and gone before the cleanups registered earlier run, such as
	// the drop of the test's PostgreSQL schema, which a node still at work
	// on it could deadlock.
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	select {
	case a := <-addr:
		p.url = "http://" + a
	case err := <-p.done:
		t.Fatalf("server exited before serving: %v\n%s", err, p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start:\n%s", p.logs)
	}
	return p
}

// TestDurability_KillDashNine kills the server mid-load and checks that every
// acknowledged message is there after a restart, with its seq, and that seqs
// stay dense.
func TestDurability_KillDashNine(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	// The load sends far faster than a member may: the limit is lifted.
	p := startProcess(t, "--data", dataDir, "--rate-limit-member", "0")
	anon := client.New(p.url)
	sign := func(name string) *client.Client {
		if _, err := anon.CreateAccount(ctx, name, apptest.Password(name), ""); err != nil {
			t.Fatal(err)
		}
		s, err := anon.SignIn(ctx, name, apptest.Password(name))
		if err != nil {
			t.Fatal(err)
		}
		return anon.WithToken(s.Token)
	}
	alice, bob := sign("alice"), sign("bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")

	var mu sync.Mutex
	acked := map[string]ack{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			sender := alice
			if w%2 == 1 {
				sender = bob
			}
			for i := 0; ; i++ {
				text := fmt.Sprintf("worker %d message %d", w, i)
				m, err := sender.SendMessage(ctx, th.ID, text, fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					return // the server is gone; this send was never acknowledged
				}
				mu.Lock()
				acked[m.ID] = ack{m.Seq, text}
				mu.Unlock()
			}
		})
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 1500 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	wg.Wait()

	restarted := startProcess(t, "--data", dataDir)
	stored := readThread(t, client.New(restarted.url).WithToken(alice.Token()), th.ID)
	mustHoldAcknowledged(t, acked, stored)
	t.Logf("%d acknowledged, %d stored after kill -9", len(acked), len(stored))
}

// ack is a message as the server acknowledged it.
type ack struct {
	seq  int64
	text string
}

// storedMessage is a message as a server reads it back.
type storedMessage struct {
	ID   string
	Seq  int64
	Text string
}

// readThread reads every message of a thread, oldest first.
func readThread(t *testing.T, c *client.Client, threadID string) []storedMessage {
	t.Helper()
	var all []storedMessage
	for after := int64(0); ; {
		page, err := c.Messages(context.Background(), threadID, client.MessagesQuery{After: client.Seq(after), Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Messages {
			all = append(all, storedMessage{m.ID, m.Seq, m.Text})
			after = m.Seq
		}
		if !page.HasMore {
			return all
		}
	}
}

// mustHoldAcknowledged fails the test unless the thread's messages, read
// back, run 1 … n with no gap and hold every acknowledged message with the
// seq and text it was acknowledged with.
func mustHoldAcknowledged(t *testing.T, acked map[string]ack, stored []storedMessage) {
	t.Helper()
	found := map[string]ack{}
	for i, m := range stored {
		if m.Seq != int64(i+1) {
			t.Fatalf("seq %d at position %d: a gap", m.Seq, i+1)
		}
		found[m.ID] = ack{m.Seq, m.Text}
	}
	lost := 0
	for id, a := range acked {
		if found[id] != a {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged messages lost or changed", lost, len(acked))
	}
}

// A server stops gracefully, and exits 0, on SIGTERM (systemd, container
// runtimes), SIGINT (Ctrl-C) and SIGHUP (its terminal closed): not cut off
// mid-write, as a signal it does not handle would do.
func TestServe_GracefulShutdown(t *testing.T) {
	t.Parallel() // it waits on processes starting and stopping
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startProcess(t, "--data", t.TempDir())
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			p.wantStopped(t)
		})
	}
}

// A server started with SIGHUP ignored, under nohup, goes on serving when
// its terminal closes: that is what nohup is for.
func TestServe_UnderNohupSIGHUPIsIgnored(t *testing.T) {
	nohup, err := exec.LookPath("nohup")
	if err != nil {
		t.Fatal(err) // coreutils', on every Debian
	}
	p := startCommand(t, exec.Command(nohup, append([]string{os.Args[0]}, serveArgs([]string{"--data", t.TempDir()})...)...))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	// The server's answer to a request sent after the signal was taken is
	// the proof it still serves.
	time.Sleep(200 * time.Millisecond)
	if _, err := client.New(p.url).CreateAccount(context.Background(), "alice", apptest.Password("alice"), ""); err != nil {
		t.Fatalf("after SIGHUP under nohup: %v\n%s", err, p.logs)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.wantStopped(t)
}

// wantStopped waits for the process to exit after a signal that stops it,
// and expects the exit to be clean and logged.
func (p *process) wantStopped(t *testing.T) {
	t.Helper()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, p.logs)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after the signal")
	}
	if !strings.Contains(p.logs.String(), `"msg":"parley stopped"`) {
		t.Fatalf("logs lack the shutdown:\n%s", p.logs)
	}
}

// A client still sending its body when the shutdown's time runs out (a
// slow upload, which anyone may make) is cut off: the stop is no failure,
// and nothing the client sent was acknowledged.
func TestServe_ShutdownCutsOffWhatIsStillInFlight(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.ShutdownTimeout = time.Second })
	conn := startSlowUpload(t, env.URL)
	env.Stop() // fails the test if the stop does
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("the slow upload's connection after the stop: read %d bytes, %v; want it cut", n, err)
	}
}

// TestServe_RefusesADatabaseAsItsDataDirectory: `parley serve` given a
// PostgreSQL URL as its data directory (--data, or PARLEY_DATA set where
// PARLEY_DATABASE was meant) exits non-zero, naming --database, rather
// than serve a new embedded database under ./postgres: while its operator
// believes it shares PostgreSQL, and log the password as the directory's
// name.
func TestServe_RefusesADatabaseAsItsDataDirectory(t *testing.T) {
	for name, tc := range map[string]struct{ flags, env []string }{
		"Flag":        {flags: []string{"--data", passwordURL}},
		"Environment": {env: []string{"PARLEY_DATA=" + passwordURL}},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], serveArgs(tc.flags)...)
			cmd.Dir = t.TempDir()
			cmd.Env = append(append(os.Environ(), "PARLEY_TEST_AS_COMMAND=1"), tc.env...)
			out, err := cmd.CombinedOutput()
			if exit, ok := errors.AsType[*exec.ExitError](err); !ok || exit.ExitCode() != 1 || !strings.Contains(string(out), "give a PostgreSQL URL to --database") {
				t.Errorf("parley serve: %v\n%s; want it to exit 1, naming --database", err, out)
			}
			if strings.Contains(string(out), "s3cret") {
				t.Errorf("parley serve printed the password:\n%s", out)
			}
			if made, _ := os.ReadDir(cmd.Dir); len(made) > 0 {
				t.Errorf("parley serve made %s in its working directory", made[0].Name())
			}
		})
	}
}

// TestServe_EveryLogLineIsJSON: what the server writes to standard error is
// JSON lines only, including what the OIDC library logs through slog's
// default logger (it logs each route it registers at start). net/http's own
// log is the server's ErrorLog, a JSON logger too; nothing a client sends
// makes it write.
func TestServe_EveryLogLineIsJSON(t *testing.T) {
	p := startProcess(t, "--data", t.TempDir())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatal("no exit 20s after SIGTERM")
	}
	for line := range strings.Lines(p.logs.String()) {
		if !json.Valid([]byte(line)) {
			t.Errorf("a log line is not JSON: %s", line)
		}
	}
	if !strings.Contains(p.logs.String(), `"msg":"registered route"`) {
		t.Errorf("no log line is the OIDC library's; the test no longer exercises its logger:\n%s", p.logs)
	}
}

// TestServe_AServerThatCannotStartSaysWhyInJSON: a server that stops on an
// error, a setting or flag refused or its address taken, says why in its
// log as a JSON line like its others, and nothing else on standard error:
// the log read line by line as JSON (journalctl … | jq, as docs/deploy.md
// reads it) must not stop at the one line that tells why the service is
// down.
func TestServe_AServerThatCannotStartSaysWhyInJSON(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for name, tc := range map[string]struct {
		flags, env []string
		why        string
	}{
		"AddressTaken":         {flags: []string{"--addr", taken.Addr().String()}, why: "address already in use"},
		"ConfigurationRefused": {flags: []string{"--session-ttl", "1s"}, why: "session TTL 1s is under a minute"},
		"FlagUnreadable":       {flags: []string{"--session-ttl", "forever"}, why: `invalid duration "forever"`},
		"EnvironmentRefused":   {env: []string{"PARLEY_MEMORY_LIMIT_MIB=lots"}, why: "PARLEY_MEMORY_LIMIT_MIB"},
	} {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], append(serveArgs([]string{"--data", t.TempDir()}), tc.flags...)...)
			cmd.Env = append(append(os.Environ(), "PARLEY_TEST_AS_COMMAND=1"), tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if exit, ok := errors.AsType[*exec.ExitError](cmd.Run()); !ok || exit.ExitCode() != 1 {
				t.Fatalf("parley serve exited %v; want 1:\n%s", cmd.ProcessState, stderr.String())
			}
			said := false
			for line := range strings.Lines(stderr.String()) {
				var l struct{ Level, Err string }
				if json.Unmarshal([]byte(line), &l) != nil {
					t.Errorf("a line on standard error is not JSON: %s", line)
				}
				said = said || l.Level == "ERROR" && strings.Contains(l.Err, tc.why)
			}
			if !said {
				t.Errorf("no ERROR line says %q:\n%s", tc.why, stderr.String())
			}
		})
	}
}
