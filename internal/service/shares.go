package service

import (
	"context"
	"errors"
	"strings"

	"github.com/parleyhq/parley"
)

// NewShare holds what sharing a link with a friend takes.
type NewShare struct {
	// To is the friend's username.
	To    string
	URL   string
	Title string
	// Note is an optional message sent with the card.
	Note string
	// IdempotencyKey, when set, makes a retry return the card the first
	// call sent instead of sending another.
	IdempotencyKey string
}

// Share posts a share card into the direct thread between the caller's
// member and a friend, starting the thread if there is none. The thread
// comes into the app's grant from the card on, so an app that may read
// messages sees the friend's replies, and nothing from before. Each of the
// two gets a tracked link to the card's URL; the card returned carries the
// sender's. With an idempotency key, a retry returns the card the first
// call sent, with replayed true; the same key for anything else is
// ECONFLICT.
func (s *Service) Share(ctx context.Context, in NewShare) (msg *parley.Message, replayed bool, err error) {
	c, err := caller(ctx, parley.ScopeSharesWrite)
	if err != nil {
		return nil, false, err
	}
	card := &parley.Share{URL: strings.TrimSpace(in.URL), Title: strings.TrimSpace(in.Title)}
	if err := card.Validate(); err != nil {
		return nil, false, err
	}
	if in.Note != "" {
		if err := parley.ValidateText(in.Note); err != nil {
			return nil, false, parley.Errorf(parley.EINVALID, "note: %s", parley.ErrorMessage(err))
		}
	}
	card.Title, in.Note = parley.NormalizeText(card.Title, parley.MaxShareTitleLen), parley.NormalizeText(in.Note, parley.MaxTextLen)
	if in.IdempotencyKey != "" {
		if err := parley.ValidateIdempotencyKey(in.IdempotencyKey); err != nil {
			return nil, false, err
		}
	}
	to, err := parseUsername("to", in.To)
	if err != nil {
		return nil, false, err
	}
	if to == c.User.Username {
		return nil, false, parley.Errorf(parley.EINVALID, "share with a friend, not yourself")
	}
	// The key is loaded, or made on first use, before the write that needs it.
	key, _, err := s.shareLinkKey(ctx)
	if err != nil {
		return nil, false, err
	}
	directID, err := s.appsDirectThread(ctx, c, to)
	if err != nil {
		return nil, false, err
	}
	var change *parley.ThreadChange
	var recipients []string
	var hooked, noticed bool
	share := func(tx parley.Tx) error {
		change, msg, replayed, hooked, noticed = nil, nil, false, false, false
		var prior *parley.Message
		if in.IdempotencyKey != "" {
			var err error
			if prior, err = tx.FindMessageByIdempotencyKey(ctx, c.User.ID, in.IdempotencyKey); isNotFound(err) {
				prior = nil
			} else if err != nil {
				return err
			}
		}
		if prior != nil {
			var err error
			msg, err = s.replayShare(ctx, tx, c, prior, to, card, in.Note)
			replayed = err == nil
			return err
		}
		friends, err := friendsByName(ctx, tx, c, []string{to}, "share")
		if err != nil {
			return err
		}
		friend := friends[0]
		members := []parley.UserRef{c.User, friend}
		if directID != "" {
			if out, err := shareOutOfReach(ctx, tx, c, directID); err != nil {
				return err
			} else if out {
				return outOfAppReach("share")
			}
		}
		th, err := tx.FindThreadByDirectKey(ctx, parley.DirectKey(c.User.ID, friend.ID))
		if isNotFound(err) {
			th = s.newThread(c, parley.ThreadDirect, "")
			th.DirectKey = parley.DirectKey(c.User.ID, friend.ID)
			if err := startThread(ctx, tx, c, th, members); err != nil {
				return err
			}
			change = &parley.ThreadChange{Thread: th, Participants: members}
		} else if err != nil {
			return err
		} else if th.ID != directID { // not held above: a member's share, or a thread started meanwhile
			if out, err := shareOutOfReach(ctx, tx, c, th.ID); err != nil {
				return err
			} else if out {
				return outOfAppReach("share")
			}
		}
		msg = &parley.Message{
			ID: parley.NewID(), ThreadID: th.ID, Sender: c.User, Kind: parley.MessageKindShare,
			Text: in.Note, CreatedAt: s.Now(), Via: via(c), Share: card, IdempotencyKey: in.IdempotencyKey,
		}
		if in.IdempotencyKey != "" && c.App != nil {
			msg.RequestHash = shareRequestHash(card, in.Note)
		}
		// Posting as one of the thread's members: a sharer whose account
		// is being deleted has left it, or is leaving it and posts nothing.
		if _, posted, err := tx.PostParticipantMessage(ctx, msg); err != nil {
			return err
		} else if !posted {
			return threadNotFound()
		}
		recipients = []string{c.User.ID, friend.ID}
		if err := tx.CreateShareLinks(ctx, newShareLinks(key, msg, recipients)); err != nil {
			return err
		}
		if noticed, err = bringIntoGrant(ctx, tx, c, th.ID, msg.Seq, msg.CreatedAt); err != nil {
			return err
		}
		if hooked, err = s.enqueueMessageWebhooks(ctx, tx, parley.WebhookMessageCreated, msg); err != nil {
			return err
		}
		return s.logAccess(ctx, tx, c, access{parley.ScopeSharesWrite, th.ID, recipients, []*parley.Message{msg}})
	}
	err = s.store.Write(ctx, share)
	if in.IdempotencyKey != "" && parley.ErrorCode(err) == parley.ECONFLICT && !errors.Is(err, parley.ErrIdempotencyKeyReused) {
		// Two shares with one key at once: the one that lost the race
		// finds the other's card now.
		err = s.store.Write(ctx, share)
	}
	if err != nil {
		return nil, false, err
	}
	if hooked {
		s.WakeWebhooks()
	}
	if !replayed {
		if change != nil {
			s.publishThreadChange(ctx, *change, nil)
		}
		s.publishMessage(ctx, parley.EventMessageCreated, recipients, msg)
		if noticed {
			s.publishAppsChanged(ctx, []string{msg.ThreadID})
		}
	}
	// The event carries the card without a link; each member's is added
	// as it reaches them. The caller gets a copy with the sender's.
	out := *msg
	return &out, replayed, s.forCaller(ctx, c, &out)
}

// replayShare answers a share whose idempotency key the member used
// before, prior: with prior, when it is the card asked for now, into the
// direct thread with the member named to; ECONFLICT otherwise. Whether
// that member is a friend plays no part, so that a key used already does
// not tell an app who the member's friends are: a share that fails for no
// other reason posts a card, which the member and the friend both see.
// The thread is held to the app's reach as replay says, and one out of
// it is answered as a first share into a conversation closed to apps is
// (outOfAppReach), as is a conversation the member took out of the grant
// since (ThreadReach.TakenOut): a retry posts nothing, and brings nothing
// back.
func (s *Service) replayShare(ctx context.Context, tx parley.Tx, c *parley.Caller, prior *parley.Message, to string, card *parley.Share, note string) (*parley.Message, error) {
	if !sameShare(prior, prior.ThreadID, via(c), card, note) {
		return nil, parley.ErrIdempotencyKeyReused
	}
	u, err := tx.FindUserByUsername(ctx, to)
	if isNotFound(err) {
		return nil, parley.ErrIdempotencyKeyReused
	} else if err != nil {
		return nil, err
	}
	th, err := tx.FindThreadByDirectKey(ctx, parley.DirectKey(c.User.ID, u.ID))
	if isNotFound(err) || err == nil && th.ID != prior.ThreadID {
		return nil, parley.ErrIdempotencyKeyReused
	} else if err != nil {
		return nil, err
	}
	if err := s.replay(ctx, tx, c, prior); isNotFound(err) {
		return nil, outOfAppReach("share")
	} else if err != nil {
		return nil, err
	}
	return prior, nil
}

// sameShare reports whether a card sent before with the same idempotency
// key is the one asked for now: a share, into the same thread through the
// same app, of the same card and note, as the first share asked for them
// (sameRequest).
func sameShare(prior *parley.Message, threadID string, v *parley.Via, card *parley.Share, note string) bool {
	if prior.Kind != parley.MessageKindShare || prior.ThreadID != threadID || !sameVia(prior.Via, v) {
		return false
	}
	return sameRequest(prior, shareRequestHash(card, note), func() bool {
		return prior.Text == note && prior.Share != nil && prior.Share.URL == card.URL && prior.Share.Title == card.Title
	})
}

// shareRequestHash is what a keyed share of the card with the note asked
// for, kept with its key (parley.Message.RequestHash).
func shareRequestHash(card *parley.Share, note string) []byte {
	return requestHash(parley.MessageKindShare, note, card.URL, card.Title)
}

// appsDirectThread returns, for an app's share, the direct thread of the
// app's member and the member named to, if there is one: the share's
// write holds it as an app's writes hold a thread, the member's place
// first, then the thread (FindThreadReach), in the order of the member's
// own writes, before its locked read by key, which would hold the thread
// first and deadlock with them. A member's own share needs none.
func (s *Service) appsDirectThread(ctx context.Context, c *parley.Caller, to string) (id string, err error) {
	if c.App == nil {
		return "", nil
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		u, err := tx.FindUserByUsername(ctx, to)
		if isNotFound(err) {
			return nil // refused in the write, as any share to no one
		} else if err != nil {
			return err
		}
		th, err := tx.FindThreadByDirectKey(ctx, parley.DirectKey(c.User.ID, u.ID))
		if err == nil {
			id = th.ID
		} else if !isNotFound(err) {
			return err
		}
		return nil
	})
	return id, err
}
