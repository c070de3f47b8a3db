package parley

import (
	"slices"
	"strings"
	"time"
)

// Scope is one thing a member may let an app do. Scopes are the OAuth 2.0
// scope tokens (RFC 6749 section 3.3) apps ask for.
type Scope string

// Scopes. openid and profile come from OpenID Connect; the rest are Parley's.
const (
	ScopeOpenID           Scope = "openid"
	ScopeProfile          Scope = "profile"
	ScopeFriendsRead      Scope = "friends.read"
	ScopeThreadsRead      Scope = "threads.read"
	ScopeParticipantsRead Scope = "participants.read"
	ScopeMessagesRead     Scope = "messages.read"
	ScopeMessagesWrite    Scope = "messages.write"
	ScopeMessagesDelete   Scope = "messages.delete"
	ScopeSharesWrite      Scope = "shares.write"
	// ScopeOfflineAccess asks for a refresh token (OpenID Connect Core
	// section 11); it grants no access to data.
	ScopeOfflineAccess Scope = "offline_access"
)

// scopeWords says in plain words what each scope lets an app do, in the
// order a consent screen lists them.
var scopeWords = []struct {
	scope Scope
	words string
}{
	{ScopeOpenID, "Know that it is you who signed in"},
	{ScopeProfile, "See your username and display name"},
	{ScopeFriendsRead, "See the list of your friends"},
	{ScopeThreadsRead, "See your conversations' titles and when they were last active"},
	{ScopeParticipantsRead, "See who is in your conversations"},
	{ScopeMessagesRead, "Read messages in your conversations"},
	{ScopeMessagesWrite, "Send messages as you, and edit those it sent"},
	{ScopeMessagesDelete, "Delete messages you sent, for everyone"},
	{ScopeSharesWrite, "Send links to your friends as you"},
	{ScopeOfflineAccess, "Keep this access while you are away, until it expires"},
}

// Describe returns the scope in plain words, or "" for an unknown scope.
func (s Scope) Describe() string {
	for _, w := range scopeWords {
		if w.scope == s {
			return w.words
		}
	}
	return ""
}

// AllScopes returns every scope Parley grants, in canonical order.
func AllScopes() Scopes {
	out := make(Scopes, len(scopeWords))
	for i, w := range scopeWords {
		out[i] = w.scope
	}
	return out
}

// Known reports whether s is a scope Parley grants.
func (s Scope) Known() bool { return s.Describe() != "" }

// Scopes is a set of scopes kept in the order consent screens list them.
type Scopes []Scope

// ParseScopes reads a space-separated scope string, keeping known scopes
// only, each once, in canonical order.
func ParseScopes(s string) Scopes { return NewScopes(strings.Fields(s)) }

// NewScopes returns the known scopes among names, each once, in canonical order.
func NewScopes(names []string) Scopes {
	var out Scopes
	for _, w := range scopeWords {
		if slices.Contains(names, string(w.scope)) {
			out = append(out, w.scope)
		}
	}
	return out
}

// Has reports whether the set holds s.
func (ss Scopes) Has(s Scope) bool { return slices.Contains(ss, s) }

// Union returns the scopes in either set.
func (ss Scopes) Union(other Scopes) Scopes {
	return NewScopes(append(ss.Strings(), other.Strings()...))
}

// Missing returns the scopes of want that ss lacks.
func (ss Scopes) Missing(want Scopes) Scopes {
	var out Scopes
	for _, s := range want {
		if !ss.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// Within returns the scopes of ss that other holds too.
func (ss Scopes) Within(other Scopes) Scopes {
	var out Scopes
	for _, s := range ss {
		if other.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// Strings returns the scopes as strings.
func (ss Scopes) Strings() []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// String returns the scopes space-separated, as OAuth writes them.
func (ss Scopes) String() string { return strings.Join(ss.Strings(), " ") }

// Thread scopes: which of a member's threads a grant reaches.
const (
	// ThreadScopeApp reaches only threads the app started or shared into,
	// and in those only messages from the app's first post on.
	ThreadScopeApp = "app"
	// ThreadScopeSelected reaches the threads the member ticked.
	ThreadScopeSelected = "selected"
	// ThreadScopeAll reaches every thread; only apps an operator approved
	// for it may be granted it.
	ThreadScopeAll = "all"
)

// MaxConnectedApps is how many apps a member may have connected to their
// account at once: their grants in force, neither revoked nor expired,
// whoever registered the apps. Every grant that reaches a thread costs
// each message there one webhook delivery for each of its app's endpoints
// (MaxWebhookEndpoints), enqueued in the message's own write, and one line
// in the thread's list of apps, which every participant's page loads; the
// apps a member registers are capped too (MaxOwnApps), but not the apps
// other accounts register, which they may connect as well. So this cap is
// what bounds one member's share of a message's cost: 25 grants of 10
// endpoints, 250 deliveries. 25 is several times the apps a person uses
// day to day, and a member at the cap makes room by disconnecting one.
// Only a new grant counts against it: widening a grant in force, or
// consenting again to an app connected, is never refused.
const MaxConnectedApps = 25

// GrantExpiry is a length a member may choose for a grant.
type GrantExpiry struct {
	// Choice names it in a consent form: "30d".
	Choice string
	// Lifetime is how long the grant lasts; zero, until revoked.
	Lifetime time.Duration
	// Words say it on the consent screen: "30 days".
	Words string
}

// GrantExpiries are the lengths a member may choose for a grant on the
// consent screen, shortest first: the first is what it chooses unasked.
var GrantExpiries = []GrantExpiry{
	{Choice: "30d", Lifetime: 30 * 24 * time.Hour, Words: "30 days"},
	{Choice: "90d", Lifetime: 90 * 24 * time.Hour, Words: "90 days"},
	{Choice: "never", Lifetime: 0, Words: "Until I revoke it"},
}

// String says the length within a sentence: "30 days", "until revoked".
func (e GrantExpiry) String() string {
	if e.Lifetime == 0 {
		return "until revoked"
	}
	return e.Words
}

// FindGrantExpiry returns the length a consent form's choice names; false
// when it names none.
func FindGrantExpiry(choice string) (GrantExpiry, bool) {
	i := slices.IndexFunc(GrantExpiries, func(e GrantExpiry) bool { return e.Choice == choice })
	if i < 0 {
		return GrantExpiry{}, false
	}
	return GrantExpiries[i], true
}

// Grant is a member's consent for an app: what it may do, in which threads,
// until when. At most one grant per member and app is in force; asking for
// more widens it, only after the member agreed again.
type Grant struct {
	ID          string     `json:"id"`
	UserID      string     `json:"user_id"`
	ClientID    string     `json:"client_id"`
	Scopes      Scopes     `json:"scopes"`
	ThreadScope string     `json:"thread_scope"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	// RevokedAt is when the grant ended: the member revoked it, or it
	// expired (then it equals ExpiresAt), or a new consent replaced it.
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Terms returns what the grant holds, for its entry in the access log of a
// change about threadIDs.
func (g *Grant) Terms(threadIDs []string) *GrantTerms {
	return &GrantTerms{Scopes: slices.Clone(g.Scopes), ThreadScope: g.ThreadScope, ExpiresAt: g.ExpiresAt, ThreadIDs: threadIDs}
}

// ActiveAt reports whether the grant is in force at t.
func (g *Grant) ActiveAt(t time.Time) bool {
	return g.RevokedAt == nil && (g.ExpiresAt == nil || t.Before(*g.ExpiresAt))
}

// GrantThread is a thread a grant reaches, and the first message the app may
// see in it.
type GrantThread struct {
	GrantID        string `json:"-"`
	ThreadID       string `json:"thread_id"`
	VisibleFromSeq int64  `json:"visible_from_seq"`
}

// ThreadReach is what an app's grant may see of one thread.
type ThreadReach struct {
	// ClosedToApps is set while a participant keeps the thread closed to
	// every app, whatever their grants say.
	ClosedToApps bool
	// InGrant reports whether the grant lists the thread, from message
	// VisibleFromSeq on; a grant with thread scope all lists none.
	InGrant        bool
	VisibleFromSeq int64
	// AppsFromSeq is the first message of the thread any app may see: 0
	// until a participant closes it to apps, then, once no one keeps it
	// closed, the one after its last message at that moment. What was said
	// while it was closed, and before, is no app's to read.
	AppsFromSeq int64
	// TakenOut reports whether the grant's member took the thread out of
	// the grant (GrantStore.RemoveGrantThread): it stays out for the grant's
	// life, whatever the app shares.
	TakenOut bool
}

// From applies the reach to a grant of the thread scope given: it returns
// the first message of the thread the grant may read (0: from the
// first), no earlier than AppsFromSeq, and false when the thread does not
// exist for the grant: a participant closed it to apps, or the grant, not
// of thread scope all, does not list it. This is the rule; the one store method that applies it
// inside a statement (MessageStore.FindReachedMessages) states it again in
// SQL, held to this one by the store's contract tests.
func (r ThreadReach) From(threadScope string) (int64, bool) {
	switch {
	case r.ClosedToApps:
		return 0, false
	case threadScope == ThreadScopeAll:
		return r.AppsFromSeq, true
	case !r.InGrant:
		return 0, false
	}
	return max(r.VisibleFromSeq, r.AppsFromSeq), true
}

// ReachedThread is what a store reads of a thread together with a page an
// app reads of it (MessageStore.FindReachedMessages): the grant's reach of
// the thread, which the page is held to, and the IDs of the thread's
// current participants, in order, whose data the read touches.
type ReachedThread struct {
	Reach        ThreadReach
	Participants []string
}

// ConnectedApp is a grant in force as its member's list of connected apps
// shows it: with its app, the threads it reaches and how the app used it.
type ConnectedApp struct {
	Grant
	AppName string `json:"app_name"`
	// Threads are the threads the grant lists; under thread scope all it
	// reaches every thread and lists none.
	Threads []GrantedThread `json:"threads"`
	GrantUse
}

// GrantedThread is a thread a grant reaches, labelled for its member.
type GrantedThread struct {
	GrantThread
	// Label is the thread's title, or the names of the others in it; for
	// a thread the member has left, words that say so.
	Label string `json:"label"`
}

// GrantUse is how an app used a grant: the calls it made on its member's
// data and when it made the last.
type GrantUse struct {
	Calls        int64      `json:"calls"`
	LastAccessAt *time.Time `json:"last_access_at,omitempty"`
}

// ThreadGrant is a grant that reaches a thread, with whose grant it is.
type ThreadGrant struct {
	GrantID     string  `json:"grant_id"`
	ClientID    string  `json:"client_id"`
	AppName     string  `json:"app_name"`
	Member      UserRef `json:"member"`
	Scopes      Scopes  `json:"scopes"`
	ThreadScope string  `json:"thread_scope"`
	// VisibleFromSeq is the first message of the thread the app may see.
	VisibleFromSeq int64 `json:"visible_from_seq"`
}

// ThreadAppAccess is what apps may do in a thread, as its participants see
// it: whether apps are let in at all, who closed it to them, and the
// grants that reach it.
type ThreadAppAccess struct {
	// Allowed is false while any participant keeps the thread closed.
	Allowed bool `json:"allowed"`
	// ClosedBy are the participants keeping it closed; each may reopen it
	// for their part only.
	ClosedBy []UserRef `json:"closed_by"`
	// Apps are the grants, of any participant, that reach the thread.
	Apps []ThreadGrant `json:"apps"`
}

// AppAccess is what an app's access token carries: the grant it stands for,
// the app, and the scopes this token holds (at most the grant's).
type AppAccess struct {
	Grant  *Grant
	App    *App
	Scopes Scopes
	// TokenHash identifies the access token the call came with.
	TokenHash []byte
	// Until is when the token stops working unless something ends it
	// sooner: when it, or its grant, expires.
	Until time.Time
}

// Until is when the token runs out: its own expiry or its grant's,
// whichever comes first.
func (tg *TokenGrant) Until() time.Time {
	if g := tg.Grant.ExpiresAt; g != nil && g.Before(tg.Token.ExpiresAt) {
		return *g
	}
	return tg.Token.ExpiresAt
}

// Scopes returns what the token may do now: the scopes it was issued with
// that its grant still holds. A member who narrows a grant narrows its
// tokens at once. An app's own token, which stands for no grant, keeps
// its scopes.
func (tg *TokenGrant) Scopes() Scopes {
	if tg.Token.GrantID == "" {
		return tg.Token.Scopes
	}
	var out Scopes
	for _, s := range tg.Token.Scopes {
		if tg.Grant.Scopes.Has(s) {
			out = append(out, s)
		}
	}
	return out
}

// FixedScopes are the scopes a member cannot take out of a grant while
// keeping it: openid is what signing in with Parley is, and
// offline_access grants no access to data. Revoking the grant ends them.
var FixedScopes = Scopes{ScopeOpenID, ScopeOfflineAccess}
