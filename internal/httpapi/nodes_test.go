package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Two servers on one PostgreSQL database are one service: a session or an
// app's token made through one works on the other, an Idempotency-Key
// retried on the other returns the first message, and a revoked grant or
// session is refused by the other at its very next request.
func TestNodes_OneDatabaseIsOneService(t *testing.T) {
	url := sqlstoretest.PostgresURL(t)
	onOne := func(c *config.Config) { c.Database = url }
	a, b := apptest.Start(t, onOne), apptest.Start(t, onOne)
	ctx := context.Background()
	aliceA, bobA := a.MustMember(t, "alice"), a.MustMember(t, "bob")
	apptest.MustFriends(t, aliceA, bobA)
	th := apptest.MustThread(t, aliceA, "bob")
	aliceB := b.Client.WithToken(aliceA.Token())
	if u := apptest.MustMe(t, aliceB); u.Username != "alice" {
		t.Fatalf("alice's session on the other server is %s's", u.Username)
	}

	first, err := aliceA.SendMessage(ctx, th.ID, "hello", "key-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := aliceB.SendMessage(ctx, th.ID, "hello", "key-1")
	if err != nil || again.ID != first.ID || again.Seq != first.Seq {
		t.Fatalf("the retry on the other server: %+v, %v; want message %s", again, err, first.ID)
	}

	partner := a.MustPartner(t, "Films")
	tok := a.MustToken(t, partner, "alice", []string{"openid", "threads.read"}, apptest.Answer{})
	appB := b.Client.WithToken(tok.AccessToken)
	if _, err := appB.Threads(ctx, client.ThreadsQuery{}); err != nil {
		t.Fatalf("the app's token on the other server: %v", err)
	}
	apps, err := aliceA.ConnectedApps(ctx)
	if err != nil || len(apps) != 1 {
		t.Fatalf("connected apps: %+v, %v", apps, err)
	}
	if err := aliceA.RevokeGrant(ctx, apps[0].Grant.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := appB.Threads(ctx, client.ThreadsQuery{}); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("the revoked grant's token on the other server: %v, want 401", err)
	}

	if err := aliceA.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := aliceB.Me(ctx); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("the ended session on the other server: %v, want 401", err)
	}
}

func isStatus(err error, status int) bool {
	e, ok := errors.AsType[*client.Error](err)
	return ok && e.Status == status
}
