package parley

import (
	"slices"
	"time"
)

// AuthRequest is an authorization request (RFC 6749 section 4.1.1) from the
// moment an app sends the member to the authorize endpoint until its code
// is exchanged. After the exchange it stays, marked used, so a replayed code
// can be recognised and what it issued revoked (RFC 6749 section 4.1.2).
type AuthRequest struct {
	ID            string
	ClientID      string
	RedirectURI   string
	State         string
	Nonce         string
	Scopes        Scopes
	ResponseMode  string
	CodeChallenge string // S256 (RFC 7636); required of every client
	// Prompt holds the prompt values the app sent (OpenID Connect Core
	// section 3.1.2.1): PromptNone, PromptLogin, PromptConsent,
	// PromptSelectAccount.
	Prompt []string
	// MaxAge, when set, is the longest time since the member entered their
	// password that the app accepts (max_age); prompt=login makes it 0.
	MaxAge *time.Duration
	// HintUserID is the member the app named with an ID token of theirs
	// (id_token_hint): a session of another member, from before the
	// request, must sign in again.
	HintUserID string
	CreatedAt  time.Time

	// Set once the member signed in and approved the request.
	UserID  string
	GrantID string
	// AuthTime is when the member entered their password: the sign-in of
	// the session that approved the request, and the ID token's auth_time.
	AuthTime *time.Time
	// ApprovedAt is when the request was approved; its code lives from then.
	ApprovedAt *time.Time

	// CodeHash is the SHA-256 of the code issued for the request.
	CodeHash []byte
	// CodeUsedAt is when the code was exchanged for tokens.
	CodeUsedAt *time.Time

	// RefusedAt is when the request went back to its app without a code
	// (the member said no, or prompt=none could not be met): the app was
	// told so, and the request can be answered no more.
	RefusedAt *time.Time
}

// AuthRequestTTL is how long a member has to sign in and consent once an app
// sent them to the authorize endpoint.
const AuthRequestTTL = 10 * time.Minute

// Done reports whether the member has signed in and approved the request.
func (r *AuthRequest) Done() bool { return r.GrantID != "" }

// Answered reports whether the request was approved or refused.
func (r *AuthRequest) Answered() bool { return r.Done() || r.RefusedAt != nil }

// Prompt values (OpenID Connect Core section 3.1.2.1).
const (
	// PromptNone: show the member no page; answer the app at once.
	PromptNone = "none"
	// PromptLogin: the member enters their password again.
	PromptLogin = "login"
	// PromptConsent: the member answers the consent page, even when their
	// grant already covers the request.
	PromptConsent = "consent"
	// PromptSelectAccount: the member chooses the account; Parley shows
	// the sign-in page, as for PromptLogin.
	PromptSelectAccount = "select_account"
)

// Prompts reports whether the app sent the prompt value v.
func (r *AuthRequest) Prompts(v string) bool { return slices.Contains(r.Prompt, v) }

// SignInFresh reports whether the member userID, who entered their
// password at signedIn, may go on with the request at now without entering
// it again. Never when the app named another member (HintUserID): with
// prompt=none the app is then told login_required (OpenID Connect Core
// section 3.1.2.1), and otherwise the member may sign in as the one the
// app named (SignedInAsAnother says when they did not). Else a password
// entered since the request began always is; an earlier one is not with
// prompt=login or select_account, and not when it is older than max_age.
func (r *AuthRequest) SignInFresh(userID string, signedIn, now time.Time) bool {
	switch {
	case r.HintUserID != "" && r.HintUserID != userID:
		return false
	case !signedIn.Before(r.CreatedAt):
		return true
	case r.Prompts(PromptLogin) || r.Prompts(PromptSelectAccount):
		return false
	}
	return r.MaxAge == nil || now.Sub(signedIn) <= *r.MaxAge
}

// SignedInAsAnother reports whether the member userID, who entered their
// password at signedIn, signed in during the request as another member
// than the one the app named (HintUserID): the app is then told
// login_required, as OpenID Connect Core section 3.1.2.1 asks, rather
// than shown the sign-in page again.
func (r *AuthRequest) SignedInAsAnother(userID string, signedIn time.Time) bool {
	return r.HintUserID != "" && r.HintUserID != userID && !signedIn.Before(r.CreatedAt)
}

// Token kinds.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// OAuthToken is an access or refresh token as stored: by the SHA-256 of
// its secret part, never the token itself. Tokens of one family descend from
// one authorization code; a replayed code or a reused refresh token revokes
// the whole family.
type OAuthToken struct {
	Hash      []byte
	Kind      string
	FamilyID  string // the AuthRequest the family descends from
	GrantID   string
	ClientID  string
	UserID    string
	Scopes    Scopes
	CreatedAt time.Time
	ExpiresAt time.Time
	// UsedAt is when a refresh token was exchanged for its successor.
	UsedAt    *time.Time
	RevokedAt *time.Time
}

// TokenGrant is an access or refresh token with everything that decides
// whether it still works: one store read authenticates an app's call.
type TokenGrant struct {
	Token OAuthToken
	Grant Grant
	App   App
	User  UserRef
}

// Refusal says why the token may not be used at t, in words an app's
// developer can act on, or returns "" while the token, its grant and its
// app are all in force. It is the one rule for whether a token still works.
// What no new token mends, the grant's end or the app's state, is said
// before what one would: a token lasts no longer than its grant, and runs
// out with it, which is then said as the grant's expiry, so that the app
// asks the member again rather than refresh.
func (tg *TokenGrant) Refusal(t time.Time) string {
	switch {
	case tg.Grant.RevokedAt != nil:
		return "the member's grant to the app was revoked"
	case tg.Grant.ExpiresAt != nil && !t.Before(*tg.Grant.ExpiresAt):
		return "the member's grant to the app expired; ask the member to connect the app again"
	case tg.App.State != AppActive:
		return tg.App.Refusal()
	case tg.Token.RevokedAt != nil:
		return "the " + tg.Token.Kind + " token was revoked"
	case tg.Token.UsedAt != nil:
		return "the refresh token was exchanged for another already"
	case !t.Before(tg.Token.ExpiresAt):
		return "the " + tg.Token.Kind + " token expired"
	}
	return ""
}
