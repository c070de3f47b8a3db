package parley

import "time"

// Friendship states.
const (
	FriendPending  = "pending"
	FriendAccepted = "accepted"
)

// Friendship links two members. A pending one was asked by Requester and
// awaits Addressee.
type Friendship struct {
	RequesterID string
	AddresseeID string
	State       string
	CreatedAt   time.Time
}

// Friend is another member as seen from one side of a friendship.
type Friend struct {
	User  UserRef   `json:"user"`
	Since time.Time `json:"since"`
}

// FriendRequests are a member's pending requests in both directions.
type FriendRequests struct {
	Incoming []Friend `json:"incoming"`
	Outgoing []Friend `json:"outgoing"`
}

// FriendStatus is the state of a friendship after a request.
type FriendStatus struct {
	User  UserRef `json:"user"`
	State string  `json:"state"`
}
