package oauth

import (
	"math"
	"time"

	"github.com/parleyhq/parley"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// authRequest presents a stored authorization request to the provider.
type authRequest struct{ r *parley.AuthRequest }

func (a authRequest) GetID() string                      { return a.r.ID }
func (a authRequest) GetACR() string                     { return "" }
func (a authRequest) GetAMR() []string                   { return []string{"pwd"} }
func (a authRequest) GetAudience() []string              { return []string{a.r.ClientID} }
func (a authRequest) GetClientID() string                { return a.r.ClientID }
func (a authRequest) GetNonce() string                   { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseTypeCode }
func (a authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.r.ResponseMode) }
func (a authRequest) GetScopes() []string                { return a.r.Scopes.Strings() }
func (a authRequest) GetState() string                   { return a.r.State }
func (a authRequest) GetSubject() string                 { return a.r.UserID }
func (a authRequest) Done() bool                         { return a.r.Done() }

func (a authRequest) GetAuthTime() time.Time {
	if a.r.AuthTime == nil {
		return time.Time{}
	}
	return *a.r.AuthTime
}

// maxAge is the library's max_age, in seconds, as a duration; one too long
// to count in nanoseconds sets no limit.
func maxAge(seconds *uint) *time.Duration {
	if seconds == nil || uint64(*seconds) > math.MaxInt64/uint64(time.Second) {
		return nil
	}
	d := time.Duration(*seconds) * time.Second
	return &d
}

func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethodS256}
}

// refreshRequest is a refresh token being exchanged for its successor.
type refreshRequest struct {
	token    *parley.OAuthToken
	authTime time.Time
	scopes   []string
}

func (r *refreshRequest) GetAMR() []string                 { return []string{"pwd"} }
func (r *refreshRequest) GetAudience() []string            { return []string{r.token.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.authTime }
func (r *refreshRequest) GetClientID() string              { return r.token.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.token.UserID }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }
