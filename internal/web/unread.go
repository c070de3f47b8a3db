package web

import "fmt"

// A conversation opened with messages the member has not read shows where
// they begin: a line, "3 new messages", before the first of them, which
// the script brings into sight when they do not all fit below it. The
// line stays while the page is open, though opening the page read them.
// Its seq is the last read message's and nine tenths, after any timeline
// note that followed that message, so that older messages the script loads
// (merged in seq order) go on the side of it that they belong to: the
// first unread message may be older than the page's first.

// unreadMark is where a conversation's new messages begin, as its page
// was opened: the Count messages after the one numbered After.
type unreadMark struct {
	After, Count int64
}

// Words says how many messages are new: "1 new message", "3 new messages".
func (u unreadMark) Words() string {
	if u.Count == 1 {
		return "1 new message"
	}
	return fmt.Sprintf("%d new messages", u.Count)
}
