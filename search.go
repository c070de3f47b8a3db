package parley

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on searches.
const (
	// MaxSearchLen is the longest text a search looks for, in characters.
	MaxSearchLen       = 100
	DefaultSearchLimit = 20
	MaxSearchLimit     = 50
)

// SearchFilter selects, newest first, the messages a member may read that
// hold a text: those of the threads they are in, not deleted, whose text
// or share card's title holds it, whatever the case of either.
type SearchFilter struct {
	MemberID string
	// Text is what a message holds, its case folded (SearchText): the
	// store compares it with each message folded as FoldCase folds it, or
	// as PostgreSQL's lower() and a translation do, which fold letters
	// beyond ASCII where the database's LC_CTYPE knows them (C.UTF-8 or a
	// language's locale does; "C" does not).
	Text string
	// Before, when set, keeps the messages sent before it.
	Before *SearchCursor
	Limit  int
}

// SearchCursor is a message's place among a search's results: when it was
// sent, then its ID.
type SearchCursor struct {
	CreatedAt time.Time
	ID        string
}

// SearchPage is a page of a search's results, newest first. Each message
// names its thread.
type SearchPage struct {
	Messages []*Message `json:"messages"`
	// NextCursor, when set, continues the search with older messages.
	NextCursor string `json:"next_cursor,omitempty"`
}

// SearchText returns the text a search looks for as stores compare it:
// trimmed of white space, composed as messages are stored (NormalizeText),
// its case folded (FoldCase). EINVALID when it is
// empty, longer than MaxSearchLen characters, or not text (IsText).
func SearchText(q string) (string, error) {
	if !IsText(q) {
		return "", Errorf(EINVALID, "q must be text: UTF-8 without NUL")
	}
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > MaxSearchLen {
		return "", Errorf(EINVALID, "q must be 1 to %d characters to look for", MaxSearchLen)
	}
	return FoldCase(NormalizeText(q, MaxSearchLen)), nil
}

// FoldCase returns s as a search compares it, whatever its case: each
// character in lower case, and a letter with a second lower case as its
// first (OtherLowerCases). Lower case alone would not do: Greek sigma is σ,
// and ς at the end of a word, both Σ in capitals, so "ΚΟΣΜΟΣ" would not
// find "κοσμος". It is each character's lower case of its upper case,
// spelled so that a database's lower() and translate() give it too, where
// upper() may not: under ICU it makes "SS" of "ß". Each character folds to
// one, so a text folded is as many characters long as it was.
func FoldCase(s string) string {
	return strings.Map(func(r rune) rune {
		r = unicode.ToLower(r)
		if r >= otherLowerCases[0] {
			if i := slices.Index(otherLowerCases, r); i >= 0 {
				return firstLowerCases[i]
			}
		}
		return r
	}, s)
}

// OtherLowerCases are the letters whose lower case of their upper case is
// another letter, the one at the same place in FirstLowerCases: the micro
// sign, dotless i, long s, Greek's second forms (final sigma among them),
// old Cyrillic forms, and two more.
const (
	OtherLowerCases = "\u00B5\u0131\u017F\u0345\u03C2\u03D0\u03D1\u03D5\u03D6\u03F0\u03F1\u03F5\u1C80\u1C81\u1C82\u1C83\u1C84\u1C85\u1C86\u1C87\u1C88\u1E9B\u1FBE"
	FirstLowerCases = "\u03BC\u0069\u0073\u03B9\u03C3\u03B2\u03B8\u03C6\u03C0\u03BA\u03C1\u03B5\u0432\u0434\u043E\u0441\u0442\u0442\u044A\u0463\uA64B\u1E61\u03B9"
)

var otherLowerCases, firstLowerCases = []rune(OtherLowerCases), []rune(FirstLowerCases)
