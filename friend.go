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

// FriendStatus is the state of a friendship after a request.
type FriendStatus struct {
	User  UserRef `json:"user"`
	State string  `json:"state"`
}
