package parley

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on messages.
const (
	MaxTextLen           = 16000
	MaxIdempotencyKeyLen = 255
	DefaultMessageLimit  = 50
	MaxMessageLimit      = 200
	MessageKindText      = "text"
	MessageKindShare     = "share"
	MaxShareURLLen       = 2048
	MaxShareTitleLen     = 200
	// MaxPageNotes is how many timeline notes a page of messages carries
	// at most (MessagePage.Notes), whatever its limit: a member may change
	// a group many times between two messages, and the others must not
	// read every change with every page.
	MaxPageNotes = MaxMessageLimit
)

// Message is one entry of a thread. A deleted message stays as a tombstone:
// DeletedAt set, Text empty. An edited one keeps its place and says when
// its text last changed (EditedAt).
type Message struct {
	ID        string     `json:"id"`
	ThreadID  string     `json:"thread_id"`
	Seq       int64      `json:"seq"`
	Sender    UserRef    `json:"sender"`
	Kind      string     `json:"kind"`
	Text      string     `json:"text"`
	CreatedAt time.Time  `json:"created_at"`
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
	// EditedAt is when the text was last changed, if ever; a deletion
	// clears it with the text.
	EditedAt *time.Time `json:"edited_at,omitempty"`
	// EditedByApp reports that the text is the latest edit of the app the
	// message was written through (Via). Once its sender edits it, the
	// text is their own words, which the app may not rewrite, nor read
	// without messages.read; so are edits stored before this was kept.
	EditedByApp bool `json:"-"`
	// ReplyToSeq is the seq of the earlier message of the thread this one
	// answers, if any. It stays when that message is edited or deleted.
	ReplyToSeq int64 `json:"reply_to_seq,omitempty"`
	// Reactions are the members' reactions to the message, one emoji of
	// ReactionEmoji each at most, grouped by emoji in the order each was
	// first given. A deletion clears them.
	Reactions []Reaction `json:"reactions,omitempty"`
	// Change is the number of the message's latest change, in its thread's
	// dense, growing numbering of changes (its post, an edit, a reaction
	// given or taken back, its deletion), as the changes feed numbers
	// them: of two copies of one message, from a read, an event or the
	// feed, the one with the higher Change is the newer. It numbers what
	// the message holds, not what its people are called: the display names
	// of its sender and of those who reacted are read as they are now, and
	// a rename changes no message.
	// A copy that leaves reactions out (an app's without messages.read, a
	// send retried by a member who left since) has none: 0, left out.
	Change int64 `json:"change,omitzero"`
	// ReactionChange is the number of the thread's change that last gave
	// or took back a reaction to the message (see MessageChange.Number), 0
	// if none did: the changes feed tells a reaction from an edit by it.
	ReactionChange int64 `json:"-"`
	// Via names the app the message was written through, if any.
	Via *Via `json:"via,omitempty"`
	// Share is the card of a share message; its note is the message's text.
	Share *Share `json:"share,omitempty"`

	// IdempotencyKey is the sender's key that makes a retried send return
	// this message instead of a duplicate.
	IdempotencyKey string `json:"-"`
	// RequestHash is what a keyed send through an app asked for, kept with
	// its key, which tells a retry from another send whatever became of
	// the message since; nil for a member's own send, whose retry is told
	// by the message as it is (what became of it is theirs to know: 37
	// bytes a message spared), and for a key kept before sends' requests
	// were.
	RequestHash []byte `json:"-"`
}

// Reaction is one emoji given to a message: how many gave it, and who, in
// the order they did.
type Reaction struct {
	Emoji string `json:"emoji"`
	Count int    `json:"count"`
	// Users are who gave it: every one of them, but for an app that may
	// not learn who takes part in the thread, which is told of its own
	// member alone.
	Users []UserRef `json:"users"`
}

// GivenReaction is a reaction a member gave a message, as their export
// lists it.
type GivenReaction struct {
	MessageID string    `json:"message_id"`
	ThreadID  string    `json:"thread_id"`
	Seq       int64     `json:"seq"`
	Emoji     string    `json:"emoji"`
	At        time.Time `json:"at"`
}

// ReactionEmoji are the reactions a member may give a message: a short,
// fixed choice, as every client shows the same few and a reaction carries
// nothing a member wrote.
var ReactionEmoji = []string{"👍", "❤️", "😂", "😮", "😢", "🙏"}

// ErrReactionEmoji is a reaction that is not one of ReactionEmoji.
var ErrReactionEmoji = Errorf(EINVALID, "emoji must be one of %s", strings.Join(ReactionEmoji, " "))

// ValidateReaction checks that emoji is one of ReactionEmoji, or
// returns ErrReactionEmoji.
func ValidateReaction(emoji string) error {
	if !slices.Contains(ReactionEmoji, emoji) {
		return ErrReactionEmoji
	}
	return nil
}

// ReactionBy returns the emoji the member gave the message, or "".
func (m *Message) ReactionBy(userID string) string {
	for _, r := range m.Reactions {
		for _, u := range r.Users {
			if u.ID == userID {
				return r.Emoji
			}
		}
	}
	return ""
}

// Via names the app a message was written through.
type Via struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
}

// Share is a link card an app sent for a member.
type Share struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	// Link is the tracked link to URL of the member reading the card,
	// their own: each member of the thread has a different one (see
	// ShareLink). It is empty once the card is deleted, and for an app
	// reading another app's card.
	Link string `json:"link,omitempty"`
}

// Validate checks a share card: an absolute http or https URL, without a
// user name or password before its host, and a title.
func (sh *Share) Validate() error {
	u, ok := parseWebURL(sh.URL)
	if !ok || len(sh.URL) > MaxShareURLLen {
		return Errorf(EINVALID, "URL must be an http or https URL of at most %d bytes, with any space or non-ASCII character percent-encoded, an internationalised host in its ASCII (punycode) form and a port, if any, from 1 to 65535", MaxShareURLLen)
	}
	// Its host is ASCII already (parseWebURL): what is left to read as
	// another site is a user name, and a password would be shown to the
	// friend.
	if ReadsAsAnotherSite(u) {
		return Errorf(EINVALID, "URL must not hold a user name or password before its host")
	}
	title := strings.TrimSpace(sh.Title)
	if title == "" || utf8.RuneCountInString(title) > MaxShareTitleLen || !utf8.ValidString(title) || strings.ContainsFunc(title, isControl) || hiddenIn(title, true) || !strings.ContainsFunc(title, showsInName) {
		return Errorf(EINVALID, "title must be 1 to %d printable characters", MaxShareTitleLen)
	}
	return nil
}

// NormalizeText returns a message's text, a share card's note or title,
// or a search's, as Parley stores and compares it: in Unicode's composed
// form (NFC). The same visible word comes from keyboards and pastes
// composed (é, one character) or decomposed (e and a combining accent);
// stored one way, each finds the other, and a message edited to what it
// says already is no change. A few characters, which Unicode never
// composes, make the composed form longer (U+0958 is two): s, within its
// limit of max characters as sent, is returned as it is when its composed
// form would be over it, so that what is stored holds to its limit.
func NormalizeText(s string, max int) string {
	if norm.NFC.IsNormalString(s) { // most text: read once, not copied or counted
		return s
	}
	if c := norm.NFC.String(s); utf8.RuneCountInString(c) <= max {
		return c
	}
	return s
}

// ValidateText checks a message's text: non-empty, valid UTF-8 without NUL,
// with a character that shows (not only spaces and characters that show
// nothing, such as a zero-width space, which would post a message that
// looks empty), at most MaxTextLen characters.
//
// What shows is told by what does not (showsInText), unlike a name's
// characters (showsInName): an emoji newer than Go's tables of Unicode, or a
// private-use character a device draws, is text a member sends.
func ValidateText(s string) error {
	if strings.TrimSpace(s) == "" {
		return Errorf(EINVALID, "text must not be empty")
	}
	if !utf8.ValidString(s) {
		return Errorf(EINVALID, "text must be valid UTF-8")
	}
	if !strings.ContainsFunc(s, showsInText) {
		return Errorf(EINVALID, "text must hold something that shows, not only spaces and characters that show nothing")
	}
	if hasNUL(s) {
		return Errorf(EINVALID, "text must not contain NUL")
	}
	if utf8.RuneCountInString(s) > MaxTextLen {
		return Errorf(EINVALID, "text must be at most %d characters", MaxTextLen)
	}
	return nil
}

// showsInText reports a character of a message that shows: any but a
// space, a control or format character (U+200B ZERO WIDTH SPACE, U+2060
// WORD JOINER, U+00AD SOFT HYPHEN, the joiners), a separator, a mark,
// which shows only on another character, and a letter drawn as blank
// space (drawnBlank).
func showsInText(r rune) bool {
	return !unicode.IsSpace(r) && !unicode.In(r, unicode.Cc, unicode.Cf, unicode.Z, unicode.M) && !drawnBlank(r)
}

// Errors of a send's idempotency key.
var (
	// ErrIdempotencyKeyMalformed is a key that is not 1 to
	// MaxIdempotencyKeyLen visible ASCII characters.
	ErrIdempotencyKeyMalformed = Errorf(EINVALID, "an idempotency key must be 1 to %d visible ASCII characters (0x21 to 0x7E: no spaces)", MaxIdempotencyKeyLen)
	// ErrIdempotencyKeyReused is a key the sender used for a different
	// message.
	ErrIdempotencyKeyReused = Errorf(ECONFLICT, "this idempotency key was used for a different message")
)

// ValidateIdempotencyKey checks a client's idempotency key: 1–255 visible
// ASCII characters (no spaces), or ErrIdempotencyKeyMalformed.
func ValidateIdempotencyKey(s string) error {
	if len(s) == 0 || len(s) > MaxIdempotencyKeyLen {
		return ErrIdempotencyKeyMalformed
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return ErrIdempotencyKeyMalformed
		}
	}
	return nil
}

// MessageFilter selects a page of a thread's messages. At most one of Before,
// After and Seqs is set; with none, the newest messages are returned.
type MessageFilter struct {
	ThreadID string
	Before   *int64 // seq < *Before, newest first
	After    *int64 // seq > *After, oldest first; 0 reads from the start
	// Seqs selects the messages so numbered, oldest first, up to Limit of
	// them: those a reply quotes, say.
	Seqs  []int64
	Limit int
	// MemberID, when set, returns messages only while that member takes
	// part in the thread: the check and the read cost one query.
	MemberID string
	// FromSeq, when above 0, leaves out messages before it: an app sees a
	// thread only from its grant's first message on.
	FromSeq int64
}

// ThreadFrom names a thread and the first message of it a reader may see.
type ThreadFrom struct {
	ThreadID string
	// FromSeq, when above 0, leaves out the messages before it, as in
	// MessageFilter.
	FromSeq int64
}

// MessagePage is a page of a thread's messages, oldest first.
type MessagePage struct {
	Messages []*Message `json:"messages"`
	// HasMore reports whether more messages lie beyond the page in the
	// direction it was read.
	HasMore bool `json:"has_more"`
	// Notes are, when asked for, the group's timeline notes that sit
	// among the page's messages, in the order they were made: the latest
	// MaxPageNotes of them.
	Notes []TimelineNote `json:"notes,omitempty"`
	// HasMoreNotes reports whether more notes sit among the page's
	// messages than it carries: those made before its first note are left
	// out.
	HasMoreNotes bool `json:"has_more_notes,omitempty"`
}

// ChangeFilter selects a page of a thread's changes: those after a change
// number, oldest first.
type ChangeFilter struct {
	ThreadID string
	// After is the number of the last change already seen; 0 reads from
	// the start.
	After int64
	Limit int
	// MemberID and FromSeq hold the page to what a caller may see, as in
	// MessageFilter: nothing while the member is not in the thread, and no
	// change to a message before FromSeq.
	MemberID string
	FromSeq  int64
}

// MessageChange is one change of a thread's messages, in the order the
// changes were committed: a message posted (Type EventMessageCreated),
// edited (EventMessageEdited, Message as it is now), reacted to
// (EventMessageReacted, Message as it is now) or deleted
// (EventMessageDeleted, Message a tombstone). A message holds only its
// latest change: one posted and edited since a reader last looked is one
// change, its edit, and one deleted after either, its deletion.
type MessageChange struct {
	Type    string   `json:"type"`
	Message *Message `json:"message"`
	// Number places the change in its thread's dense, growing numbering
	// of changes: its message's Change.
	Number int64 `json:"-"`
}

// ChangePage is a page of a thread's changes, oldest first.
type ChangePage struct {
	Changes []MessageChange `json:"changes"`
	// NextCursor continues after this page; given again when the page is
	// empty, so that a reader always has a place to resume from.
	NextCursor string `json:"next_cursor"`
	// HasMore reports whether more changes follow the page already.
	HasMore bool `json:"has_more"`
}
