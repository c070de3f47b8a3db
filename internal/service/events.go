package service

import (
	"context"

	"github.com/parleyhq/parley"
)

// Events is a caller's stream of realtime events. A member's own session
// sees every event; an app sees only what its grant reaches.
type Events struct {
	parley.Subscription
	svc    *Service
	caller *parley.Caller
}

// Subscribe opens the caller's event stream. Apps need messages.read; they
// see read-marker changes only with threads.read too, and thread changes,
// which list the participants, only with participants.read as well.
func (s *Service) Subscribe(ctx context.Context) (*Events, error) {
	c, err := caller(ctx, parley.ScopeMessagesRead)
	if err != nil {
		return nil, err
	}
	sub, err := s.bus.Subscribe(ctx, c.User.ID)
	if err != nil {
		return nil, err
	}
	return &Events{Subscription: sub, svc: s, caller: c}, nil
}

// Visible reports whether the caller may see ev. For an app it checks again
// that the token still works, so a revoked grant or a suspended app stops
// its stream: then it returns EUNAUTHORIZED and the stream should end.
func (e *Events) Visible(ctx context.Context, ev parley.Event) (bool, error) {
	c := e.caller
	if c.App == nil {
		return true, nil
	}
	switch {
	case (ev.Type == parley.EventThreadUpdated || ev.Type == parley.EventReadUpdated) && !c.App.Scopes.Has(parley.ScopeThreadsRead),
		// A thread change lists who is in the thread.
		ev.Type == parley.EventThreadUpdated && !c.App.Scopes.Has(parley.ScopeParticipantsRead):
		return false, nil
	}
	visible := false
	err := e.svc.store.Read(ctx, func(tx parley.Tx) error {
		tg, err := tx.FindTokenGrant(ctx, c.App.TokenHash)
		if isNotFound(err) || err == nil && !tg.ActiveAt(parley.Now()) {
			return invalidToken()
		} else if err != nil {
			return err
		}
		from, err := visibleFrom(ctx, tx, c, ev.ThreadID)
		if isNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		visible = ev.Seq == 0 || ev.Seq >= from
		return nil
	})
	return visible, err
}
