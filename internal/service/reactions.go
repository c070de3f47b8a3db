package service

import (
	"context"

	"github.com/parleyhq/parley"
)

// React gives a message of a thread the caller is in their reaction,
// emoji, one of parley.ReactionEmoji, in place of any they gave it before;
// "" takes theirs back. It returns the message as it now is. Everyone in
// the thread is told (EventMessageReacted), and apps whose grants reach
// the message read it with its reactions, as they read its sender; no
// webhook tells of it. The reaction the caller has already changes
// nothing and tells no one.
//
// A reaction is a member's alone: what a member felt on reading a message
// is not an app's to say, so no app may give or take back one. A deleted
// message takes none (ECONFLICT), nor does a conversation that takes no
// message (a block), where a reaction is still taken back as a message is
// still deleted.
func (s *Service) React(ctx context.Context, messageID, emoji string) (*parley.Message, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	if emoji != "" {
		if err := parley.ValidateReaction(emoji); err != nil {
			return nil, err
		}
	}
	var msg *parley.Message
	var recipients []string
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		msg, recipients = nil, nil
		m, err := tx.FindMessageByID(ctx, messageID)
		if err != nil {
			return err
		}
		// Their place held, a reaction commits before the member's leaving
		// or removal, or finds them gone.
		th, _, err := heldThread(ctx, tx, m.ThreadID, c.User.ID)
		if err != nil {
			return parley.Errorf(parley.ENOTFOUND, "message not found")
		}
		msg = m
		switch {
		case m.ReactionBy(c.User.ID) == emoji:
			return nil
		case m.DeletedAt != nil:
			return parley.Errorf(parley.ECONFLICT, "this message was deleted")
		case th.Blocked && emoji != "":
			return errBlockedThread
		}
		msg, recipients, err = s.setReaction(ctx, tx, m, c.User.ID, emoji)
		return err
	})
	if err != nil {
		return nil, err
	}
	if recipients != nil {
		s.publishMessage(ctx, parley.EventMessageReacted, recipients, msg)
	}
	return msg, nil
}

// setReaction gives m the member's reaction emoji, or takes theirs back
// for "", and returns the message as it now is, with who is in its thread
// to be told once the write commits.
func (s *Service) setReaction(ctx context.Context, tx parley.Tx, m *parley.Message, userID, emoji string) (*parley.Message, []string, error) {
	if err := tx.SetReaction(ctx, m.ID, userID, emoji, s.Now()); err != nil {
		return nil, nil, err
	}
	m, err := tx.FindMessageByID(ctx, m.ID)
	if err != nil {
		return nil, nil, err
	}
	recipients, err := tx.FindParticipantIDs(ctx, m.ThreadID)
	return m, recipients, err
}

// takeBackReactions takes back every reaction the member gave, into d: a
// deleted account leaves no reaction behind, as it leaves no message.
func (s *Service) takeBackReactions(ctx context.Context, tx parley.Tx, userID string, d *deletion) error {
	for {
		given, err := tx.FindGivenReactions(ctx, userID, nil, tombstonePage)
		if err != nil {
			return err
		}
		for _, g := range given {
			m, recipients, err := s.setReaction(ctx, tx, &parley.Message{ID: g.MessageID}, userID, "")
			if err != nil {
				return err
			}
			d.reacted = append(d.reacted, m)
			d.readers[m.ThreadID] = recipients
		}
		if len(given) < tombstonePage {
			return nil
		}
	}
}
