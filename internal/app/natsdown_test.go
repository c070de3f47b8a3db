package app_test

import (
	"context"
	"fmt"
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
