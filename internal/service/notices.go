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
		By: parley.UserRef{ID: g.UserID}, ClientID: g.ClientID, GrantID: g.ID,
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
	grants, err := tx.FindThreadGrants(ctx, threadID, at, false)
	if err != nil {
		return false, err
	}
	noticed := false
	for _, tg := range grants {
		if !slices.Contains(newcomers, tg.Member.ID) {
			continue
		}
		g := &parley.Grant{ID: tg.GrantID, UserID: tg.Member.ID, ClientID: tg.ClientID}
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
