package parley

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Why a member reports a message to the operators, as Flag.Reason says.
const (
	// FlagSpam is advertising, scams, or the same thing sent again and
	// again.
	FlagSpam = "spam"
	// FlagAbuse is harassment, threats or hate.
	FlagAbuse = "abuse"
	// FlagOther is anything else the operators should see; the note says
	// what.
	FlagOther = "other"
)

// FlagReasons are the reasons a flag may give, in the order pages offer
// them.
var FlagReasons = []string{FlagSpam, FlagAbuse, FlagOther}

// MaxFlagNoteLen is the most characters a flag's note may hold.
const MaxFlagNoteLen = 500

// How an operator closes a flag, as Flag.Resolution says.
const (
	// FlagDismissed: the operator left the message as it is.
	FlagDismissed = "dismissed"
	// FlagMessageDeleted: the message is deleted for everyone: an
	// operator deleted it, or found it deleted by its sender.
	FlagMessageDeleted = "message_deleted"
)

// Flag is a member's report of a message of a thread they are in to the
// server's operators: why (Reason, Note) and, for the operators, what the
// message said when it was reported (Evidence), kept until an operator
// resolves the flag even if the message is edited or deleted meanwhile,
// so that taking back what one wrote does not hide it from them. The
// message's sender is never told who reported it.
type Flag struct {
	ID        string    `json:"id"`
	MessageID string    `json:"message_id"`
	ThreadID  string    `json:"thread_id"`
	Seq       int64     `json:"seq"`
	Reason    string    `json:"reason"`
	Note      string    `json:"note"`
	At        time.Time `json:"at"`
	// Resolution is how an operator closed the flag, one of FlagDismissed
	// and FlagMessageDeleted; empty while it waits for them.
	Resolution string     `json:"resolution,omitempty"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`

	// Evidence is what operators review; the member who flagged the
	// message is given the flag without it.
	Evidence *FlagEvidence `json:"-"`
}

// FlagEvidence is what operators read of a flag: who reported whom, and
// the message as it was then.
type FlagEvidence struct {
	Reporter UserRef
	Sender   UserRef
	// Kind, Text, ShareURL and ShareTitle are the message's when it was
	// flagged (a share card's text is its note); they are erased once the
	// flag is resolved.
	Kind       string
	Text       string
	ShareURL   string
	ShareTitle string
	// Via names the app the message was written through, if any: an
	// operator may suspend it.
	Via    *Via
	SentAt time.Time
	// DeletedAt is when the message was deleted, if it was since.
	DeletedAt *time.Time
}

// Validate checks a new flag's reason and note.
func (f *Flag) Validate() error {
	if !slices.Contains(FlagReasons, f.Reason) {
		return Errorf(EINVALID, "reason must be one of %s", strings.Join(FlagReasons, ", "))
	}
	if !IsText(f.Note) || utf8.RuneCountInString(f.Note) > MaxFlagNoteLen {
		return Errorf(EINVALID, "note must be valid UTF-8 of at most %d characters, without NUL", MaxFlagNoteLen)
	}
	return nil
}
