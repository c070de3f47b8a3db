package service

import (
	"context"
	"strings"
	"time"

	"github.com/parleyhq/parley"
)

// A say for every participant: each member of a thread sees which apps can
// reach it through whose grant, and any of them can close it to every app,
// whatever the others granted. Closing and reopening are logged for every
// participant.

// ThreadApps returns what apps may do in one of the signed-in member's
// threads.
func (s *Service) ThreadApps(ctx context.Context, threadID string) (*parley.ThreadAppAccess, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	var a *parley.ThreadAppAccess
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		if _, _, err := memberThread(ctx, tx, threadID, c.User.ID); err != nil {
			return err
		}
		a, err = s.threadAppAccess(ctx, tx, threadID)
		return err
	})
	return a, err
}

// SetThreadAppAccess closes one of the signed-in member's threads to every
// app (allowed false) or withdraws the member's closing (allowed true). A
// thread stays closed while anyone keeps it closed, so only those who
// closed it can reopen it. Either change is a notice in the thread.
func (s *Service) SetThreadAppAccess(ctx context.Context, threadID string, allowed bool) (*parley.ThreadAppAccess, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	var a *parley.ThreadAppAccess
	var closed, hooked, changed bool
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		hooked, changed = false, false
		th, _, err := memberThread(ctx, tx, threadID, c.User.ID)
		if err != nil {
			return err
		}
		// Each reopening, as each closing, is a notice the others read:
		// a member blocked in the thread, who may close it, may not
		// reopen it, lest they write to the member who blocked them in
		// notices, one closing and reopening after the other; nor may
		// the member who blocks (closedToNewApps).
		if allowed && closedToNewApps(th) {
			return parley.Errorf(parley.EFORBIDDEN, "this conversation is blocked: it cannot be reopened to apps while a block stands")
		}
		now := s.Now()
		if allowed {
			changed, err = tx.ReopenThreadToApps(ctx, threadID, c.User.ID)
		} else {
			changed, err = tx.CloseThreadToApps(ctx, threadID, c.User.ID, now)
		}
		if err != nil {
			return err
		}
		if changed {
			if err := noteAppAccessChange(ctx, tx, threadID, c.User, allowed, now); err != nil {
				return err
			}
		}
		if a, err = s.threadAppAccess(ctx, tx, threadID); err != nil {
			return err
		}
		if allowed && !changed && !a.Allowed {
			return parley.Errorf(parley.EFORBIDDEN, "%s closed this thread to apps; only they can reopen it", names(a.ClosedBy))
		}
		closed = !allowed && changed
		if closed && len(a.ClosedBy) == 1 {
			// The first to close it takes it from every grant that reached
			// it: a suspended app's too, told once it is reinstated.
			reached, err := tx.FindThreadGrants(ctx, threadID, now, true)
			if err != nil {
				return err
			}
			hooked, err = s.enqueueThreadEnded(ctx, tx, threadID, reached, parley.ThreadEndClosed)
			return err
		}
		return nil
	})
	if hooked {
		s.WakeWebhooks()
	}
	if err == nil && changed {
		s.publishAppsChanged(ctx, []string{threadID})
	}
	if err == nil && closed {
		// The apps that reached the thread end their streams, which may
		// hold its events, at once.
		var users, grants []string
		for _, g := range a.Apps {
			users, grants = append(users, g.Member.ID), append(grants, g.GrantID)
		}
		s.publishGrantsNarrowed(ctx, users, grants, "a participant closed a conversation to apps: open the stream again")
	}
	return a, err
}

// noteAppAccessChange records that the participant by closed the thread
// to apps, or reopened it, at t: in the access log of everyone in the
// thread, and as a notice in it.
func noteAppAccessChange(ctx context.Context, tx parley.Tx, threadID string, by parley.UserRef, reopened bool, t time.Time) error {
	action, kind := parley.ActionThreadClosed, parley.NoticeAppsClosed
	if reopened {
		action, kind = parley.ActionThreadReopened, parley.NoticeAppsReopened
	}
	ids, err := tx.FindParticipantIDs(ctx, threadID)
	if err != nil {
		return err
	}
	e := parley.AccessEntry{At: t, Action: action, ThreadID: threadID, ByUserID: by.ID}
	if err := tx.AppendAccess(ctx, []parley.AccessRecord{{Entry: e, UserIDs: ids}}); err != nil {
		return err
	}
	return tx.AddThreadNotice(ctx, &parley.ThreadNotice{ID: parley.NewID(), ThreadID: threadID, Kind: kind, At: t, By: by})
}

// threadAppAccess reads who closed a thread to apps and the grants that reach it.
func (s *Service) threadAppAccess(ctx context.Context, tx parley.Tx, threadID string) (*parley.ThreadAppAccess, error) {
	closers, err := tx.FindThreadClosers(ctx, threadID)
	if err != nil {
		return nil, err
	}
	apps, err := tx.FindThreadGrants(ctx, threadID, s.Now(), false)
	if err != nil {
		return nil, err
	}
	return &parley.ThreadAppAccess{Allowed: len(closers) == 0, ClosedBy: closers, Apps: apps}, nil
}

// names lists members' display names.
func names(users []parley.UserRef) string {
	list := make([]string, len(users))
	for i, u := range users {
		list[i] = u.DisplayName
	}
	return strings.Join(list, ", ")
}
