package service

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// Block blocks the member named username for the caller. In the same
// write the two stop being friends (a pending request either way is
// withdrawn; a declined one stays, and keeps its asker waiting) and
// their direct thread, if they have one, takes no message from either
// (parley.Thread.Blocked), which both of them are told. Neither may ask
// the other to be friends while the block stands (AddFriend); groups they
// share stay as they are. Blocking again is harmless: it answers the block
// as it stands. A username no member can have is EINVALID, the caller's
// own too; one no member has, ENOTFOUND.
func (s *Service) Block(ctx context.Context, username string) (*parley.BlockedMember, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	name, err := parseUsername("username", username)
	if err != nil {
		return nil, err
	}
	var blocked *parley.BlockedMember
	var change parley.ThreadChange
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		blocked, change = nil, parley.ThreadChange{}
		other, err := otherMember(ctx, tx, c, name, "block")
		if err != nil {
			return err
		}
		if already, _, err := tx.FindBlocksBetween(ctx, c.User.ID, other.ID); err != nil {
			return err
		} else if already {
			blocked, err = tx.FindBlock(ctx, c.User.ID, other.ID)
			return err
		}
		blocked = &parley.BlockedMember{User: other.Ref(), Since: s.Now()}
		if err := tx.CreateBlock(ctx, c.User.ID, other.ID, blocked.Since); err != nil {
			return err
		}
		// A declined request stays: it keeps its asker waiting after the
		// block is lifted, as it did before (parley.DeclinedRequestWait).
		if f, err := tx.FindFriendship(ctx, c.User.ID, other.ID); err == nil && f.State != parley.FriendDeclined {
			if err := tx.DeleteFriendship(ctx, c.User.ID, other.ID); err != nil {
				return err
			}
		} else if err != nil && !isNotFound(err) {
			return err
		}
		change, err = settleDirectThread(ctx, tx, c.User.ID, other.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if change.Thread != nil {
		s.publishThreadChange(ctx, change, nil)
	}
	return blocked, nil
}

// Unblock lifts the caller's block of the member userID; ENOTFOUND when
// there is none. They are not friends again, but either may ask; their
// direct thread takes messages again unless the other blocks the caller.
func (s *Service) Unblock(ctx context.Context, userID string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	var change parley.ThreadChange
	noticed := false
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		change, noticed = parley.ThreadChange{}, false
		if err := tx.DeleteBlock(ctx, c.User.ID, userID); isNotFound(err) {
			return parley.Errorf(parley.ENOTFOUND, "you have not blocked this member")
		} else if err != nil {
			return err
		}
		if change, err = settleDirectThread(ctx, tx, c.User.ID, userID); err != nil || change.Thread == nil || change.Thread.Blocked {
			return err
		}
		noticed, err = noticeUnblocked(ctx, tx, change.Thread.ID, s.Now())
		return err
	})
	if err != nil {
		return err
	}
	if change.Thread != nil {
		s.publishThreadChange(ctx, change, nil)
	}
	if noticed {
		s.publishAppsChanged(ctx, []string{change.Thread.ID})
	}
	return nil
}

// BlockedMembers returns a page of the members the caller blocks: limit
// of them (parley.DefaultFriendLimit when 0), newest block first, from the
// cursor of the page before (none: from the newest). EINVALID for a limit
// out of range or a cursor this server did not give out for a list of
// blocks.
func (s *Service) BlockedMembers(ctx context.Context, cursor string, limit int) (*parley.BlockPage, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit, parley.DefaultFriendLimit, parley.MaxFriendLimit); err != nil {
		return nil, err
	}
	f := parley.BlockFilter{BlockerID: c.User.ID, Limit: limit + 1}
	if f.Before, err = decodeMemberCursor(blockCursorMark, cursor); err != nil {
		return nil, err
	}
	page := &parley.BlockPage{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		page.Blocked, err = tx.FindBlockPage(ctx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	page.Blocked, page.NextCursor = cutMemberPage(page.Blocked, limit, blockCursorMark, func(b parley.BlockedMember) (time.Time, string) {
		return b.Since, b.User.ID
	})
	return page, nil
}

// Blocks reports whether the caller blocks the member userID, by one row.
func (s *Service) Blocks(ctx context.Context, userID string) (blocks bool, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return false, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		blocks, _, err = tx.FindBlocksBetween(ctx, c.User.ID, userID)
		return err
	})
	return blocks, err
}

// BlockedIn returns the IDs of the members the caller blocks among those
// now in the threads named, threads the caller is or was in, each once,
// in no order: what a page listing those threads needs to know of the
// caller's blocks, in one query however many members they block. At most
// parley.MaxThreadLimit threads, else EINVALID.
func (s *Service) BlockedIn(ctx context.Context, threadIDs []string) (ids []string, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if len(threadIDs) > parley.MaxThreadLimit {
		return nil, parley.Errorf(parley.EINVALID, "at most %d threads at once", parley.MaxThreadLimit)
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		ids, err = tx.FindBlockedIn(ctx, c.User.ID, threadIDs)
		return err
	})
	return ids, err
}

// settleDirectThread makes the direct thread of a and b, if they have
// one, blocked while a block stands between them either way, and open
// otherwise. It returns the change to tell the thread's participants of,
// with no Thread when there is nothing to tell. It holds the thread's row
// first, as a send does, so that a send at the same time comes wholly
// before the change or after it; and it reads the blocks only then, so
// that the other member's block, made or lifted at the same time (which
// holds the row too), is seen: an Unblock cannot tell what stands before.
func settleDirectThread(ctx context.Context, tx parley.Tx, a, b string) (parley.ThreadChange, error) {
	th, err := tx.FindThreadByDirectKey(ctx, parley.DirectKey(a, b))
	if isNotFound(err) {
		return parley.ThreadChange{}, nil
	} else if err != nil {
		return parley.ThreadChange{}, err
	}
	ab, ba, err := tx.FindBlocksBetween(ctx, a, b)
	if err != nil || th.Blocked == (ab || ba) {
		return parley.ThreadChange{}, err
	}
	th.Blocked = ab || ba
	if err := tx.SetThreadBlocked(ctx, th.ID, th.Blocked); err != nil {
		return parley.ThreadChange{}, err
	}
	th.Version++ // a change of the thread, held since it was read
	participants, err := tx.FindParticipants(ctx, th.ID)
	return parley.ThreadChange{Thread: th, Participants: participants}, err
}

// otherMember finds the member named name, to do with them what doing
// says ("block"), and holds their account and the caller's (holdPair):
// ENOTFOUND when no member, or a deleted one, has the name; EINVALID when
// it is the caller's own.
func otherMember(ctx context.Context, tx parley.Tx, c *parley.Caller, name, doing string) (*parley.User, error) {
	other, err := tx.FindUserByUsername(ctx, name)
	if isNotFound(err) || err == nil && other.Deleted {
		return nil, parley.Errorf(parley.ENOTFOUND, "no member is called %q", name)
	} else if err != nil {
		return nil, err
	}
	if other.ID == c.User.ID {
		return nil, parley.Errorf(parley.EINVALID, "you cannot %s yourself", doing)
	}
	return other, holdPair(ctx, tx, c.User.ID, other.ID)
}

// holdPair holds the accounts of members a and b, in the order of their
// IDs, until the write ends. Block holds them before it reads or changes
// anything of the two, and so do a friend request (AddFriend) and a new
// thread or share with one member named (friendsByName) before they read
// the two's blocks or friendship: of a block and one of these at once, on
// two nodes, the later waits for the earlier and then sees what it did
// (each statement of a write sees what committed before it), so that no
// request, and no direct thread that takes messages, outlasts a block
// made at the same time.
func holdPair(ctx context.Context, tx parley.Tx, a, b string) error {
	if b < a {
		a, b = b, a
	}
	for _, id := range []string{a, b} {
		if _, err := tx.FindUserForUpdate(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// closedToNewApps reports whether no app may come to reach the thread th
// now, by a member's ticking it or reopening it to apps: a conversation
// blocked, whoever blocks whom. A member blocked may not, as the app's
// name, and the notice that it reads the thread, would put words of theirs
// in front of the member who blocked them; nor may the member who blocks,
// who would otherwise learn, by being refused, whether they are blocked
// too.
func closedToNewApps(th *parley.Thread) bool { return th.Blocked }
