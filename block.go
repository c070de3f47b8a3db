package parley

import "time"

// BlockedMember is a member another blocked, as the one who blocked them
// sees it. While either of two members blocks the other, they are no
// friends, neither may ask the other to be, and their direct thread, if
// they have one, takes no message from either (Thread.Blocked); both still
// read it and may delete what they sent.
type BlockedMember struct {
	User  UserRef   `json:"user"`
	Since time.Time `json:"since"`
}

// BlockPage is a page of the members a member blocks, newest block first
// (the latest Since, then the greatest ID), with NextCursor to read the
// older ones, empty on the last page.
type BlockPage struct {
	Blocked    []BlockedMember `json:"blocked"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

// BlockFilter selects a page of the members BlockerID blocks, newest block
// first.
type BlockFilter struct {
	BlockerID string
	// Before, when set, keeps only the blocks strictly after this place,
	// older ones.
	Before *MemberCursor
	Limit  int
}
