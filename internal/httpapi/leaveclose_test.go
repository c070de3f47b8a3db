package httpapi_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/apptest"
	"github.com/parleyhq/parley/internal/config"
)

// A member who leaves a group while closing it to apps, the two calls at
// once (on two nodes, or two connections of one, on PostgreSQL), leaves
// no closing of theirs behind: either the closing comes first, and
// leaving withdraws it, or the leaving, and the closing finds them gone.
// A closing left by someone who is no longer in the thread would keep it
// closed to every app, with no one there who could reopen it.
//
// Each round holds the thread's row while both calls start, so that both
// have read what they read before they wait for it; which of them then
// goes first is the database's choice, so several rounds are run.
func TestThreads_LeavingWhileClosingLeavesNoClosingBehind(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("SQLite runs one write at a time: the two calls cannot interleave")
	}
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx := context.Background()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	for round := range 8 {
		group := apptest.MustThread(t, alice, "bob", "carol").ID
		release := holding(t, env, func(ctx context.Context, tx parley.Tx) error {
			_, err := tx.FindThreadByID(ctx, group) // FOR UPDATE in a write
			return err
		})
		var wg sync.WaitGroup
		var leaveErr, closeErr error
		wg.Add(2)
		go func() { defer wg.Done(); leaveErr = alice.LeaveThread(ctx, group) }()
		go func() { defer wg.Done(); _, closeErr = alice.SetThreadAppAccess(ctx, group, false) }()
		time.Sleep(300 * time.Millisecond) // both calls wait for the thread's row
		release()
		wg.Wait()
		if leaveErr != nil {
			t.Fatalf("round %d: leaving: %v", round, leaveErr)
		}
		if closeErr != nil {
			wantProblem(t, closeErr, 404, "not_found")
		}
		a, err := bob.ThreadApps(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Allowed || len(a.ClosedBy) != 0 {
			t.Fatalf("round %d: alice left, yet the thread is closed to apps by %+v (closing: %v)", round, a.ClosedBy, closeErr)
		}
	}
}

// A member who deletes their account while closing a group to apps, the
// two calls at once on PostgreSQL, leaves no closing behind either: the
// deletion takes them out of the thread, and a closing of theirs with
// them. Each round holds the member's row while both calls start: the
// closing reads that the member is in the thread, and waits for the row as
// it records their closing (which refers to it) while the deletion waits
// to hold it.
func TestDeleteAccount_WhileClosingLeavesNoClosingBehind(t *testing.T) {
	if apptest.Engine() != "postgres" {
		t.Skip("SQLite runs one write at a time: the two calls cannot interleave")
	}
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited, func(c *config.Config) { c.SignUpsPerAddress = 100 })
	ctx := context.Background()
	bob, carol := env.MustMember(t, "bob"), env.MustMember(t, "carol")
	for round := range 8 {
		name := fmt.Sprintf("member%d", round)
		m := env.MustMember(t, name)
		apptest.MustFriends(t, m, bob)
		apptest.MustFriends(t, m, carol)
		me := apptest.MustMe(t, m)
		group := apptest.MustThread(t, m, "bob", "carol").ID
		release := holding(t, env, func(ctx context.Context, tx parley.Tx) error {
			_, err := tx.FindUserForUpdate(ctx, me.ID)
			return err
		})
		var wg sync.WaitGroup
		var deleteErr, closeErr error
		wg.Add(2)
		// The deletion asks for the member's row first, the closing next.
		go func() { defer wg.Done(); deleteErr = m.DeleteAccount(ctx, apptest.Password(name)) }()
		time.Sleep(150 * time.Millisecond)
		go func() { defer wg.Done(); _, closeErr = m.SetThreadAppAccess(ctx, group, false) }()
		time.Sleep(300 * time.Millisecond) // both calls wait for the member's row
		release()
		wg.Wait()
		if deleteErr != nil {
			t.Fatalf("round %d: deleting: %v", round, deleteErr)
		}
		a, err := bob.ThreadApps(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Allowed || len(a.ClosedBy) != 0 {
			t.Fatalf("round %d: %s's account is deleted, yet the thread is closed to apps by %+v (closing: %v)", round, name, a.ClosedBy, closeErr)
		}
	}
}

// A member removed from a group keeps their closing of it to apps, theirs
// to withdraw; deleting their account withdraws it, as leaving would, and
// tells those in the group: a deleted account could never reopen it.
func TestDeleteAccount_WithdrawsTheClosingOfAGroupTheMemberWasRemovedFrom(t *testing.T) {
	t.Parallel()
	env := apptest.Start(t, apptest.Unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	alice, bob, carol := env.MustMember(t, "alice"), env.MustMember(t, "bob"), env.MustMember(t, "carol")
	apptest.MustFriends(t, alice, bob)
	apptest.MustFriends(t, alice, carol)
	group := apptest.MustThread(t, alice, "bob", "carol").ID
	if _, err := bob.SetThreadAppAccess(ctx, group, false); err != nil {
		t.Fatal(err)
	}
	if err := alice.RemoveParticipant(ctx, group, apptest.MustMe(t, bob).ID); err != nil {
		t.Fatal(err)
	}
	if a, err := carol.ThreadApps(ctx, group); err != nil || a.Allowed {
		t.Fatalf("after bob's removal the group reads %+v, %v; want it still closed by him", a, err)
	}
	carolsStream := mustEvents(t, carol)
	if err := bob.DeleteAccount(ctx, apptest.Password("bob")); err != nil {
		t.Fatal(err)
	}
	if a, err := carol.ThreadApps(ctx, group); err != nil || !a.Allowed || len(a.ClosedBy) != 0 {
		t.Fatalf("bob's account is deleted, yet the group reads %+v, %v; want it open to apps", a, err)
	}
	for {
		ev, err := carolsStream.Next(ctx)
		if err != nil {
			t.Fatalf("carol's stream: %v; want thread.apps_changed for the group", err)
		}
		if ev.Type == "thread.apps_changed" && ev.ThreadID == group {
			break
		}
	}
}

// holding runs a write that takes what lock takes (a row, held to the
// write's end) and returns once it holds it; release ends the write.
func holding(t *testing.T, env *apptest.Env, lock func(context.Context, parley.Tx) error) (release func()) {
	t.Helper()
	ctx := context.Background()
	held, end, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	go func() {
		done <- env.Server.Store.Write(ctx, func(tx parley.Tx) error {
			if err := lock(ctx, tx); err != nil {
				return err
			}
			once.Do(func() { close(held) })
			<-end
			return nil
		})
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("holding: %v", err)
	}
	return func() {
		close(end)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
