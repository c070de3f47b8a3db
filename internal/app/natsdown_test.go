package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// TestNodes_NATSDownHoldsNoRequestLong: while NATS cannot be reached, a
// request that changes something is answered within a few seconds,
// however many events it publishes: deleting an account publishes one for
// each message the member sent, and waiting out the publish timeout for
// each of them held the request for minutes.
func TestNodes_NATSDownHoldsNoRequestLong(t *testing.T) {
	srv := apptest.StartNATSServer(t)
	env := apptest.Start(t, func(c *config.Config) { c.NATS = srv.URL() })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	for i := range 10 {
		apptest.MustSend(t, alice, th.ID, fmt.Sprint("message ", i))
	}

	srv.Stop()
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

// An operator learns from /metrics that a node lost NATS, and how many
// events it could not send on meanwhile: /readyz stays ready (the node
// still stores every change), so the metrics are where an alert looks.
func TestMetrics_NATSLossShows(t *testing.T) {
	srv := apptest.StartNATSServer(t)
	env := apptest.Start(t, func(c *config.Config) { c.NATS = srv.URL() })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "while NATS is up")
	if got := env.Metric(t, "parley_nats_connected"); got != 1 {
		t.Fatalf("parley_nats_connected = %v with NATS up, want 1", got)
	}
	if got, ok := env.LookupMetric(t, "parley_events_unpublished_total"); !ok || got != 0 {
		t.Fatalf("parley_events_unpublished_total = %v (present: %v) with NATS up, want 0", got, ok)
	}

	srv.Stop()
	apptest.MustSend(t, bob, th.ID, "while NATS is down")
	if got := env.Metric(t, "parley_nats_connected"); got != 0 {
		t.Fatalf("parley_nats_connected = %v with NATS down, want 0", got)
	}
	if got := env.Metric(t, "parley_events_unpublished_total"); got < 1 {
		t.Fatalf("parley_events_unpublished_total = %v after a send with NATS down, want at least 1", got)
	}
	if status, _, detail := readyz(t, env); status != http.StatusOK {
		t.Fatalf("/readyz = %d (%s) with NATS down, want 200: the node still stores every change", status, detail)
	}
}

// Without NATS there is no connection to report.
func TestMetrics_NoNATSMetricsOnOneNode(t *testing.T) {
	env := apptest.Start(t, func(c *config.Config) { c.NATS = "" }) // whatever bus the run's tests take
	for _, series := range []string{"parley_nats_connected", "parley_events_unpublished_total"} {
		if _, ok := env.LookupMetric(t, series); ok {
			t.Errorf("%s is served by a server without NATS", series)
		}
	}
}

// TestCommands_NeedNoNATS: a parley command never connects to NATS, even
// given the URL of the servers' NATS. While NATS is out of reach, the
// commands that only read answer, and one that changes something makes
// its change, whose events reach the streams of a node on NATS through
// the database, as every node relays them.
func TestCommands_NeedNoNATS(t *testing.T) {
	ctx := context.Background()
	srv := apptest.StartNATSServer(t)
	env := apptest.Start(t, func(c *config.Config) { c.NATS = srv.URL() })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	sent := apptest.MustSend(t, alice, th.ID, "hello bob")
	bobs, err := bob.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer bobs.Close()

	srv.Stop()
	withNATS := map[string]string{"PARLEY_NATS": srv.URL()}
	for _, args := range [][]string{{"user", "list"}, {"app", "list"}, {"audit"}, {"flags", "list"}, {"access-log", "verify", "alice"}} {
		if out, err := runEnv(t, env.Server.Config, withNATS, "", args...); err != nil {
			t.Errorf("parley %s with NATS out of reach: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := runEnv(t, env.Server.Config, withNATS, "", "user", "delete", "alice", "--yes"); err != nil {
		t.Fatalf("parley user delete with NATS out of reach: %v\n%s", err, out)
	}
	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		ev, err := bobs.Next(wait)
		if err != nil {
			t.Fatalf("bob's stream, waiting for the deletion of alice's message: %v", err)
		}
		if ev.Type == "message.deleted" && strings.Contains(string(ev.Data), sent.ID) {
			return
		}
	}
}
