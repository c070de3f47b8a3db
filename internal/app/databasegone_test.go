package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// While the database is out of reach, the API and the pages answer 503
// with Retry-After, a problem that says so, not an internal error; the
// server logs the outage once, with its cause, not at every request nor at
// every round of its background work; and once the database is back, it
// serves again by itself, and logs that once. A send refused meanwhile,
// made again with its Idempotency-Key, is kept once.
func TestDatabaseGone_AnsweredAs503AndLoggedOnceUntilItIsBack(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")
	apptest.MustSend(t, alice, th.ID, "before")
	ctx := context.Background()

	reopen := closeDatabase(t, env)
	since := len(env.Logs.String())
	for i := range 3 {
		_, err := alice.SendMessage(ctx, th.ID, "while it was gone", "gone-1")
		if pe, ok := errors.AsType[*client.Error](err); !ok || pe.Status != http.StatusServiceUnavailable ||
			pe.Type != client.ProblemUnavailable || pe.RetryAfter <= 0 || !strings.Contains(pe.Detail, "database") {
			t.Fatalf("send %d with the database out of reach: %v, want 503 unavailable with Retry-After, saying why", i, err)
		}
	}
	resp, err := http.Get(env.URL + "/s/" + strings.Repeat("A", 43)) // a share link's page, looked up
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a page with the database out of reach: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	time.Sleep(2 * time.Second) // the background work's rounds, each failing
	if down, refused := env.Metric(t, "parley_database_unreachable"), env.Metric(t, "parley_database_unreachable_refusals_total"); down != 1 || refused < 4 {
		t.Errorf("with the database out of reach, parley_database_unreachable = %v and its refusals %v, want 1 and at least the 4 requests", down, refused)
	}
	errs := errorLines(env.Logs.String()[since:])
	if len(errs) != 1 || !strings.Contains(errs[0], "the database cannot be reached") || !strings.Contains(errs[0], "not currently accepting connections") {
		t.Errorf("the outage logged %d error lines, want one saying the database cannot be reached and why:\n%s", len(errs), strings.Join(errs, ""))
	}

	reopen()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := alice.SendMessage(ctx, th.ID, "while it was gone", "gone-1")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("15 s after the database was back, a send still fails: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	apptest.MustSend(t, alice, th.ID, "after")
	page, err := bob.Messages(ctx, th.ID, client.MessagesQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range page.Messages {
		got = append(got, fmt.Sprintf("%d %s", m.Seq, m.Text))
	}
	if want := "1 before, 2 while it was gone, 3 after"; strings.Join(got, ", ") != want {
		t.Errorf("bob reads %q, want %q", strings.Join(got, ", "), want)
	}
	if back := env.LogEntries(t, "the database can be reached again"); len(back) != 1 {
		t.Errorf("the database's return logged %d times, want once", len(back))
	}
	if down := env.Metric(t, "parley_database_unreachable"); down != 0 {
		t.Errorf("with the database back, parley_database_unreachable = %v", down)
	}
}

// A realtime stream that must look into the database while it is out of
// reach ends with 1013 (try again later), saying why, and is not logged
// as a failure of the server's own: the outage is logged once. Here the
// app's token runs out a second after its stream opens, and the stream
// cannot look into its grant.
func TestDatabaseGone_EndsAStreamWithTryAgainLater(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env := apptest.Start(t, func(c *config.Config) { c.MinFreeDiskMiB = 0 })
	stream, _ := appStreamDueACheck(t, env)
	closeDatabase(t, env)
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := stream.Next(wait)
	if status := client.CloseStatus(err); status != websocket.StatusTryAgainLater || !strings.Contains(err.Error(), "database") {
		t.Fatalf("the stream ended with %v (%d), want 1013 saying the database cannot be reached", err, status)
	}
	if logged := env.LogEntries(t, "realtime stream"); len(logged) != 0 {
		t.Errorf("the stream's end was logged as a failure: %v", logged)
	}
}

// When PostgreSQL stops answering without refusing (a network partition, a
// server stuck on its disk), a send and a read are answered 503 within
// their bound of 15 s, not held for as long as the silence lasts. The
// outage is logged once: a call its caller gave up on first, such as
// /readyz's probe of 5 s, says nothing of the database.
func TestDatabaseSilent_CallsAreAnsweredWithinTheirBounds(t *testing.T) {
	// Parallel: it spends its 35 s waiting on the server's own bounds.
	t.Parallel()
	if apptest.Engine() != "postgres" {
		t.Skip("PostgreSQL only (PARLEY_TEST_DATABASE=postgres)")
	}
	env, proxy := startBehindProxy(t, apptest.Unlimited)
	alice, bob := env.MustMember(t, "alice"), env.MustMember(t, "bob")
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")

	proxy.setPaused(true)
	// Deferred, so that it runs before the cleanups, which stop the
	// server.
	defer proxy.setPaused(false)
	for _, call := range []struct {
		name  string
		bound time.Duration
		do    func(ctx context.Context) error
	}{
		{"a send", 15 * time.Second, func(ctx context.Context) error {
			_, err := alice.SendMessage(ctx, th.ID, "into the silence", "silent-1")
			return err
		}},
		{"/readyz", 5 * time.Second, func(ctx context.Context) error {
			if status, _, _ := readyz(t, env); status != http.StatusServiceUnavailable {
				return fmt.Errorf("/readyz answered %d", status)
			}
			return &client.Error{Status: http.StatusServiceUnavailable, RetryAfter: time.Second} // as the API would
		}},
		{"a read", 15 * time.Second, func(ctx context.Context) error {
			_, err := alice.Messages(ctx, th.ID, client.MessagesQuery{})
			return err
		}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), call.bound+20*time.Second)
		start := time.Now()
		err := call.do(ctx)
		took := time.Since(start)
		cancel()
		if pe, ok := errors.AsType[*client.Error](err); !ok || pe.Status != http.StatusServiceUnavailable || pe.RetryAfter <= 0 {
			t.Errorf("%s to a silent database, after %s: %v; want 503 with Retry-After", call.name, took.Round(time.Millisecond), err)
		}
		if took > call.bound+10*time.Second {
			t.Errorf("%s to a silent database was answered after %s", call.name, took.Round(time.Second))
		}
	}
	if down, back := env.LogEntries(t, "the database cannot be reached: requests are answered 503 until it can"), env.LogEntries(t, "the database can be reached again"); len(down) != 1 || len(back) != 0 {
		t.Errorf("while the database was silent, its outage was logged %d times and its return %d, want once and never", len(down), len(back))
	}
}

// errorLines returns the log's lines at level ERROR.
func errorLines(log string) []string {
	var lines []string
	for line := range strings.Lines(log) {
		if strings.Contains(line, `"level":"ERROR"`) {
			lines = append(lines, line)
		}
	}
	return lines
}
