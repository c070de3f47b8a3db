package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// TestDurability_KillDashNineOneOfTwoNodes runs two `parley serve`
// processes on one PostgreSQL database, sends into one thread through both
// at once, kills one with SIGKILL mid-load, and checks that the other goes
// on serving, that no message either node acknowledged is lost, that the
// thread's seqs have no gap, and that the survivor and the restarted node
// answer the same.
func TestDurability_KillDashNineOneOfTwoNodes(t *testing.T) {
	ctx := context.Background()
	database := sqlstoretest.PostgresURL(t)
	// The load sends far faster than a member may: the limit is lifted.
	node := func() *process {
		return startProcess(t, "--data", t.TempDir(), "--database", database, "--rate-limit-member", "0")
	}
	a, b := node(), node()

	anon := client.New(a.url)
	sign := func(name string) string {
		if _, err := anon.CreateAccount(ctx, name, apptest.Password(name), ""); err != nil {
			t.Fatal(err)
		}
		s, err := anon.SignIn(ctx, name, apptest.Password(name))
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	aliceToken, bobToken := sign("alice"), sign("bob")
	alice, bob := anon.WithToken(aliceToken), client.New(b.url).WithToken(bobToken)
	apptest.MustFriends(t, alice, bob)
	th := apptest.MustThread(t, alice, "bob")

	var (
		mu        sync.Mutex
		acked     = map[string]ack{}
		afterKill atomic.Int64 // acknowledgements by the survivor after the kill
		killed    atomic.Bool
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	for w := range 8 {
		// Even workers send through A, odd ones through B, as alice and
		// bob by turns: each session works on either node.
		url, token := a.url, aliceToken
		if w%2 == 1 {
			url = b.url
		}
		if w%4 >= 2 {
			token = bobToken
		}
		sender := client.New(url).WithToken(token)
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				text := fmt.Sprintf("worker %d message %d", w, i)
				m, err := sender.SendMessage(ctx, th.ID, text, fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					if url == b.url {
						t.Errorf("the surviving node refused a send: %v", err)
					}
					return // node A is gone; this send was never acknowledged
				}
				mu.Lock()
				acked[m.ID] = ack{m.Seq, text}
				mu.Unlock()
				if killed.Load() {
					afterKill.Add(1)
				}
			}
		})
	}
	waitFor := func(what string, done func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !done(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				stop.Store(true)
				t.Fatalf("no %s within a minute", what)
			}
		}
	}
	waitFor("1,500 acknowledged sends", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 1500 })
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	killed.Store(true)
	waitFor("300 sends through the survivor after the kill", func() bool { return afterKill.Load() >= 300 })
	stop.Store(true)
	wg.Wait()

	restarted := startProcess(t, "--data", t.TempDir(), "--database", database)
	fromRestarted := readThread(t, client.New(restarted.url).WithToken(aliceToken), th.ID)
	fromSurvivor := readThread(t, bob, th.ID)
	if !slices.Equal(fromRestarted, fromSurvivor) {
		t.Fatalf("the restarted node reads %d messages, the survivor %d, not the same", len(fromRestarted), len(fromSurvivor))
	}
	mustHoldAcknowledged(t, acked, fromSurvivor)
	t.Logf("%d acknowledged (%d by the survivor after the kill), %d stored", len(acked), afterKill.Load(), len(fromSurvivor))
}
