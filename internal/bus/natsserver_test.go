package bus_test

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// natsServer is a NATS server with JetStream of the test's own, on
// loopback, that the test may stop and start again, with or without the
// storage it had.
type natsServer struct {
	tb   testing.TB
	bin  string
	port int
	dir  string
	cmd  *exec.Cmd
}

func startNATSServer(tb testing.TB) *natsServer {
	tb.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if bin, err = exec.LookPath("/usr/sbin/nats-server"); err != nil {
			tb.Skip("no nats-server on the PATH")
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &natsServer{tb: tb, bin: bin, port: port, dir: tb.TempDir()}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's client URL.
func (s *natsServer) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", s.port) }

// Start starts the server on its storage and waits until it answers.
func (s *natsServer) Start() {
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
func (s *natsServer) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// LoseStorage makes the server start next on empty storage, as one in a
// container without a volume does.
func (s *natsServer) LoseStorage() { s.dir = s.tb.TempDir() }
