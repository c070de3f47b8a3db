package sqlstore_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/sqlstore/sqlstoretest"
)

// Members are listed by username byte by byte, as on SQLite, in a
// PostgreSQL database of any locale: under ICU's en-US (or glibc's
// en_US.UTF-8), "a_b", "a.b" and "ab" would come in another order.
func TestUsers_ListedByUsernameAlikeInAnyLocale(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := []string{"a.b", "a_b", "ab"}
	for engine, db := range sqliteAndICU(t) {
		mustUsers(t, db, "ab", "a_b", "a.b")
		var users []*parley.User
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { users, err = tx.FindUsers(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range users {
			got = append(got, u.Username)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s lists the members %q; want %q", engine, got, want)
		}
	}
}

// A member is disabled and enabled again, as every way of finding them
// says, and gets a new password hash; unknown members are ENOTFOUND.
func TestUsers_DisabledAndPassword(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann := newUser("ann")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, ann, "old-hash") })
		disabled := func() bool {
			t.Helper()
			var byID, byName *parley.User
			var all []*parley.User
			if err := db.Read(ctx, func(tx parley.Tx) (err error) {
				if byID, err = tx.FindUserByID(ctx, ann.ID); err != nil {
					return err
				}
				if byName, err = tx.FindUserByUsername(ctx, ann.Username); err != nil {
					return err
				}
				all, err = tx.FindUsers(ctx)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if byID.Disabled != byName.Disabled || len(all) != 1 || all[0].Disabled != byID.Disabled {
				t.Fatalf("by ID disabled=%v, by username %v, in the list %v", byID.Disabled, byName.Disabled, all[0].Disabled)
			}
			return byID.Disabled
		}
		if disabled() {
			t.Fatal("a new member is disabled")
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetDisabled(ctx, ann.ID, true) })
		if !disabled() {
			t.Fatal("SetDisabled(true) did not disable")
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetDisabled(ctx, ann.ID, false) })
		if disabled() {
			t.Fatal("SetDisabled(false) left the member disabled")
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetPasswordHash(ctx, ann.ID, "new-hash") })
		var hash string
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { hash, err = tx.FindPasswordHash(ctx, ann.ID); return err }); err != nil || hash != "new-hash" {
			t.Fatalf("hash after SetPasswordHash: %q, %v", hash, err)
		}
		for name, fn := range map[string]func(parley.Tx) error{
			"SetDisabled":     func(tx parley.Tx) error { return tx.SetDisabled(ctx, "nobody", true) },
			"SetPasswordHash": func(tx parley.Tx) error { return tx.SetPasswordHash(ctx, "nobody", "h") },
		} {
			if err := db.Write(ctx, fn); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("%s of no one: %v; want ENOTFOUND", name, err)
			}
		}
	})
}

// A member's display name is replaced, and read back by ID and by
// username; a deleted account's, or no one's, is not found.
func TestUsers_SetDisplayName(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		for _, u := range []*parley.User{ann, bob} {
			mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, u, "h") })
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.SetDisplayName(ctx, ann.ID, "Ann Þórsdóttir") })
		var byID, byName, other *parley.User
		if err := db.Read(ctx, func(tx parley.Tx) (err error) {
			if byID, err = tx.FindUserByID(ctx, ann.ID); err != nil {
				return err
			}
			if byName, err = tx.FindUserByUsername(ctx, "ann"); err != nil {
				return err
			}
			other, err = tx.FindUserByID(ctx, bob.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if byID.DisplayName != "Ann Þórsdóttir" || byName.DisplayName != "Ann Þórsdóttir" || other.DisplayName != bob.DisplayName {
			t.Fatalf("after SetDisplayName: by ID %q, by username %q, bob %q", byID.DisplayName, byName.DisplayName, other.DisplayName)
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.EraseUser(ctx, bob.ID, time.Now()) })
		for _, id := range []string{bob.ID, "nobody"} {
			if err := db.Write(ctx, func(tx parley.Tx) error { return tx.SetDisplayName(ctx, id, "Back") }); parley.ErrorCode(err) != parley.ENOTFOUND {
				t.Errorf("SetDisplayName of %s: %v; want ENOTFOUND", id, err)
			}
		}
	})
}

// A member's sessions are listed newest first, and all of them, and only
// theirs, end together.
// TestSessions_DeleteExpiredBefore: sessions that expired before the
// time are deleted, whoever's they are; those that expired after it, and
// those that last, are kept.
func TestSessions_DeleteExpiredBefore(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, ann, "h") })
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, bob, "h") })
		now := time.UnixMicro(time.Now().UnixMicro()).UTC()
		expiries := map[string]time.Time{"long expired": now.Add(-31 * 24 * time.Hour), "just expired": now.Add(-time.Hour), "lasting": now.Add(time.Hour)}
		for _, u := range []*parley.User{ann, bob} {
			for _, expires := range expiries {
				s := &parley.Session{TokenHash: parley.HashToken(parley.NewID()), UserID: u.ID, CreatedAt: expires.Add(-time.Hour), ExpiresAt: expires}
				mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateSession(ctx, s) })
			}
		}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.DeleteSessionsExpiredBefore(ctx, now.Add(-30*24*time.Hour)) })
		for _, u := range []*parley.User{ann, bob} {
			var sessions []*parley.Session
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { sessions, err = tx.FindUserSessions(ctx, u.ID); return err }); err != nil {
				t.Fatal(err)
			}
			if len(sessions) != 2 || sessions[0].ExpiresAt.Before(now.Add(-2*time.Hour)) || sessions[1].ExpiresAt.Before(now.Add(-2*time.Hour)) {
				t.Errorf("%s's sessions after the deletion: %+v, want the one just expired and the lasting one", u.Username, sessions)
			}
		}
	})
}

func TestUsers_Sessions(t *testing.T) {
	t.Parallel()
	sqlstoretest.Each(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		ann, bob := newUser("ann"), newUser("bob")
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, ann, "h") })
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateUser(ctx, bob, "h") })
		start := time.UnixMicro(time.Now().UnixMicro()).UTC()
		for i, u := range []*parley.User{ann, ann, bob, ann} {
			s := &parley.Session{TokenHash: parley.HashToken(parley.NewID()), UserID: u.ID,
				CreatedAt: start.Add(time.Duration(i) * time.Minute), ExpiresAt: start.Add(time.Hour)}
			mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateSession(ctx, s) })
		}
		var sessions []*parley.Session
		if err := db.Read(ctx, func(tx parley.Tx) (err error) { sessions, err = tx.FindUserSessions(ctx, ann.ID); return err }); err != nil {
			t.Fatal(err)
		}
		if len(sessions) != 3 || !sessions[0].CreatedAt.Equal(start.Add(3*time.Minute)) || !sessions[1].CreatedAt.Equal(start.Add(time.Minute)) ||
			!sessions[2].CreatedAt.Equal(start) || sessions[0].UserID != ann.ID || !sessions[0].ExpiresAt.Equal(start.Add(time.Hour)) {
			t.Fatalf("ann's sessions: %+v", sessions)
		}
		ends := func(ended [][]byte, want ...*parley.Session) bool {
			return len(ended) == len(want) && !slices.ContainsFunc(want, func(s *parley.Session) bool {
				return !slices.ContainsFunc(ended, func(h []byte) bool { return bytes.Equal(h, s.TokenHash) })
			})
		}
		expired := &parley.Session{TokenHash: parley.HashToken(parley.NewID()), UserID: ann.ID,
			CreatedAt: start.Add(-2 * time.Hour), ExpiresAt: start.Add(-time.Minute)}
		mustWrite(t, db, func(tx parley.Tx) error { return tx.CreateSession(ctx, expired) })
		hasSessions := func(u *parley.User, want int) {
			t.Helper()
			if err := db.Read(ctx, func(tx parley.Tx) (err error) { sessions, err = tx.FindUserSessions(ctx, u.ID); return err }); err != nil || len(sessions) != want {
				t.Fatalf("%s has %d sessions (%v), want %d", u.Username, len(sessions), err, want)
			}
		}
		// All live ones but the newest two, as a sign-in past the most
		// ends the oldest: the expired one, and bob's, are not counted
		// and stay.
		var ended [][]byte
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			ended, err = tx.DeleteSessionsBeyond(ctx, ann.ID, 2, start)
			return err
		})
		if !ends(ended, sessions[2]) {
			t.Fatalf("DeleteSessionsBeyond keeping two ended %d sessions, want ann's oldest live one", len(ended))
		}
		live := sessions[:2]
		hasSessions(ann, 3)
		hasSessions(bob, 1)
		sessions = live
		// All live ones but one, as a member's new password ends their
		// other sessions; the expired one stays listed.
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			ended, err = tx.DeleteUserSessions(ctx, ann.ID, sessions[1].TokenHash, start)
			return err
		})
		if !ends(ended, sessions[0]) {
			t.Fatalf("DeleteUserSessions keeping one ended %d sessions, want ann's other live one", len(ended))
		}
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			ended, err = tx.DeleteUserSessions(ctx, ann.ID, nil, start)
			return err
		})
		if !ends(ended, sessions[1]) {
			t.Fatalf("DeleteUserSessions ended %d sessions, want ann's last live one", len(ended))
		}
		hasSessions(ann, 1)
		hasSessions(bob, 1)
		// At the zero time, the expired ones go too, as with the account.
		mustWrite(t, db, func(tx parley.Tx) (err error) {
			ended, err = tx.DeleteUserSessions(ctx, ann.ID, nil, time.Time{})
			return err
		})
		if !ends(ended, expired) {
			t.Fatalf("DeleteUserSessions at the zero time ended %d sessions, want ann's expired one", len(ended))
		}
		hasSessions(ann, 0)
		hasSessions(bob, 1)
	})
}
