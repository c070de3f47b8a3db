package sqlstoretest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/parleyhq/parley/internal/freeport"
)

// OwnPostgres is a PostgreSQL server of one test's own, which the test may
// crash, as it must never crash the shared one: a cluster made by initdb
// in a directory of its own, listening on loopback on a free port, stopped
// and removed when the test ends.
type OwnPostgres struct {
	// URL is the address of its database postgres.
	URL string

	tb        testing.TB
	bin, data string
	start     []string
	owner     string // the OS account that runs it; "" for the test's own
}

// NewOwnPostgres makes and starts a PostgreSQL server of the test's own.
// It needs PostgreSQL's server programs (initdb, pg_ctl), found on the
// PATH or where Debian puts them, and, for a test run by root, which
// initdb refuses, the account postgres to run them as. Without them the
// test is skipped, except under CI=true, where it fails.
func NewOwnPostgres(tb testing.TB) *OwnPostgres {
	tb.Helper()
	p := &OwnPostgres{tb: tb}
	var missing error
	if p.bin, missing = serverPrograms(); missing == nil && os.Geteuid() == 0 {
		p.owner = "postgres"
		_, missing = user.Lookup(p.owner)
	}
	if missing != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("a PostgreSQL server of the test's own is required under CI: %v", missing)
		}
		tb.Skipf("cannot make a PostgreSQL server of the test's own: %v", missing)
	}
	// Not tb.TempDir: its parent is closed to every account but the
	// test's, and the server may run as another.
	dir, err := os.MkdirTemp("", "parley-postgres-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if p.owner != "" {
		if out, err := exec.Command("chown", p.owner, dir).CombinedOutput(); err != nil {
			tb.Fatalf("chown %s: %v: %s", dir, err, out)
		}
	}
	port, err := freeport.Get()
	if err != nil {
		tb.Fatal(err)
	}
	p.data = filepath.Join(dir, "data")
	p.run("initdb", "--no-sync", "--no-instructions", "--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C.UTF-8", "-D", p.data)
	p.start = []string{"-D", p.data, "-l", filepath.Join(dir, "log"), "-w", "-o",
		fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c max_connections=40", port, dir)}
	p.Start()
	// Stopped already if the test crashed it and failed to start it.
	tb.Cleanup(func() { p.command("pg_ctl", "stop", "-D", p.data, "-m", "immediate").Run() })
	p.URL = "postgres://postgres@127.0.0.1:" + strconv.Itoa(port) + "/postgres?sslmode=disable"
	return p
}

// HoldWALWriter stops the server's WAL writer (SIGSTOP) until Crash, as a
// busy server's is between its rounds: a commit that did not wait for the
// disk then stays in the server's memory, where a crash loses it. (One at
// rest would wake to write it out to the kernel at once, which a crash of
// PostgreSQL alone does not lose.)
func (p *OwnPostgres) HoldWALWriter() {
	p.tb.Helper()
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		p.tb.Fatal(err)
	}
	defer db.Close()
	var pid int
	if err := db.QueryRow(`SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'`).Scan(&pid); err != nil {
		p.tb.Fatalf("find the WAL writer: %v", err)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		p.tb.Fatalf("stop the WAL writer: %v", err)
	}
}

// Crash stops the server as a crash of PostgreSQL would, while its machine
// stays up: every process of it ends at once and writes nothing more, so
// what was only in its memory is lost. (A WAL writer held still ends when
// the server, after 5 seconds, kills what did not end.)
func (p *OwnPostgres) Crash() {
	p.tb.Helper()
	p.run("pg_ctl", "stop", "-D", p.data, "-m", "immediate")
}

// Start starts the server again, after Crash: it recovers from its WAL.
func (p *OwnPostgres) Start() {
	p.tb.Helper()
	p.run("pg_ctl", append([]string{"start"}, p.start...)...)
}

// run runs one of the server's programs, as its owner.
func (p *OwnPostgres) run(program string, args ...string) {
	p.tb.Helper()
	cmd := p.command(program, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		p.tb.Fatalf("%s: %v: %s", cmd, err, out)
	}
}

func (p *OwnPostgres) command(program string, args ...string) *exec.Cmd {
	path := filepath.Join(p.bin, program)
	if p.owner == "" {
		return exec.Command(path, args...)
	}
	return exec.Command("runuser", append([]string{"-u", p.owner, "--", path}, args...)...)
}

// serverPrograms returns the directory of initdb and pg_ctl: the PATH's,
// or else the newest of Debian's /usr/lib/postgresql/VERSION/bin.
func serverPrograms() (string, error) {
	if path, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(path), nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", fmt.Errorf("no initdb on the PATH nor in /usr/lib/postgresql/*/bin")
	}
	// Debian's versions are whole numbers; the newest sorts last only
	// among those of as many digits.
	newest := found[0]
	for _, f := range found[1:] {
		if len(f) > len(newest) || len(f) == len(newest) && f > newest {
			newest = f
		}
	}
	return filepath.Dir(newest), nil
}
