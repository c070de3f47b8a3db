package app_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// TestNodes_NATSDownHoldsNoRequestLong: while NATS cannot be reached, a
// request that changes something is answered within a few seconds,
// however many events it publishes: deleting an account publishes one for
// each message the member sent, and waiting out the publish timeout for
// each of them held the request for minutes.
func TestNodes_NATSDownHoldsNoRequestLong(t *testing.T) {
	srv := startNATS(t)
	env := apptest.Start(t, func(c *config.Config) { c.NATS = srv.url })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := range 10 {
		apptest.MustSend(t, alice, th.ID, fmt.Sprint("message ", i))
	}

	srv.stop()
	start := time.Now()
	apptest.MustSend(t, bob, th.ID, "while NATS is down")
	t.Logf("a message sent while NATS was down took %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := alice.DeleteAccount(context.Background(), apptest.Password("alice")); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("deleting an account of 10 messages took %s while NATS was down", took.Round(time.Millisecond))
	}
}

// natsServer is a NATS server with JetStream of the test's own, on
// loopback, that the test may stop.
type natsServer struct {
	url string
	cmd *exec.Cmd
}

func startNATS(tb testing.TB) *natsServer {
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
	s := &natsServer{url: fmt.Sprintf("nats://127.0.0.1:%d", port)}
	s.cmd = exec.Command(bin, "-js", "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-sd", tb.TempDir())
	if err := s.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.stop)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		nc, err := nats.Connect(s.url)
		if err == nil {
			nc.Close()
			return s
		}
		if time.Now().After(deadline) {
			tb.Fatalf("nats-server on %s did not start: %v", s.url, err)
		}
	}
}

// stop stops the server, as a crash would.
func (s *natsServer) stop() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}
