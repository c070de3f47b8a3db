package apptest

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// NATS returns the URL of the NATS server, with JetStream, that tests of
// several nodes use: PARLEY_TEST_NATS, by default nats://127.0.0.1:4222.
// The test is skipped when the server does not answer, except under
// CI=true, where it fails.
func NATS(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv("PARLEY_TEST_NATS")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("NATS at %s is required under CI: %v", url, err)
		}
		tb.Skipf("no NATS at %s (set PARLEY_TEST_NATS): %v", url, err)
	}
	nc.Close()
	return url
}

// NATSServer is a NATS server with JetStream of a test's own, on loopback,
// that the test may stop and start again, with or without the storage it
// had: for what a node does when NATS goes away, which the shared server
// of NATS must not be put through.
type NATSServer struct {
	tb   testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// StartNATSServer starts a NATSServer, stopped when the test ends. The
// test is skipped without nats-server, except under CI=true, where it
// fails.
func StartNATSServer(tb testing.TB) *NATSServer {
	tb.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		bin, err = exec.LookPath("/usr/sbin/nats-server")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("nats-server is required under CI: %v", err)
		}
		tb.Skip("no nats-server on the PATH")
	}
	s := &NATSServer{tb: tb, bin: bin, port: FreePort(tb), dir: tb.TempDir()}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's client URL.
func (s *NATSServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Start starts the server on its storage and waits until it answers.
func (s *NATSServer) Start() {
	s.tb.Helper()
	s.cmd = exec.Command(s.bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(s.port), "-sd", s.dir)
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		nc, err := nats.Connect(s.URL())
		if err == nil {
			nc.Close()
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("nats-server on %s did not start: %v", s.URL(), err)
		}
	}
}

// Stop stops the server, as a crash would.
func (s *NATSServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// LoseStorage makes the server start next on empty storage, as one in a
// container without a volume does.
func (s *NATSServer) LoseStorage() { s.dir = s.tb.TempDir() }
