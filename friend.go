package parley

import "time"

// Friendship states. A declined request is listed to no one; it keeps
// its requester from asking again for DeclinedRequestWait.
const (
	FriendPending  = "pending"
	FriendAccepted = "accepted"
	FriendDeclined = "declined"
)

// DeclinedRequestWait is how long a member whose friend request was
// declined waits before asking the same member again.
const DeclinedRequestWait = 30 * 24 * time.Hour

// MaxSentFriendRequests is how many of their own friend requests a member
// may have pending, unanswered, at once: enough to find one's friends,
// too few to ask every member of a server. Accepting another's request is
// never refused for it.
const MaxSentFriendRequests = 100

// A page of the friend requests a member received holds
// DefaultFriendRequestLimit of them unless asked for another number, from
// 1 to MaxFriendRequestLimit. Others choose how many a member receives, so
// they are read a page at a time, never all at once, and never capped:
// a cap would let strangers fill it and keep out the requests of friends.
const (
	DefaultFriendRequestLimit = 50
	MaxFriendRequestLimit     = 200
)

// A page of a member's friends, or of the members they block, holds
// DefaultFriendLimit of them unless asked for another number, from 1 to
// MaxFriendLimit: both lists are read a page at a time, newest first,
// however long they grow.
const (
	DefaultFriendLimit = 50
	MaxFriendLimit     = 200
)

// Friendship links two members. A pending one was asked by Requester and
// awaits Addressee; a declined one was declined by Addressee.
type Friendship struct {
	RequesterID string
	AddresseeID string
	State       string
	// CreatedAt is when Requester asked or, once declined, when Addressee
	// declined.
	CreatedAt time.Time
}

// Friend is another member as seen from one side of a friendship.
type Friend struct {
	User  UserRef   `json:"user"`
	Since time.Time `json:"since"`
}

// FriendRequests are a member's requests in both directions, pending
// ones or, from FindDeclinedFriendRequests, declined ones.
type FriendRequests struct {
	Incoming []Friend `json:"incoming"`
	Outgoing []Friend `json:"outgoing"`
}

// FriendRequestPage is a page of a member's pending friend requests:
// Incoming, some of those they received, newest first, with NextCursor to
// read the older ones, empty on the last page; Outgoing, every one they
// sent (at most MaxSentFriendRequests), ordered by username, the same on
// every page.
type FriendRequestPage struct {
	Incoming   []Friend `json:"incoming"`
	Outgoing   []Friend `json:"outgoing"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// FriendRequestFilter selects a page of the pending requests a member
// received, newest first.
type FriendRequestFilter struct {
	AddresseeID string
	// Before, when set, keeps only the requests strictly after this
	// place, older ones.
	Before *MemberCursor
	Limit  int
}

// FriendPage is a page of a member's friends, newest first (the latest
// Since, then the greatest ID), with NextCursor to read the older ones,
// empty on the last page.
type FriendPage struct {
	Friends    []Friend `json:"friends"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// MemberCursor is a member's place in a list of members newest first, a
// member's friends, the members they block or those who asked them to be
// friends: Since, then the member's ID.
type MemberCursor struct {
	Since  time.Time
	UserID string
}

// FriendFilter selects a page of a member's friends, newest first.
type FriendFilter struct {
	UserID string
	// Before, when set, keeps only the friends strictly after this place,
	// older ones.
	Before *MemberCursor
	Limit  int
}

// FriendStatus is the state of a friendship after a request.
type FriendStatus struct {
	User  UserRef `json:"user"`
	State string  `json:"state"`
}
