package oauth

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// idTokenLifetime is how long an ID token is good for.
const idTokenLifetime = 5 * time.Minute

// client presents a registered app to the provider.
type client struct {
	app      *parley.App
	loginURL string
}

func (c *client) GetID() string                    { return c.app.ClientID }
func (c *client) RedirectURIs() []string           { return c.app.RedirectURIs }
func (c *client) PostLogoutRedirectURIs() []string { return nil }

// ApplicationType decides nothing in Parley but the library's own rules on
// the scheme of redirect URIs (op.ValidateAuthReqRedirectURI), which answer
// in plain text, to no one. Parley's rules are registration's
// (parley.App.Validate: https, plain http on loopback, private-use schemes)
// and the exact match of Provider.authorize, for every client type. Every
// app presents as native, the one type whose rules admit each URI that
// registration admits, whatever the response type.
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeNative }

// AuthMethod: a confidential client authenticates with its secret, in HTTP
// Basic (RFC 6749 section 2.3.1) or the body (see clientCredentials); a
// public client has no secret and relies on PKCE.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.app.ClientType == parley.ClientPublic {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType { return grantTypes }

// grantTypes are the only grants the token endpoint takes: an app acts for
// a member only once they consented, and for itself, with the client
// credentials grant, only as a confidential client and only to read its own
// reports (tokenServer.ClientCredentialsExchange). RFC 9700 section 2.4
// rules out the password grant.
var grantTypes = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeClientCredentials}

func (c *client) LoginURL(id string) string           { return c.loginURL + "?id=" + url.QueryEscape(id) }
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *client) IDTokenLifetime() time.Duration      { return idTokenLifetime }

// DevMode would relax redirect URI checks; never.
func (c *client) DevMode() bool { return false }

func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

// IsScopeAllowed admits Parley's scopes; others are dropped from requests.
func (c *client) IsScopeAllowed(scope string) bool { return parley.Scope(scope).Known() }

// IDTokenUserinfoClaimsAssertion: ID tokens carry profile claims only
// through userinfo, so they stay small.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }

// registeredRedirect reports whether uri is registered for the app: byte
// for byte, but for the port of plain http on a loopback IP literal, which
// a native app picks from those free when it signs in (RFC 8252 section
// 7.3, RFC 9700 section 4.1.3: "MUST allow any port"). PKCE, required of
// every client, keeps a code sent to another local port useless. Names
// such as localhost, which may resolve elsewhere (RFC 8252 section 8.3),
// are matched byte for byte.
func registeredRedirect(app *parley.App, uri string) bool {
	if slices.Contains(app.RedirectURIs, uri) {
		return true
	}
	portless, ok := withoutLoopbackPort(uri)
	return ok && slices.ContainsFunc(app.RedirectURIs, func(r string) bool {
		rp, ok := withoutLoopbackPort(r)
		return ok && rp == portless
	})
}

// loopbackOrigins are the beginnings of the redirect URIs whose port the
// request chooses: plain http on a loopback IP literal.
var loopbackOrigins = []string{"http://127.0.0.1", "http://[::1]"}

// withoutLoopbackPort returns uri without its port, if it is plain http on
// a loopback IP literal with no port or a port of 1 to 65535 written
// plainly; otherwise false.
func withoutLoopbackPort(uri string) (string, bool) {
	for _, origin := range loopbackOrigins {
		rest, ok := strings.CutPrefix(uri, origin)
		if !ok {
			continue
		}
		if after, ok := strings.CutPrefix(rest, ":"); ok {
			end := strings.IndexFunc(after, func(r rune) bool { return r < '0' || r > '9' })
			if end < 0 {
				end = len(after)
			}
			if port, err := strconv.Atoi(after[:end]); err != nil || port < 1 || port > 65535 || after[0] == '0' {
				return "", false
			}
			rest = after[end:]
		}
		if rest != "" && rest[0] != '/' && rest[0] != '?' {
			return "", false // another host ("http://127.0.0.10"), or userinfo before one
		}
		return origin + rest, true
	}
	return "", false
}
