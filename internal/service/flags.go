package service

import (
	"context"
	"strings"

	"github.com/parleyhq/parley"
)

// Flags: a member reports another's message to the server's operators
// (FlagMessage), who read what was reported and either leave the message
// as it is (DismissFlags) or delete it for everyone
// (DeleteFlaggedMessage). Operators read only what members reported: no
// call lets them browse a thread. A flag keeps the message as it was when
// reported until an operator resolves it, so that deleting or editing it
// after does not hide it from them, also when its sender's account is
// deleted meanwhile; resolving erases that copy. An operator decides on
// the flags they read: each decision names the newest of them, and a flag
// made since stays open for them to read. The sender is never told who
// reported them: no event or call says a message was reported, though an
// operator's deletion shows, as any deletion does. The member who reported
// it finds the resolution in their flag (FindFlag) and their export. An
// account's deletion deletes the flags its member made.

// MaxOpenFlags is how many open flags, the oldest first, operators review
// at a time.
const MaxOpenFlags = 200

// FlagMessage reports a message of a thread the caller is in to the
// operators, with why (f's Reason and Note), and returns the flag; created
// is false when the caller's earlier flag of it is still open, and the
// flag returned is that one, the new reason and note left out. A flag of
// theirs an operator resolved is replaced by the new one, open again. Apps cannot
// make this call. A member does not flag their own messages (EFORBIDDEN),
// which they may delete, nor a deleted one (ECONFLICT), which says nothing
// any more; a message of a thread the caller is not in is ENOTFOUND.
func (s *Service) FlagMessage(ctx context.Context, messageID string, f parley.Flag) (flag *parley.Flag, created bool, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, false, err
	}
	f.Note = strings.TrimSpace(f.Note)
	if err := f.Validate(); err != nil {
		return nil, false, err
	}
	err = s.store.Write(ctx, func(tx parley.Tx) error {
		flag, created = nil, false
		m, err := tx.FindMessageByID(ctx, messageID)
		if err != nil {
			return err
		}
		if _, _, err := heldThread(ctx, tx, m.ThreadID, c.User.ID); err != nil {
			return parley.Errorf(parley.ENOTFOUND, "message not found")
		}
		switch flag, err = tx.FindFlag(ctx, c.User.ID, m.ID); {
		case err == nil && flag.Resolution == "":
			return nil
		case err != nil && !isNotFound(err):
			return err
		}
		switch {
		case m.Sender.ID == c.User.ID:
			return parley.Errorf(parley.EFORBIDDEN, "a member cannot report their own message: delete it instead")
		case m.DeletedAt != nil:
			return parley.Errorf(parley.ECONFLICT, "this message was deleted")
		}
		flag = &parley.Flag{
			ID: parley.NewID(), MessageID: m.ID, ThreadID: m.ThreadID, Seq: m.Seq, Reason: f.Reason, Note: f.Note, At: s.Now(),
			Evidence: &parley.FlagEvidence{Kind: m.Kind, Text: m.Text},
		}
		if m.Share != nil {
			flag.Evidence.ShareURL, flag.Evidence.ShareTitle = m.Share.URL, m.Share.Title
		}
		if created, err = tx.CreateFlag(ctx, flag, c.User.ID); err != nil || created {
			return err
		}
		// Flagged meanwhile by the same member in another request, or
		// deleted meanwhile by its sender or an operator.
		flag, err = tx.FindFlag(ctx, c.User.ID, m.ID)
		if isNotFound(err) {
			return parley.Errorf(parley.ECONFLICT, "this message was deleted")
		}
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if created {
		s.log.InfoContext(ctx, "message flagged", "flag", flag.ID, "reason", flag.Reason)
	}
	flag.Evidence = nil
	return flag, created, nil
}

// FindFlag returns the caller's flag of a message, with how it was
// resolved, also once they left its thread (as their export lists it);
// ENOTFOUND when they made none. Apps cannot make this call.
func (s *Service) FindFlag(ctx context.Context, messageID string) (flag *parley.Flag, err error) {
	c, err := caller(ctx, memberOnly)
	if err != nil {
		return nil, err
	}
	err = s.store.Read(ctx, func(tx parley.Tx) error {
		flag, err = tx.FindFlag(ctx, c.User.ID, messageID)
		return err
	})
	return flag, err
}

// FlaggedMessage is a message with open flags, as operators review it:
// each flag with its evidence, the oldest first.
type FlaggedMessage struct {
	MessageID, ThreadID string
	Flags               []*parley.Flag
}

// Newest returns the message's newest flag, which a decision about the
// flags read names.
func (m FlaggedMessage) Newest() *parley.Flag { return m.Flags[len(m.Flags)-1] }

// OpenFlags returns the messages with flags no operator has resolved, by
// their oldest flag, up to MaxOpenFlags flags in all; it is for operators.
func (s *Service) OpenFlags(ctx context.Context) ([]FlaggedMessage, error) {
	if _, err := operator(ctx); err != nil {
		return nil, err
	}
	var flags []*parley.Flag
	err := s.store.Read(ctx, func(tx parley.Tx) (err error) {
		flags, err = tx.FindOpenFlags(ctx, MaxOpenFlags)
		return err
	})
	if err != nil {
		return nil, err
	}
	var messages []FlaggedMessage
	at := map[string]int{}
	for _, f := range flags {
		i, ok := at[f.MessageID]
		if !ok {
			i = len(messages)
			at[f.MessageID] = i
			messages = append(messages, FlaggedMessage{MessageID: f.MessageID, ThreadID: f.ThreadID})
		}
		messages[i].Flags = append(messages[i].Flags, f)
	}
	return messages, nil
}

// DismissFlags resolves the open flags of a message made up to the flag
// throughID, the newest the operator read, as dismissed: the message stays
// as it is. It is for operators; ENOTFOUND when throughID is not an open
// flag of the message.
func (s *Service) DismissFlags(ctx context.Context, messageID, throughID string) error {
	return s.resolveFlags(ctx, messageID, throughID, parley.FlagDismissed, parley.ActionFlagsDismiss, nil)
}

// DeleteFlaggedMessage deletes a message with open flags for everyone, as
// its sender would (apps whose grants reached it are told, and everyone
// in the thread), and resolves its flags made up to the flag throughID,
// the newest the operator read, as parley.FlagMessageDeleted. It is for
// operators, who delete only what a member reported: ENOTFOUND when
// throughID is not an open flag of the message.
func (s *Service) DeleteFlaggedMessage(ctx context.Context, messageID, throughID string) error {
	var deleted *deletedMessage
	err := s.resolveFlags(ctx, messageID, throughID, parley.FlagMessageDeleted, parley.ActionFlaggedMessageDelete, func(tx parley.Tx, m *parley.Message) (err error) {
		deleted = nil
		if m.DeletedAt != nil {
			return nil
		}
		// Deleted by its sender since it was read, it is not found, and
		// the store runs the write again, which finds it deleted.
		deleted, err = s.deleteForEveryone(ctx, tx, m)
		return err
	})
	if err != nil {
		return err
	}
	s.tellDeleted(ctx, deleted)
	return nil
}

// resolveFlags resolves the open flags of a message up to the flag
// throughID as resolution, after act, when set, has done to the message
// what the resolution says, and records it as the operator's decision
// action about the message and its sender.
func (s *Service) resolveFlags(ctx context.Context, messageID, throughID, resolution, action string, act func(parley.Tx, *parley.Message) error) error {
	actor, err := operator(ctx)
	if err != nil {
		return err
	}
	return s.decide(ctx, func(tx parley.Tx, record recorder) error {
		m, err := tx.FindMessageByID(ctx, messageID)
		if err != nil {
			return err
		}
		n, err := tx.ResolveFlags(ctx, m.ID, throughID, resolution, s.Now())
		switch {
		case err != nil:
			return err
		case n == 0:
			return parley.Errorf(parley.ENOTFOUND, "no member's report of this message, up to the one named, waits for an operator")
		}
		if act != nil {
			if err := act(tx, m); err != nil {
				return err
			}
		}
		return record(actor, action, m.ID, m.Sender.Username)
	})
}
