package parley

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on account fields.
const (
	MinUsernameLen    = 3
	MaxUsernameLen    = 32
	MinPasswordLen    = 8
	MaxPasswordLen    = 1024
	MaxDisplayNameLen = 64
)

// User is a member. The password hash never travels in this type.
type User struct {
	ID          string    `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	// Operator marks an operator account: it may review apps on the
	// operator pages. The API does not show it.
	Operator bool `json:"-"`
	// Disabled marks an account an operator disabled: it cannot sign in.
	// The API does not show it.
	Disabled bool `json:"-"`
	// Deleted marks an account its member or an operator deleted: it
	// keeps its ID and username (which no one else may take), and
	// DeletedDisplayName for a display name. The API does not show it.
	Deleted bool `json:"-"`
}

// DeletedDisplayName is the display name of a deleted account, as other
// members see it beside the tombstones of its messages.
const DeletedDisplayName = "Deleted account"

// UserRef is how a member appears inside other objects. A deleted
// account's has no username (and DeletedDisplayName): the account keeps
// it, reserved, but no one is shown it.
type UserRef struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// Ref returns the short form of u, as others see u: without a username
// when the account is deleted.
func (u *User) Ref() UserRef {
	if u.Deleted {
		return UserRef{ID: u.ID, DisplayName: u.DisplayName}
	}
	return UserRef{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName}
}

// NormalizeUsername trims a username and lowercases its ASCII letters:
// usernames are unique regardless of case. Other characters stay as they
// are, for ValidateUsername to refuse: Unicode's lowercase of U+212A
// KELVIN SIGN is "k", and "\u212Aarl" is no way of writing karl.
func NormalizeUsername(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, strings.TrimSpace(s))
}

// ValidateUsername checks a normalized username: 3–32 characters of a-z, 0-9, '_' and '.'.
func ValidateUsername(s string) error {
	if len(s) < MinUsernameLen || len(s) > MaxUsernameLen {
		return Errorf(EINVALID, "username must be %d to %d characters", MinUsernameLen, MaxUsernameLen)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return Errorf(EINVALID, "username may contain only a-z, 0-9, '_' and '.'")
		}
	}
	return nil
}

// reservedUsernames are names a member who signs up may not take: the
// server's own, and those of the roles people trust to speak for it.
var reservedUsernames = []string{
	"parley", "admin", "administrator", "root", "system", "operator", "moderator", "staff", "official",
	"security", "support", "help", "abuse", "postmaster", "hostmaster", "webmaster", "noreply", "no_reply",
}

// ReservedUsername reports whether the normalized username s is kept from
// sign-up, so that no stranger writes to members as "parley" or "admin":
// an operator may still give one to an account (`parley user add`).
func ReservedUsername(s string) bool { return slices.Contains(reservedUsernames, s) }

// ValidatePassword checks a new password: its length, and that it is
// text (IsText).
func ValidatePassword(s string) error {
	if n := utf8.RuneCountInString(s); n < MinPasswordLen || n > MaxPasswordLen {
		return Errorf(EINVALID, "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	// A password the sign-in form of a page cannot carry would lock its
	// member out of every page, consent included.
	if !IsText(s) {
		return Errorf(EINVALID, "password must not hold a NUL byte")
	}
	return nil
}

// joinersOut takes out the joiners, the characters that show nothing a
// display name may hold, for emoji sequences and scripts that need them.
var joinersOut = strings.NewReplacer("\u200c", "", "\u200d", "")

// ReaderDisplayName is the name the pages write for the reader
// themselves, beside their own messages and acts: "You: …" in the inbox,
// in a reply's quote and in a thread's apps.
const ReaderDisplayName = "You"

// ValidateDisplayName checks a display name; an empty one is allowed and
// means the username is shown. A name must show: it holds no character
// that shows nothing (hiddenInName), and, when not empty, one that shows
// something (showsInName), so that no name looks empty, nor exactly like
// another member's with a character no one sees added ("bob" and
// "bob\u200b"); nor is it DeletedDisplayName or ReaderDisplayName, in
// any case or spacing, with joiners or without, in fullwidth or other
// compatibility forms of its letters (NFKC), so that no member passes for
// a deleted account, nor their messages for the reader's own. (Letters of
// other scripts drawn alike, a Cyrillic "а" for a Latin "a", are not told
// apart.)
func ValidateDisplayName(s string) error {
	switch {
	case !utf8.ValidString(s):
		return Errorf(EINVALID, "display_name must be UTF-8 text")
	case utf8.RuneCountInString(s) > MaxDisplayNameLen:
		return Errorf(EINVALID, "display_name must be at most %d characters", MaxDisplayNameLen)
	case strings.ContainsFunc(s, isControl):
		return Errorf(EINVALID, "display_name must not contain control characters or controls of the direction of text")
	case hiddenIn(s, true):
		return Errorf(EINVALID, "display_name must not contain characters that show nothing, such as a zero-width space")
	case s != "" && !strings.ContainsFunc(s, showsInName):
		return Errorf(EINVALID, "display_name must hold a letter, digit, symbol or punctuation mark that shows")
	case namedAs(s, DeletedDisplayName):
		return Errorf(EINVALID, "display_name must not be %q, which marks deleted accounts", DeletedDisplayName)
	case namedAs(s, ReaderDisplayName):
		return Errorf(EINVALID, "display_name must not be %q, which Parley's pages write for the reader's own messages", ReaderDisplayName)
	}
	return nil
}

// namedAs reports whether the display name s reads as name: the same in
// any case or spacing, with joiners or without, in any compatibility form
// of its letters (NFKC).
func namedAs(s, name string) bool {
	return strings.EqualFold(strings.Join(strings.Fields(norm.NFKC.String(joinersOut.Replace(s))), " "), name)
}

// hiddenIn reports whether the name s holds a character that shows nothing,
// or nothing a reader can tell apart, which would let a name look empty, or
// exactly like another ("bob" and "bob\u200b", "Parley" and
// "Par\u034fley"): one that is not graphic (Unicode's format characters,
// U+200B ZERO WIDTH SPACE, U+2060 WORD JOINER, U+FEFF, U+00AD SOFT HYPHEN,
// tags, and the separators of lines and paragraphs), one drawn as blank
// space or not at all (drawnBlank), or a variation selector but after a
// symbol (❤️ takes one; a letter, none). With joiners, the zero-width
// joiner and non-joiner pass, which emoji sequences (👩‍💻) and some scripts
// need: a display name stands beside its @handle, where an app's name
// stands alone on the consent page.
func hiddenIn(s string, joiners bool) bool {
	prev := rune(0)
	for _, r := range s {
		switch {
		case joiners && (r == '\u200c' || r == '\u200d'):
		case !unicode.IsGraphic(r), drawnBlank(r):
			return true
		case unicode.Is(unicode.Variation_Selector, r) && !unicode.Is(unicode.S, prev):
			return true
		}
		prev = r
	}
	return false
}

// drawnBlank reports a character Unicode counts as graphic that is drawn
// as blank space, or not at all: those it marks as ignorable
// (Other_Default_Ignorable_Code_Point: U+034F COMBINING GRAPHEME JOINER,
// the Hangul fillers, the Khmer inherent vowels U+17B4 and U+17B5, and
// others kept for the future), the blank Braille pattern and U+1D159
// MUSICAL SYMBOL NULL NOTEHEAD.
func drawnBlank(r rune) bool {
	return r == '\u2800' || r == '\U0001d159' || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r)
}

// showsInName reports a character that shows: a letter, digit, symbol or
// punctuation mark, but one drawn as blank space.
func showsInName(r rune) bool {
	return !drawnBlank(r) && unicode.In(r, unicode.L, unicode.N, unicode.S, unicode.P)
}

// isControl reports a control character (C0, DEL or C1), NUL among them,
// or a control of the direction of text (U+202E RIGHT-TO-LEFT OVERRIDE,
// the isolates, the marks): names and titles, printable, hold none. Pages
// and clients write a name beside text of their own (a display name
// before its @handle, an app's name in a sentence of the access log),
// where an override in the name would reverse what follows it: "Mallory"
// behind U+202E turns the "@mallory" after it into "yrollam@". Text
// written right to left needs none of them to show as it should.
func isControl(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }

// IsText reports whether s is text that every store keeps, and finds, as
// given: valid UTF-8 without a NUL byte. PostgreSQL refuses anything else,
// even as the key of a lookup, where SQLite would keep it or find nothing;
// so such a string is refused wherever it comes in, as an ID in a path or
// a query too, never passed on to the store.
func IsText(s string) bool { return utf8.ValidString(s) && !hasNUL(s) }

// hasNUL reports whether s holds a NUL byte, which no text Parley keeps may:
// it ends strings in C, and so in many of the programs a text reaches.
func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

// ExpiredSessionKept is how long Parley keeps a session after it expired,
// for operators to see among a member's sessions; then it is deleted.
const ExpiredSessionKept = 30 * 24 * time.Hour

// MaxSessions is how many sessions a member keeps live at once: signing
// in once more ends the oldest. People sign in on a few devices and
// browsers, and a session lasts a month; without a bound, a script
// signing in again and again (within the sign-in throttle, from many
// addresses) would leave the member any number of sessions, each read
// by their data export and by an operator's change to their account.
const MaxSessions = 100

// DefaultSessionTTL is how long a sign-in lasts unless the operator sets
// another length.
const DefaultSessionTTL = 30 * 24 * time.Hour

// Session is a member's sign-in on a first-party client. Only the hash of its
// token is stored.
type Session struct {
	TokenHash []byte
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}
