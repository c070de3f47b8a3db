package service

import (
	"context"
	"math"
	"time"

	"github.com/parleyhq/parley"
)

// A member's connected apps: the grants in force, what they reach, how the
// apps used them, and the member's hand on them. Every change to a grant is
// written to its member's access log in the change's transaction.

// ConnectedApps lists the signed-in member's grants in force, oldest first.
func (s *Service) ConnectedApps(ctx context.Context) ([]*parley.ConnectedApp, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	list := []*parley.ConnectedApp{}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		grants, err := tx.FindActiveGrants(ctx, c.User.ID, s.Now())
		if err != nil {
			return err
		}
		for _, g := range grants {
			ca, err := connectedApp(ctx, tx, g)
			if err != nil {
				return err
			}
			list = append(list, ca)
		}
		return nil
	})
	return list, err
}

// leftThreadLabel names, in a grant's list of threads, one the member has
// left: the grant keeps it, and reaches it again should they come back.
const leftThreadLabel = "a conversation you left"

// connectedApp completes a grant with its app, threads and use.
func connectedApp(ctx context.Context, tx parley.Tx, g *parley.Grant) (*parley.ConnectedApp, error) {
	app, err := tx.FindAppByClientID(ctx, g.ClientID)
	if err != nil {
		return nil, err
	}
	use, err := tx.FindGrantUse(ctx, g)
	if err != nil {
		return nil, err
	}
	threads, err := tx.FindGrantThreads(ctx, g.ID)
	if err != nil {
		return nil, err
	}
	ca := &parley.ConnectedApp{Grant: *g, AppName: app.Name, GrantUse: *use, Threads: make([]parley.GrantedThread, 0, len(threads))}
	for _, gt := range threads {
		th, err := tx.FindThreadByID(ctx, gt.ThreadID)
		if err != nil {
			return nil, err
		}
		label, err := threadLabel(ctx, tx, th, g.UserID)
		if err != nil {
			return nil, err
		}
		if label == "" {
			label = leftThreadLabel
		}
		ca.Threads = append(ca.Threads, parley.GrantedThread{GrantThread: gt, Label: label})
	}
	return ca, nil
}

// RevokeGrant ends one of the signed-in member's grants now. The app's
// tokens stop working at its very next request, refresh tokens included,
// since every use of a token checks its grant. Revoking a grant that has
// already ended changes nothing.
func (s *Service) RevokeGrant(ctx context.Context, grantID string) error {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return err
	}
	revoked, hooked := false, false
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		revoked, hooked = false, false
		g, err := tx.FindGrantByID(ctx, grantID)
		if isNotFound(err) || err == nil && g.UserID != c.User.ID {
			return parley.Errorf(parley.ENOTFOUND, "no app is connected with this grant")
		} else if err != nil {
			return err
		}
		now := s.Now()
		if !g.ActiveAt(now) {
			return nil
		}
		revoked = true
		hooked, err = s.revokeGrant(ctx, tx, g, now, parley.ActionGrantRevoked)
		return err
	})
	if hooked {
		s.WakeWebhooks()
	}
	if err == nil && revoked {
		s.publishGrantsEnded(ctx, []string{c.User.ID}, []string{grantID}, "the member revoked the app's access")
	}
	return err
}

// revokeGrant ends a grant in force at now, as revoked: it marks it,
// tells the app's webhook endpoints (hooked says whether a delivery was
// queued) and writes it to the member's access log as action, which says
// who revoked it (parley.ActionGrantRevoked: the member;
// parley.ActionGrantRevokedByOperator: an operator's decision). The
// caller publishes the end to the app's streams once the write commits.
func (s *Service) revokeGrant(ctx context.Context, tx parley.Tx, g *parley.Grant, now time.Time, action string) (hooked bool, err error) {
	app, err := tx.FindAppByClientID(ctx, g.ClientID)
	if err != nil {
		return false, err
	}
	g.RevokedAt, g.UpdatedAt = &now, now
	if err := tx.UpdateGrant(ctx, g); err != nil {
		return false, err
	}
	if hooked, err = s.enqueueGrantEnded(ctx, tx, g, parley.GrantEndRevoked, now); err != nil {
		return false, err
	}
	return hooked, logGrant(ctx, tx, g, app.Name, action, now, nil)
}

// expiryBatch is how many expired grants EndExpiredGrants ends per write.
const expiryBatch = 100

// EndExpiredGrants marks the grants that ran out as ended and writes each
// expiry, at the moment it happened (or, when the member's log has a later
// entry, at that entry's time), to its member's log. It returns how
// many it ended. The server runs it every minute; an expired grant stops
// working at once either way, since every call checks the expiry.
func (s *Service) EndExpiredGrants(ctx context.Context) (int, error) {
	ended := 0
	for {
		var grants []*parley.Grant
		err := s.store.Write(ctx, func(tx parley.Tx) (err error) {
			grants, err = tx.FindExpiredGrants(ctx, s.Now(), expiryBatch)
			if err != nil {
				return err
			}
			for _, g := range grants {
				app, err := tx.FindAppByClientID(ctx, g.ClientID)
				if err != nil {
					return err
				}
				if err := s.endExpiredGrant(ctx, tx, g, app.Name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return ended, err
		}
		if len(grants) > 0 {
			s.WakeWebhooks()
		}
		var users, ids []string
		for _, g := range grants {
			users, ids = append(users, g.UserID), append(ids, g.ID)
		}
		s.publishGrantsEnded(ctx, users, ids, "the member's grant to the app expired")
		n := len(grants)
		ended += n
		if n < expiryBatch {
			return ended, nil
		}
	}
}

// endExpiredGrant marks an expired grant ended when it expired, logs it
// and tells the app's endpoints.
//
// The log's entry is at the moment the grant expired unless the member's
// log already holds a later one: the sweep runs up to a minute after the
// expiry (much later when no node ran), and another app's entries may have
// come between. A log reads in time as it reads in seq, so the expiry then
// takes that later entry's time: the grant stopped working at its expiry
// all the same, as every call checks it, and the webhook says when.
func (s *Service) endExpiredGrant(ctx context.Context, tx parley.Tx, g *parley.Grant, appName string) error {
	g.RevokedAt = g.ExpiresAt
	if err := tx.UpdateGrant(ctx, g); err != nil {
		return err
	}
	if _, err := s.enqueueGrantEnded(ctx, tx, g, parley.GrantEndExpired, *g.ExpiresAt); err != nil {
		return err
	}
	at := *g.ExpiresAt
	newest, err := tx.FindAccessEntries(ctx, parley.AccessFilter{UserID: g.UserID, From: math.MaxInt64, Limit: 1})
	if err != nil {
		return err
	}
	if len(newest) == 1 && newest[0].At.After(at) {
		at = newest[0].At
	}
	return logGrant(ctx, tx, g, appName, parley.ActionGrantExpired, at, nil)
}
