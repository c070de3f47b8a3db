package service

import (
	"context"
	"slices"
	"time"

	"github.com/parleyhq/parley"
)

// Thread notices keep, in a thread's timeline, each change in what apps may
// do in it: an app that came to reach it, through whose grant, and a
// participant closing it to apps or reopening it. They are stored in the
// write that made the change, so every node shows them and they outlast a
// reload, and the participants' pages hear of them at once by a
// thread.apps_changed event, which no app receives.

// ThreadNotices returns the latest notices of one of the signed-in member's
// threads, oldest first.
func (s *Service) ThreadNotices(ctx context.Context, threadID string) ([]parley.ThreadNotice, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	var list []parley.ThreadNotice
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		if _, _, err := memberThread(ctx, tx, threadID, c.User.ID); err != nil {
			return err
		}
		list, err = tx.FindThreadNotices(ctx, threadID, parley.ThreadNoticeLimit)
		return err
	})
	return list, err
}

// noticeAppAdded records that grant g came to reach a thread, unless the
// thread is closed to apps, when the app reaches nothing of it yet. It
// reports whether it recorded a notice.
func noticeAppAdded(ctx context.Context, tx parley.Tx, g *parley.Grant, threadID string, at time.Time) (bool, error) {
	closers, err := tx.FindThreadClosers(ctx, threadID)
	if err != nil || len(closers) > 0 {
		return false, err
	}
	n := &parley.ThreadNotice{
		ID: parley.NewID(), ThreadID: threadID, Kind: parley.NoticeAppAdded, At: at,
		By: parley.UserRef{ID: g.UserID}, ClientID: g.ClientID, GrantID: g.ID, Scopes: g.Scopes,
	}
	return true, tx.AddThreadNotice(ctx, n)
}

// noticeReach records, for members who just came into a thread (who
// started it, or were added), that each of their grants that reaches it
// now reaches it too: one reaching all conversations, and, for a member
// added back after leaving, one that still lists the thread (ticked on
// consent, or started or shared into by the app), which reached nothing
// of it while they were away. It reports whether it recorded any.
func noticeReach(ctx context.Context, tx parley.Tx, threadID string, newcomers []string, at time.Time) (bool, error) {
	return noticeThreadGrants(ctx, tx, threadID, at, func(tg parley.ThreadGrant) bool { return slices.Contains(newcomers, tg.Member.ID) })
}

// noticeUnblocked records, in a direct thread no longer blocked, that each
// grant of thread scope all that reaches it reaches it: none was noticed
// there while it was blocked (noticeAllThreads), and the app reads what is
// said there from now on. A grant connected before the block is noticed
// again. It reports whether it recorded any.
func noticeUnblocked(ctx context.Context, tx parley.Tx, threadID string, at time.Time) (bool, error) {
	return noticeThreadGrants(ctx, tx, threadID, at, func(tg parley.ThreadGrant) bool { return tg.ThreadScope == parley.ThreadScopeAll })
}

// noticeThreadGrants records, of the grants in force that reach the
// thread, that each one which keeps reaches it, and reports whether it
// recorded any.
func noticeThreadGrants(ctx context.Context, tx parley.Tx, threadID string, at time.Time, which func(parley.ThreadGrant) bool) (bool, error) {
	grants, err := tx.FindThreadGrants(ctx, threadID, at, false)
	if err != nil {
		return false, err
	}
	noticed := false
	for _, tg := range grants {
		if !which(tg) {
			continue
		}
		g := &parley.Grant{ID: tg.GrantID, UserID: tg.Member.ID, ClientID: tg.ClientID, Scopes: tg.Scopes}
		ok, err := noticeAppAdded(ctx, tx, g, threadID, at)
		if err != nil {
			return false, err
		}
		noticed = noticed || ok
	}
	return noticed, nil
}

// noticeAllThreads records that a grant reaching all conversations came to
// reach each of its member's threads, and returns those it recorded; but a
// blocked conversation's (closedToNewApps), where a member blocked would
// otherwise put an app's name in front of the member who blocked them, as
// often as they connect it again. The conversation's apps still list the
// grant.
func noticeAllThreads(ctx context.Context, tx parley.Tx, g *parley.Grant, at time.Time) ([]string, error) {
	var noticed []string
	f := parley.ThreadFilter{UserID: g.UserID, Limit: parley.MaxThreadLimit}
	for {
		page, err := tx.FindThreads(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, t := range page {
			if closedToNewApps(&t.Thread) {
				continue
			}
			ok, err := noticeAppAdded(ctx, tx, g, t.ID, at)
			if err != nil {
				return nil, err
			}
			if ok {
				noticed = append(noticed, t.ID)
			}
		}
		if len(page) < f.Limit {
			return noticed, nil
		}
		last := page[len(page)-1]
		f.After = &parley.ThreadCursor{LastActivityAt: last.LastActivityAt, ID: last.ID}
	}
}

// noticeWidened records, in each conversation a widened grant reaches,
// that its app may now do more there, when the widening gained a scope
// the conversation's other members are told of (parley.NoticedScopes),
// and returns the conversations it recorded it in: each notice says what
// the app could do when it was written, and the first says nothing of
// what the app came to do since. A conversation the member left, or a
// blocked one (closedToNewApps), is not told.
func noticeWidened(ctx context.Context, tx parley.Tx, g *parley.Grant, gained parley.Scopes, at time.Time) ([]string, error) {
	if len(gained.Within(parley.NoticedScopes)) == 0 {
		return nil, nil
	}
	if g.ThreadScope == parley.ThreadScopeAll {
		return noticeAllThreads(ctx, tx, g, at)
	}
	listed, err := tx.FindGrantThreads(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	var noticed []string
	for _, gt := range listed {
		th, _, err := memberThread(ctx, tx, gt.ThreadID, g.UserID)
		if isNotFound(err) || err == nil && closedToNewApps(th) {
			continue
		} else if err != nil {
			return nil, err
		}
		ok, err := noticeAppAdded(ctx, tx, g, gt.ThreadID, at)
		if err != nil {
			return nil, err
		}
		if ok {
			noticed = append(noticed, gt.ThreadID)
		}
	}
	return noticed, nil
}

// publishAppsChanged tells the participants of each thread that its notices
// changed, once the change is stored.
func (s *Service) publishAppsChanged(ctx context.Context, threadIDs []string) {
	for _, id := range threadIDs {
		var to []string
		err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
			to, err = tx.FindParticipantIDs(ctx, id)
			return err
		})
		if err != nil {
			s.log.ErrorContext(ctx, "publish thread.apps_changed", "err", err)
			continue
		}
		s.publish(ctx, to, parley.NewEvent(parley.EventThreadAppsChanged, id, parley.ThreadAppsChanged{ThreadID: id}))
	}
}
