package service

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// AddFriend asks the member named username to be friends, or accepts when
// they already asked. Asking again is harmless. A username no member can
// have is EINVALID; one no member has, ENOTFOUND; a member the caller
// blocked, ECONFLICT; one who blocked the caller, EFORBIDDEN. A new request
// while parley.MaxSentFriendRequests of the caller's wait for an answer is
// ECONFLICT; accepting never is.
func (s *Service) AddFriend(ctx context.Context, username string) (*parley.FriendStatus, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	name, err := parseUsername("username", username)
	if err != nil {
		return nil, err
	}
	var status parley.FriendStatus
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		other, err := otherMember(ctx, tx, c, name, "befriend")
		if err != nil {
			return err
		}
		if mine, theirs, err := tx.FindBlocksBetween(ctx, c.User.ID, other.ID); err != nil {
			return err
		} else if mine {
			return parley.Errorf(parley.ECONFLICT, "you blocked %s: unblock them before you ask them to be friends", other.Username)
		} else if theirs {
			return parley.Errorf(parley.EFORBIDDEN, "%s does not take friend requests from you", other.Username)
		}
		status.User = other.Ref()
		// otherMember holds the caller's account, so the count stays true
		// until the request is stored.
		ask := func() error {
			if n, err := tx.CountSentFriendRequests(ctx, c.User.ID); err != nil {
				return err
			} else if n >= parley.MaxSentFriendRequests {
				return parley.Errorf(parley.ECONFLICT, "you have %d friend requests waiting for an answer, as many as a member may: wait for answers or withdraw some before you ask %s",
					n, other.Username)
			}
			status.State = parley.FriendPending
			return tx.CreateFriendship(ctx, &parley.Friendship{
				RequesterID: c.User.ID, AddresseeID: other.ID, State: parley.FriendPending, CreatedAt: s.Now(),
			})
		}
		f, err := tx.FindFriendship(ctx, c.User.ID, other.ID)
		switch {
		case isNotFound(err):
			return ask()
		case err != nil:
			return err
		case f.State == parley.FriendDeclined:
			if again := f.CreatedAt.Add(parley.DeclinedRequestWait); f.RequesterID == c.User.ID && s.Now().Before(again) {
				return parley.Errorf(parley.ECONFLICT, "%s declined your request: you may ask again from %s",
					other.Username, again.UTC().Format(time.DateOnly))
			}
			// The wait is over, or the member who declined asks.
			if err := tx.DeleteFriendship(ctx, c.User.ID, other.ID); err != nil {
				return err
			}
			return ask()
		case f.State == parley.FriendPending && f.AddresseeID == c.User.ID:
			status.State = parley.FriendAccepted
			return tx.AcceptFriendship(ctx, f.RequesterID, f.AddresseeID)
		default:
			status.State = f.State
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	return &status, nil
}

// Friends returns a page of the caller's friends: limit of them
// (parley.DefaultFriendLimit when 0), newest first, from the cursor of the
// page before (none: from the newest). EINVALID for a limit out of range
// or a cursor this server did not give out for a list of friends.
//
// An app's read is logged for its member, one entry a page, and for each
// friend on the page, who learns that the app read their name in the
// member's list: once a window (friendsReadKey), however many pages or
// calls read them, so that an app that reads the list again and again
// appends to the member's log alone.
func (s *Service) Friends(ctx context.Context, cursor string, limit int) (*parley.FriendPage, error) {
	c, err := caller(ctx, parley.ScopeFriendsRead)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit, parley.DefaultFriendLimit, parley.MaxFriendLimit); err != nil {
		return nil, err
	}
	f := parley.FriendFilter{UserID: c.User.ID, Limit: limit + 1}
	if f.Before, err = decodeMemberCursor(friendCursorMark, cursor); err != nil {
		return nil, err
	}
	page := &parley.FriendPage{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		page.Friends, err = tx.FindFriendPage(ctx, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	page.Friends, page.NextCursor = cutMemberPage(page.Friends, limit, friendCursorMark, friendPlace)
	if c.App == nil {
		return page, nil
	}
	records := []parley.AccessRecord{s.accessRecord(c, access{parley.ScopeFriendsRead, "", []string{c.User.ID}, nil})}
	for _, fr := range page.Friends {
		r := s.accessRecord(c, access{parley.ScopeFriendsRead, "", []string{fr.User.ID}, nil})
		r.Key = r.KeyAt(friendsReadKey)
		records = append(records, r)
	}
	return page, s.store.LogReads(ctx, records)
}

// friendPlace is a friend's, or an asker's, place in a list newest first.
func friendPlace(f parley.Friend) (time.Time, string) { return f.Since, f.User.ID }

// friendsReadKey names the occasion of an app's reading a friend's name in
// its member's list of friends, the Key of its record in the friend's log:
// the same for every read of that friend through the same grant (which
// names the member) by the same app, so that the store appends one of
// them each parley.AccessKeyKept. Another app, or another member's grant,
// reads under a Key of its own.
const friendsReadKey = "friends.read of a friend"

// AllFriends returns every friend of the caller's, ordered by username, in
// one query: for the member's own pages, which offer each friend to pick
// (a new conversation, a friend to add to a group). It costs every friend
// the member has, as a pick among them needs; an app reads Friends a page
// at a time.
func (s *Service) AllFriends(ctx context.Context) (friends []parley.Friend, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		friends, err = tx.FindFriends(ctx, c.User.ID)
		return err
	})
	return friends, err
}

// FriendRequests returns a page of the caller's pending requests: limit
// of those they received (parley.DefaultFriendRequestLimit when 0), newest
// first, from the cursor of the page before (none: from the newest), and
// every one they sent, which parley.MaxSentFriendRequests bounds. EINVALID
// for a limit out of range or a cursor this server did not give out.
func (s *Service) FriendRequests(ctx context.Context, cursor string, limit int) (*parley.FriendRequestPage, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if limit, err = pageLimit(limit, parley.DefaultFriendRequestLimit, parley.MaxFriendRequestLimit); err != nil {
		return nil, err
	}
	f := parley.FriendRequestFilter{AddresseeID: c.User.ID, Limit: limit + 1}
	if f.Before, err = decodeMemberCursor(requestCursorMark, cursor); err != nil {
		return nil, err
	}
	page := &parley.FriendRequestPage{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		if page.Incoming, err = tx.FindReceivedFriendRequests(ctx, f); err != nil {
			return err
		}
		page.Outgoing, err = tx.FindSentFriendRequests(ctx, c.User.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	page.Incoming, page.NextCursor = cutMemberPage(page.Incoming, limit, requestCursorMark, friendPlace)
	return page, nil
}

// What RemoveFriend ended.
const (
	FriendRemoved    = "removed"   // a friendship
	RequestDeclined  = "declined"  // another's request to the caller
	RequestWithdrawn = "withdrawn" // the caller's own request
)

// RemoveFriend ends a friendship, or withdraws or declines a request, and
// returns which it did. Threads already shared stay as they are. A
// declined request stays, out of every list, so that its asker waits
// parley.DeclinedRequestWait before asking again: the asker cannot remove
// it, and the member who declined it removes it by asking them
// (AddFriend).
func (s *Service) RemoveFriend(ctx context.Context, userID string) (ended string, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return "", err
	}
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		f, err := tx.FindFriendship(ctx, c.User.ID, userID)
		switch {
		case isNotFound(err) || err == nil && f.State == parley.FriendDeclined:
			return parley.Errorf(parley.ENOTFOUND, "friend not found")
		case err != nil:
			return err
		case f.State == parley.FriendPending && f.AddresseeID == c.User.ID:
			ended = RequestDeclined
			return tx.DeclineFriendship(ctx, f.RequesterID, f.AddresseeID, s.Now())
		case f.State == parley.FriendPending:
			ended = RequestWithdrawn
		default:
			ended = FriendRemoved
		}
		return tx.DeleteFriendship(ctx, c.User.ID, userID)
	})
	if err != nil {
		return "", err
	}
	return ended, nil
}

// areFriends reports whether a and b are accepted friends.
func areFriends(ctx context.Context, tx parley.Tx, a, b string) (bool, error) {
	f, err := tx.FindFriendship(ctx, a, b)
	if isNotFound(err) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return f.State == parley.FriendAccepted, nil
}
