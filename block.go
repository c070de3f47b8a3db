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
