package service

import (
	"context"
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
}

// Share posts a share card into the direct thread between the caller's
// member and a friend, starting the thread if there is none. The thread
// comes into the app's grant from the card on, so an app that may read
// messages sees the friend's replies, and nothing from before.
func (s *Service) Share(ctx context.Context, in NewShare) (*parley.Message, error) {
	c, err := caller(ctx, parley.ScopeSharesWrite)
	if err != nil {
		return nil, err
	}
	card := &parley.Share{URL: strings.TrimSpace(in.URL), Title: strings.TrimSpace(in.Title)}
	if err := card.Validate(); err != nil {
		return nil, err
	}
	if in.Note != "" {
		if err := parley.ValidateText(in.Note); err != nil {
			return nil, parley.Errorf(parley.EINVALID, "note: %s", parley.ErrorMessage(err))
		}
	}
	to := parley.NormalizeUsername(in.To)
	if to == c.User.Username {
		return nil, parley.Errorf(parley.EINVALID, "share with a friend, not yourself")
	}
	var msg *parley.Message
	var change *parley.ThreadChange
	var recipients []string
	var hooked bool
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		change, hooked = nil, false
		friend, err := friendByName(ctx, tx, c.User.ID, to, "share")
		if err != nil {
			return err
		}
		members := []parley.UserRef{c.User, friend}
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
		} else if closed, err := closedToApps(ctx, tx, c, th.ID); err != nil {
			return err
		} else if closed {
			return parley.Errorf(parley.EFORBIDDEN, "your conversation with %s is closed to apps", to)
		}
		msg = &parley.Message{
			ID: parley.NewID(), ThreadID: th.ID, Sender: c.User, Kind: parley.MessageKindShare,
			Text: in.Note, CreatedAt: s.Now(), Via: via(c), Share: card,
		}
		if err := tx.PostMessage(ctx, msg); err != nil {
			return err
		}
		recipients = []string{c.User.ID, friend.ID}
		if err := bringIntoGrant(ctx, tx, c, th.ID, msg.Seq); err != nil {
			return err
		}
		if hooked, err = s.enqueueMessageWebhooks(ctx, tx, parley.WebhookMessageCreated, msg); err != nil {
			return err
		}
		return s.logAccess(ctx, tx, c, access{parley.ScopeSharesWrite, th.ID, recipients, []*parley.Message{msg}})
	})
	if err != nil {
		return nil, err
	}
	if hooked {
		s.WakeWebhooks()
	}
	if change != nil {
		s.publishThreadChange(ctx, *change, nil)
	}
	s.publishMessage(ctx, recipients, msg)
	return msg, nil
}
