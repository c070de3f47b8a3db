package parley

import (
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
	// as PostgreSQL's lower(upper()) does, which folds letters beyond
	// ASCII where the database's LC_CTYPE knows them (C.UTF-8 or a
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
// trimmed of white space, its case folded (FoldCase). EINVALID when it is
// empty, longer than MaxSearchLen characters, or not text (IsText).
func SearchText(q string) (string, error) {
	if !IsText(q) {
		return "", Errorf(EINVALID, "q must be text: UTF-8 without NUL")
	}
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > MaxSearchLen {
		return "", Errorf(EINVALID, "q must be 1 to %d characters to look for", MaxSearchLen)
	}
	return FoldCase(q), nil
}

// FoldCase returns s as a search compares it, whatever its case: each
// character the lower case of its upper case. Lower case alone would not
// do: a letter with two lower cases, such as Greek sigma (σ, and ς at the
// end of a word, both Σ in capitals) would not match its capital, and
// "ΚΟΣΜΟΣ" would not find "κοσμος". Each character folds to one, so a
// text folded is as many characters long as it was.
func FoldCase(s string) string {
	return strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, s)
}
