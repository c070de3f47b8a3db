package service

import (
	"context"

	"github.com/parleyhq/parley"
)

// React gives a message of a thread the caller is in their reaction,
// emoji, one of parley.ReactionEmoji, in place of any they gave it before,
// and returns the message as it now is. Everyone in the thread is told
// (EventMessageReacted), and apps whose grants reach the message read it
// with its reactions (hideReactions); no webhook tells of it. The reaction
// the caller has already changes nothing and tells no one.
//
// A reaction is a member's alone: what a member felt on reading a message
// is not an app's to say, so no app may give or take back one. A deleted
// message takes none (ECONFLICT), nor does a conversation that takes no
// message (a block), where a reaction is still taken back
// (TakeBackReaction) as a message is still deleted.
func (s *Service) React(ctx context.Context, messageID, emoji string) (*parley.Message, error) {
	if err := parley.ValidateReaction(emoji); err != nil {
		return nil, err
	}
	return s.changeReaction(ctx, messageID, emoji, func(current string) bool { return current != emoji })
}

// TakeBackReaction takes back the caller's reaction to a message, as React
// gives it, when it is emoji, or whatever it is for "", and returns the
// message as it now is. A page that showed the caller's 👍 takes back
// nothing once they changed it to ❤️ elsewhere. When they gave none, or
// another, nothing changes and no one is told. A member takes back their
// reaction also in a group they left or were taken out of, as they delete
// their messages there; they are answered with the message without its
// reactions, and without its change: who reacted since is no longer
// theirs to read.
func (s *Service) TakeBackReaction(ctx context.Context, messageID, emoji string) (*parley.Message, error) {
	return s.changeReaction(ctx, messageID, "", func(current string) bool { return current != "" && (emoji == "" || current == emoji) })
}

// changeReaction sets the caller's reaction to a message to emoji ("" to
// take it back) when changes says so of the one they gave it ("" for
// none), as React and TakeBackReaction say.
func (s *Service) changeReaction(ctx context.Context, messageID, emoji string, changes func(current string) bool) (*parley.Message, error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	var msg *parley.Message
	var recipients []string
	var gone bool
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		msg, recipients = nil, nil
		m, err := tx.FindMessageByID(ctx, messageID)
		if err != nil {
			return err
		}
		// Their place held, a reaction commits before the member's leaving
		// or removal, or finds them gone: then they may only take back one
		// they gave while in the thread.
		th, _, err := heldThread(ctx, tx, m.ThreadID, c.User.ID)
		gone = isNotFound(err)
		switch {
		case err != nil && !gone:
			return err
		case gone && (emoji != "" || m.ReactionBy(c.User.ID) == ""):
			return parley.Errorf(parley.ENOTFOUND, "message not found")
		}
		msg = m
		switch {
		case !changes(m.ReactionBy(c.User.ID)):
			return nil
		case m.DeletedAt != nil:
			return errReactionToDeleted
		case !gone && th.Blocked && emoji != "":
			return errBlockedThread
		}
		// Deleted since it was read, the message is not found, and the
		// store runs the write again, which finds it deleted.
		msg, recipients, err = s.setReaction(ctx, tx, m.ID, c.User.ID, emoji)
		return err
	})
	if err != nil {
		return nil, err
	}
	if recipients != nil {
		s.publishMessage(ctx, parley.EventMessageReacted, recipients, msg)
	}
	// As the member reads it: the event's is each reader's own.
	out := *msg
	if gone {
		out.Reactions, out.Change = nil, 0
	}
	return &out, s.forCaller(ctx, c, &out)
}

// hideReactions takes out of the messages what an app's grant does not
// let it read of their reactions. Without messages.read, all of them: an
// app that only writes gets back what it wrote (edited, or sent again),
// not what members felt about it. Without participants.read, who gave
// them: each reaction keeps its emoji and count, and names the app's own
// member alone, if they gave it; it would otherwise name members who never
// wrote in the thread. (Who wrote a message is messages.read's to read.)
// The messages get reactions of their own: a copy of a message, sharing
// its reactions, keeps them whole. Without messages.read the app's copy
// has no change either (parley.Message.Change), which reactions move: it
// would tell the app that someone reacted; such an app has no events nor
// reads to order copies by.
func hideReactions(c *parley.Caller, msgs ...*parley.Message) {
	if !hidesReactions(c) {
		return
	}
	readsReactions := c.App.Scopes.Has(parley.ScopeMessagesRead)
	for _, m := range msgs {
		switch {
		case m == nil:
			continue
		case !readsReactions:
			m.Reactions, m.Change = nil, 0
			continue
		case len(m.Reactions) == 0:
			continue
		}
		hidden := make([]parley.Reaction, len(m.Reactions))
		for i, r := range m.Reactions {
			hidden[i] = parley.Reaction{Emoji: r.Emoji, Count: r.Count, Users: []parley.UserRef{}}
			for _, u := range r.Users {
				if u.ID == c.User.ID {
					hidden[i].Users = append(hidden[i].Users, u)
				}
			}
		}
		m.Reactions = hidden
	}
}

// hidesReactions reports whether c is an app that may not read all of the
// messages' reactions (hideReactions).
func hidesReactions(c *parley.Caller) bool {
	return c.App != nil && !(c.App.Scopes.Has(parley.ScopeMessagesRead) && c.App.Scopes.Has(parley.ScopeParticipantsRead))
}

// errReactionToDeleted refuses a reaction to a deleted message.
var errReactionToDeleted = parley.Errorf(parley.ECONFLICT, "this message was deleted")

// setReaction gives a message the member's reaction emoji, or takes
// theirs back for "", and returns the message as it now is, with who is in
// its thread to be told once the write commits.
func (s *Service) setReaction(ctx context.Context, tx parley.Tx, messageID, userID, emoji string) (*parley.Message, []string, error) {
	if err := tx.SetReaction(ctx, messageID, userID, emoji, s.Now()); err != nil {
		return nil, nil, err
	}
	m, err := tx.FindMessageByID(ctx, messageID)
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
			m, recipients, err := s.setReaction(ctx, tx, g.MessageID, userID, "")
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
