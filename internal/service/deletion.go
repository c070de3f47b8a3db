package service

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// Deleting an account, by its member (DeleteAccount) or by an operator
// (DeleteUser). Both do the same, in one write:
//
//   - every session of the member ends, and every grant they gave apps, as
//     if they had revoked it (endAccess, as disabling an account does): the
//     apps' tokens stop working at their next request on any node, their
//     webhook endpoints get grant.revoked and their streams end;
//   - they leave every thread they were in, direct ones too (leave): the
//     threads stay, with the others' messages, for the others;
//   - every message they sent becomes a tombstone that keeps its seq, as
//     if they had deleted it (tombstone): threads stay numbered without a
//     gap, and apps whose grants reached a message get message.deleted;
//   - every reaction they gave others' messages is taken back, as if they
//     had taken it back (takeBackReactions);
//   - the flags they made go (DeleteFlags); flags of their messages stay,
//     with what each message said when flagged, until an operator
//     resolves them (see flags.go);
//   - their profile goes (EraseUser): display name, password hash, operator
//     flag, friendships and friend requests. The account's ID and username
//     stay, the username reserved so that no one can take it and pass for
//     them; others see DeletedDisplayName beside the tombstones, and no
//     username (parley.UserRef), nor does user.updated tell it;
//   - the deletion is recorded among operators' decisions, with the
//     member as both actor and subject when they deleted it themselves.
//
// Their own access log stays, chained as it was: it records what apps did
// with the member's data, holds no message content, and no one can read
// it through the API any more; operators can still verify it. Other
// members' logs are not touched, so their chains verify as before.
//
// The share links made for them stay too, with their clicks, as rows
// that name the account by its ID alone: apps' share reports count them,
// and a report's cells never change once shown (see reports.go). Erasing
// them would change every cell that counted the member, and an app
// asking for the same periods before and after would learn of them by
// the difference.

// tombstonePage is how many of a member's messages a deletion reads at a time.
const tombstonePage = 500

// DeleteAccount deletes the signed-in member's own account, once they
// enter their password again; the session that asked ends with the others.
// Apps cannot make this call. EFORBIDDEN for a wrong password, which counts
// as a failed sign-in (ETHROTTLED after many).
func (s *Service) DeleteAccount(ctx context.Context, pw string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	u, keys, err := s.checkOwnPassword(ctx, c, pw, "delete the account")
	if err != nil {
		return err
	}
	actor := parley.OperatorAction{ActorID: u.ID, Actor: u.Username}
	return s.deleteAccount(ctx, u.Username, actor, func(ctx context.Context, tx parley.Tx) error {
		return s.stillAllowed(ctx, tx, c, u.ID, keys)
	})
}

// DeleteUser deletes the account of the member named username; it is for
// operators. ECONFLICT when it is deleted already (findMember).
func (s *Service) DeleteUser(ctx context.Context, username string) error {
	actor, err := operator(ctx)
	if err != nil {
		return err
	}
	return s.deleteAccount(ctx, username, actor, nil)
}

// deletion is what a deletion's write did, to tell once it commits.
type deletion struct {
	// access is what endAccess ended; hooked is set when tombstones or
	// leaving queued a webhook delivery.
	access accessEnded
	hooked bool
	// deleted are the messages turned into tombstones, reacted those whose
	// reactions changed, and readers who is in each of their threads now,
	// to be told; left the threads the member left, with who is in each
	// now; reopened the threads the member had been removed from and kept
	// closed to apps, whose closing the deletion withdrew.
	deleted, reacted []*parley.Message
	readers          map[string][]string
	left             []parley.ThreadChange
	reopened         []string
	// erased is the member as others see them from now on, and contacts
	// those who saw their name before, to be told of the new one, as of a
	// rename (renamed).
	erased   *parley.User
	contacts []string
}

// deleteAccount deletes the account of the member named username, as the
// top of this file says, recorded as actor's decision; first, when set,
// runs in the same write, before anything changes, what the deletion was
// waiting for, and its error undoes the deletion.
func (s *Service) deleteAccount(ctx context.Context, username string, actor parley.OperatorAction, first func(context.Context, parley.Tx) error) error {
	var d deletion
	var userID string
	err := s.decide(ctx, func(tx parley.Tx, record recorder) (err error) {
		d = deletion{readers: map[string][]string{}}
		u, err := findMember(ctx, tx, username)
		if err != nil {
			return err
		}
		userID = u.ID
		if first != nil {
			if err := first(ctx, tx); err != nil {
				return err
			}
		}
		if d.access, err = s.endAccess(ctx, tx, u.ID, actor.ActorID != u.ID); err != nil {
			return err
		}
		// Who sees the member's name, found before they leave their
		// threads and friends.
		if d.contacts, err = tx.FindContactIDs(ctx, u.ID); err != nil {
			return err
		}
		d.erased = &parley.User{ID: u.ID, Username: u.Username, DisplayName: parley.DeletedDisplayName, Deleted: true}
		// The expired sessions, kept listed for operators, go with the
		// account.
		if _, err := tx.DeleteUserSessions(ctx, u.ID, nil, time.Time{}); err != nil {
			return err
		}
		// Leaving comes first: a post takes its sender's place in the
		// thread (PostParticipantMessage), so once the member has left,
		// no send of theirs still under way on another node can post, and
		// what they did post is there for tombstoneAll to find.
		if err := s.leaveAll(ctx, tx, u.ID, &d); err != nil {
			return err
		}
		if err := s.withdrawClosings(ctx, tx, u.ID, &d); err != nil {
			return err
		}
		if err := s.tombstoneAll(ctx, tx, u.ID, &d); err != nil {
			return err
		}
		if err := s.takeBackReactions(ctx, tx, u.ID, &d); err != nil {
			return err
		}
		if err := tx.DeleteFlags(ctx, u.ID); err != nil {
			return err
		}
		if err := tx.EraseUser(ctx, u.ID, s.Now()); err != nil {
			return err
		}
		if err := unblockDirectThreads(ctx, tx, u.ID, &d); err != nil {
			return err
		}
		return record(actor, parley.ActionUserDelete, u.ID, u.Username)
	})
	if err != nil {
		return err
	}
	if d.hooked || d.access.hooked {
		s.WakeWebhooks()
	}
	s.publishAccountEnded(ctx, userID, d.access.sessions, accountDeleted)
	s.publishGrantsEnded(ctx, []string{userID}, d.access.grants, "the member's account was deleted")
	for _, change := range d.left {
		s.publishThreadChange(ctx, change, []string{userID})
	}
	if len(d.reopened) > 0 {
		s.publishAppsChanged(ctx, d.reopened)
	}
	for _, m := range d.deleted {
		s.publishDeleted(ctx, d.readers[m.ThreadID], m)
	}
	for _, m := range d.reacted {
		s.publishMessage(ctx, parley.EventMessageReacted, d.readers[m.ThreadID], m)
	}
	s.renamed(ctx, d.erased, d.contacts)
	return nil
}

// tombstoneAll turns every message the member sent that is not deleted yet
// into a tombstone, into d, with who is in its thread: in threads the
// member left before, as in those they left just now (leaveAll, first).
func (s *Service) tombstoneAll(ctx context.Context, tx parley.Tx, userID string, d *deletion) error {
	for after := ""; ; {
		page, err := tx.FindSentMessages(ctx, userID, after, tombstonePage)
		if err != nil {
			return err
		}
		for _, m := range page {
			if m.DeletedAt != nil {
				continue
			}
			hooked, err := s.tombstone(ctx, tx, m)
			if err != nil {
				return err
			}
			d.hooked = d.hooked || hooked
			d.deleted = append(d.deleted, m)
			if _, ok := d.readers[m.ThreadID]; !ok {
				if d.readers[m.ThreadID], err = tx.FindParticipantIDs(ctx, m.ThreadID); err != nil {
					return err
				}
			}
		}
		if len(page) < tombstonePage {
			return nil
		}
		after = page[len(page)-1].ID
	}
}

// leaveAll takes the member out of every thread they are in, into d.
func (s *Service) leaveAll(ctx context.Context, tx parley.Tx, userID string, d *deletion) error {
	threads, err := memberThreads(ctx, tx, userID)
	if err != nil {
		return err
	}
	for _, th := range threads {
		// The thread as leave holds it: its last message, read before, may
		// have had others after it since.
		held, hooked, reopened, err := s.leave(ctx, tx, th.ID, userID, true)
		if err != nil {
			return err
		}
		if reopened {
			d.reopened = append(d.reopened, th.ID)
		}
		if th.Kind == parley.ThreadGroup {
			if err := noteInGroup(ctx, tx, held, parley.NoteLeft, userID, "", "", s.Now()); err != nil {
				return err
			}
		}
		people, err := tx.FindParticipants(ctx, th.ID)
		if err != nil {
			return err
		}
		d.hooked = d.hooked || hooked
		d.left = append(d.left, parley.ThreadChange{Thread: held, Participants: people})
	}
	return nil
}

// unblockDirectThreads opens, in d, the direct threads the member left
// (leaveAll) that a block between them and the other member kept blocked:
// erasing the member took the blocks away, either way, and a thread that
// no block keeps blocked is open (settleDirectThread).
func unblockDirectThreads(ctx context.Context, tx parley.Tx, userID string, d *deletion) error {
	for i, change := range d.left {
		if th := change.Thread; th.Kind != parley.ThreadDirect || !th.Blocked || len(change.Participants) == 0 {
			continue
		}
		settled, err := settleDirectThread(ctx, tx, userID, change.Participants[0].ID)
		if err != nil {
			return err
		}
		if settled.Thread != nil {
			d.left[i] = settled
		}
	}
	return nil
}

// withdrawClosings withdraws, into d, the closings to apps the member
// still keeps once they left every thread they were in (leaveAll, first):
// those of threads they had been removed from, which a removal leaves
// theirs to withdraw. A deleted account withdraws nothing after, and a
// closing kept by no one in the thread would keep it closed to every app.
func (s *Service) withdrawClosings(ctx context.Context, tx parley.Tx, userID string, d *deletion) error {
	closed, err := tx.FindThreadsClosedBy(ctx, userID)
	if err != nil {
		return err
	}
	for _, threadID := range slices.Sorted(maps.Keys(closed)) {
		if _, err := withdrawClosing(ctx, tx, threadID, userID, s.Now()); err != nil {
			return err
		}
		d.reopened = append(d.reopened, threadID)
	}
	return nil
}

// memberThreads returns every thread the member is in, the latest activity
// first, with how far they read it, a page at a time.
func memberThreads(ctx context.Context, tx parley.Tx, userID string) ([]*parley.ThreadSummary, error) {
	var threads []*parley.ThreadSummary
	f := parley.ThreadFilter{UserID: userID, Limit: parley.MaxThreadLimit}
	for {
		page, err := tx.FindThreads(ctx, f)
		if err != nil {
			return nil, err
		}
		threads = append(threads, page...)
		if len(page) < f.Limit {
			return threads, nil
		}
		last := page[len(page)-1]
		f.After = &parley.ThreadCursor{LastActivityAt: last.LastActivityAt, ID: last.ID}
	}
}
