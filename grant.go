package parley

import (
	"slices"
	"strings"
	"time"
)

// Scopes an app may ask for. Each names one kind of action; see Scopes.
const (
	ScopeOpenID           = "openid"
	ScopeProfile          = "profile"
	ScopeFriendsRead      = "friends.read"
	ScopeThreadsRead      = "threads.read"
	ScopeParticipantsRead = "participants.read"
	ScopeMessagesRead     = "messages.read"
	ScopeMessagesWrite    = "messages.write"
	ScopeMessagesDelete   = "messages.delete"
	ScopeSharesWrite      = "shares.write"
)

// Scope is one permission, with the words the consent page shows for it.
type Scope struct {
	Name        string
	Description string
}

// Scopes lists every scope in the order the consent page shows them.
var Scopes = []Scope{
	{ScopeOpenID, "Know that it is you who signed in"},
	{ScopeProfile, "See your username and display name"},
	{ScopeFriendsRead, "See the list of your friends"},
	{ScopeThreadsRead, "See your conversations: their titles and when they were last active"},
	{ScopeParticipantsRead, "See who is in your conversations"},
	{ScopeMessagesRead, "Read the messages in your conversations"},
	{ScopeMessagesWrite, "Send messages as you"},
	{ScopeMessagesDelete, "Delete messages you sent, for everyone"},
	{ScopeSharesWrite, "Send links to your friends as share cards"},
}

// IsScope reports whether s names a scope.
func IsScope(s string) bool {
	return slices.ContainsFunc(Scopes, func(sc Scope) bool { return sc.Name == s })
}

// Thread scopes: which conversations a grant's scopes reach.
const (
	// ThreadScopeApp reaches the threads the app started, and threads where
	// it posted from its first post on.
	ThreadScopeApp = "app"
	// ThreadScopeSelected reaches the threads the member picked.
	ThreadScopeSelected = "selected"
	// ThreadScopeAll reaches every thread; only apps an operator approved
	// for it may be granted it.
	ThreadScopeAll = "all"
)

// Grant is one member's consent to one app: what it may do, where, until when.
type Grant struct {
	ID          string     `json:"id"`
	UserID      string     `json:"user_id"`
	ClientID    string     `json:"client_id"`
	Scopes      []string   `json:"scopes"`
	ThreadScope string     `json:"thread_scope"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Has reports whether the grant includes scope.
func (g *Grant) Has(scope string) bool { return slices.Contains(g.Scopes, scope) }

// Active reports whether the grant is in force at t.
func (g *Grant) Active(t time.Time) bool {
	return g.RevokedAt == nil && (g.ExpiresAt == nil || t.Before(*g.ExpiresAt))
}

// JoinScopes writes scopes the way OAuth does: space-separated.
func JoinScopes(scopes []string) string { return strings.Join(scopes, " ") }

// SplitScopes reads a space-separated scope string.
func SplitScopes(s string) []string { return strings.Fields(s) }
