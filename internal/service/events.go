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

// eventScopes are the scopes an app must hold to receive each event; the
// first is the access the event is logged as.
var eventScopes = map[string]parley.Scopes{
	parley.EventMessageCreated: {parley.ScopeMessagesRead},
	parley.EventMessageDeleted: {parley.ScopeMessagesRead},
	parley.EventReadUpdated:    {parley.ScopeThreadsRead},
	// A thread change lists who is in the thread.
	parley.EventThreadUpdated: {parley.ScopeParticipantsRead, parley.ScopeThreadsRead},
}

// Admit reports whether the caller may receive ev. For an app it checks
// again that the token still works, so a revoked grant or a suspended app
// stops its stream: then it returns EUNAUTHORIZED and the stream should
// end. An event an app may receive is logged, for everyone in its thread,
// before it is sent.
func (e *Events) Admit(ctx context.Context, ev parley.Event) (bool, error) {
	c := e.caller
	if c.App == nil {
		return true, nil
	}
	scopes := eventScopes[ev.Type]
	if len(scopes) == 0 || len(c.App.Scopes.Missing(scopes)) > 0 {
		return false, nil
	}
	visible := false
	var readers []string
	err := e.svc.store.Read(ctx, func(tx parley.Tx) error {
		if _, err := liveAccessToken(ctx, tx, c.App.TokenHash); err != nil {
			return err
		}
		from, err := visibleFrom(ctx, tx, c, ev.ThreadID)
		if isNotFound(err) {
			return nil
		} else if err != nil {
			return err
		}
		if visible = ev.Seq == 0 || ev.Seq >= from; visible {
			readers, err = tx.FindParticipantIDs(ctx, ev.ThreadID)
		}
		return err
	})
	if err != nil || !visible {
		return false, err
	}
	var msgs []*parley.Message
	if ev.MessageID != "" {
		msgs = []*parley.Message{{ID: ev.MessageID}}
	}
	return true, e.svc.logRead(ctx, c, access{scopes[0], ev.ThreadID, readers, msgs})
}
