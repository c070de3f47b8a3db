package service

import (
	"context"
	"slices"

	"github.com/parleyhq/parley"
)

// GrantNarrowing is what a member keeps of one of their grants: the
// scopes and threads to keep, each a subset of what the grant holds.
type GrantNarrowing struct {
	// Scopes are the scopes to keep; nil keeps them all. The grant's
	// parley.FixedScopes stay whether listed or not.
	Scopes []string
	// ThreadIDs are the threads the grant lists to keep; nil keeps them
	// all. A grant with thread scope all lists none.
	ThreadIDs []string
	// ShownScopes and ShownThreadIDs, when not nil, are what the member
	// chose from: only what they list and Scopes or ThreadIDs leave out is
	// taken out, and what the grant gained since (a thread its app
	// started, a scope it asked for again) stays.
	ShownScopes, ShownThreadIDs []string
}

// NarrowGrant takes scopes or threads out of one of the signed-in member's
// grants in force, as the member unticks them on the connected apps page.
// A grant only narrows here: keeping a scope or thread the grant does not
// hold is EINVALID, since an app gains access only through the consent
// page. Each thread taken out reaches the app's endpoints as
// thread.closed_to_apps, reason unticked; each it reaches still, reason
// narrowed, when messages.read is taken out (enqueueNoLongerRead). Tokens issued under the grant
// lose what it lost at their next use (parley.TokenGrant.Scopes); the
// app's realtime streams end, to be opened again under the narrowed grant,
// or, when messages.read, which a stream needs, is taken out, as for a
// grant that ended, not to be opened again. A thread taken out stays out for
// the grant's life (GrantStore.RemoveGrantThread): the app's share into
// it is refused as a share outside a grant of thread scope selected is
// (outOfAppReach), and only a new grant, after this one ends, may reach
// it again; widening this one on the consent page does not. Narrowing is written to the
// member's access log; narrowing nothing changes nothing, and narrowed,
// false, says so.
func (s *Service) NarrowGrant(ctx context.Context, grantID string, n GrantNarrowing) (app *parley.ConnectedApp, narrowed bool, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, false, err
	}
	unread, hooked := false, false
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		narrowed, unread, hooked = false, false, false
		now := s.Now()
		g, err := tx.FindGrantByID(ctx, grantID)
		if isNotFound(err) || err == nil && (g.UserID != c.User.ID || !g.ActiveAt(now)) {
			return parley.Errorf(parley.ENOTFOUND, "no app is connected with this grant")
		} else if err != nil {
			return err
		}
		keep, err := keptScopes(g.Scopes, n.Scopes, n.ShownScopes)
		if err != nil {
			return err
		}
		gone, err := droppedThreads(ctx, tx, g.ID, n.ThreadIDs, n.ShownThreadIDs)
		if err != nil {
			return err
		}
		reached := []parley.ThreadGrant{{GrantID: g.ID, ClientID: g.ClientID, Member: parley.UserRef{ID: g.UserID},
			Scopes: g.Scopes, ThreadScope: g.ThreadScope}}
		for _, id := range gone {
			if err := tx.RemoveGrantThread(ctx, g.ID, id); err != nil {
				return err
			}
			ok, err := s.enqueueThreadEnded(ctx, tx, id, reached, parley.ThreadEndUnticked)
			if err != nil {
				return err
			}
			hooked = hooked || ok
		}
		if unread = g.Scopes.Has(parley.ScopeMessagesRead) && !keep.Has(parley.ScopeMessagesRead); unread {
			ok, err := s.enqueueNoLongerRead(ctx, tx, g, reached)
			if err != nil {
				return err
			}
			hooked = hooked || ok
		}
		if len(keep) < len(g.Scopes) {
			g.Scopes, g.UpdatedAt = keep, now
			if err := tx.UpdateGrant(ctx, g); err != nil {
				return err
			}
			narrowed = true
		}
		if narrowed = narrowed || len(gone) > 0; narrowed {
			registered, err := tx.FindAppByClientID(ctx, g.ClientID)
			if err != nil {
				return err
			}
			if err := logGrant(ctx, tx, g, registered.Name, parley.ActionGrantNarrowed, now, g.Terms(gone)); err != nil {
				return err
			}
		}
		app, err = connectedApp(ctx, tx, g)
		return err
	})
	if hooked {
		s.WakeWebhooks()
	}
	if err != nil {
		return nil, false, err
	}
	switch {
	case unread:
		s.publishGrantsEnded(ctx, []string{c.User.ID}, []string{grantID},
			"the member took messages.read, which the stream needs, out of the app's access: do not open it again with this grant")
	case narrowed:
		s.publishGrantsNarrowed(ctx, []string{c.User.ID}, []string{grantID}, "the member narrowed the app's access: open the stream again")
	}
	return app, narrowed, nil
}

// enqueueNoLongerRead enqueues thread.closed_to_apps, narrowed, for each
// thread the grant g reaches still (those unticked with it are told so),
// as reached, its grant before the narrowing, knows of them: g no longer
// holds messages.read, so its app is told of no deletion or edit there
// from then on, and is to forget what it kept, as of a thread that left
// the grant. A grant of thread scope all reaches every thread its member
// is in but those closed to apps.
func (s *Service) enqueueNoLongerRead(ctx context.Context, tx parley.Tx, g *parley.Grant, reached []parley.ThreadGrant) (bool, error) {
	var threads []string
	if g.ThreadScope == parley.ThreadScopeAll {
		list, err := memberThreads(ctx, tx, g.UserID)
		if err != nil {
			return false, err
		}
		for _, th := range list {
			threads = append(threads, th.ID)
		}
	} else {
		list, err := tx.FindGrantThreads(ctx, g.ID)
		if err != nil {
			return false, err
		}
		for _, gt := range list {
			threads = append(threads, gt.ThreadID)
		}
	}
	hooked := false
	for _, id := range threads {
		// A thread a participant closed to apps is no longer reached, and
		// its app was told so then, or, closed before the grant was made,
		// never told of it at all.
		r, err := tx.FindThreadReach(ctx, g.ID, id)
		if err != nil {
			return false, err
		}
		if _, ok := r.From(g.ThreadScope); !ok {
			continue
		}
		ok, err := s.enqueueThreadEnded(ctx, tx, id, reached, parley.ThreadEndNarrowed)
		if err != nil {
			return false, err
		}
		hooked = hooked || ok
	}
	return hooked, nil
}

// keptScopes returns the scopes of have that keep lists, with the fixed
// ones and, for a shown not nil, those it does not list; a nil keep keeps
// all. A scope have lacks is EINVALID.
func keptScopes(have parley.Scopes, keep, shown []string) (parley.Scopes, error) {
	if keep == nil {
		return have, nil
	}
	for _, name := range keep {
		if !have.Has(parley.Scope(name)) {
			return nil, parley.Errorf(parley.EINVALID, "the grant does not hold the scope %q: an app asks for more on the consent page", name)
		}
	}
	var out parley.Scopes
	for _, s := range have {
		if parley.FixedScopes.Has(s) || !unticked(string(s), keep, shown) {
			out = append(out, s)
		}
	}
	return out, nil
}

// droppedThreads returns the threads the grant lists that keep does not
// and, for a shown not nil, shown does; a nil keep drops none. A thread
// the grant does not list is EINVALID.
func droppedThreads(ctx context.Context, tx parley.Tx, grantID string, keep, shown []string) ([]string, error) {
	if keep == nil {
		return nil, nil
	}
	listed, err := tx.FindGrantThreads(ctx, grantID)
	if err != nil {
		return nil, err
	}
	for _, id := range keep {
		if !slices.ContainsFunc(listed, func(gt parley.GrantThread) bool { return gt.ThreadID == id }) {
			return nil, parley.Errorf(parley.EINVALID, "the grant does not reach conversation %q: an app reaches more only through the consent page", id)
		}
	}
	var gone []string
	for _, gt := range listed {
		if unticked(gt.ThreadID, keep, shown) {
			gone = append(gone, gt.ThreadID)
		}
	}
	return gone, nil
}

// unticked reports whether the member took name out: keep leaves it out
// and, for a shown not nil (the form said what it showed), shown lists
// it; what the form did not show, the grant gained since, stays.
func unticked(name string, keep, shown []string) bool {
	return !slices.Contains(keep, name) && (shown == nil || slices.Contains(shown, name))
}
