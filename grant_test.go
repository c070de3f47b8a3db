package parley_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// A token may do what it was issued with and its grant still holds: a
// narrowed grant narrows its tokens; an app's own token, with no grant,
// keeps its scopes.
func TestTokenGrant_Scopes(t *testing.T) {
	issued := parley.Scopes{parley.ScopeOpenID, parley.ScopeThreadsRead, parley.ScopeMessagesRead}
	narrowed := parley.TokenGrant{
		Token: parley.OAuthToken{GrantID: "g", Scopes: issued},
		Grant: parley.Grant{ID: "g", Scopes: parley.Scopes{parley.ScopeOpenID, parley.ScopeMessagesRead, parley.ScopeFriendsRead}},
	}
	if got := narrowed.Scopes(); !slices.Equal(got, parley.Scopes{parley.ScopeOpenID, parley.ScopeMessagesRead}) {
		t.Errorf("a token of a narrowed grant may %v", got)
	}
	own := parley.TokenGrant{Token: parley.OAuthToken{Scopes: parley.Scopes{parley.ScopeReportsRead}}}
	if got := own.Scopes(); !slices.Equal(got, parley.Scopes{parley.ScopeReportsRead}) {
		t.Errorf("an app's own token may %v", got)
	}
}

// A grant that expires at t is no longer in force at t, by the same rule
// the store's queries use (expires_at > now): the moment it ends belongs to
// after its end, never to both.
func TestGrant_ActiveAt(t *testing.T) {
	created := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	expires := created.Add(30 * 24 * time.Hour)
	revoked := created.Add(time.Hour)
	for _, c := range []struct {
		name  string
		grant parley.Grant
		at    time.Time
		want  bool
	}{
		{"UntilRevoked", parley.Grant{}, created.Add(10 * 365 * 24 * time.Hour), true},
		{"BeforeItsExpiry", parley.Grant{ExpiresAt: &expires}, expires.Add(-time.Microsecond), true},
		{"AtItsExpiry", parley.Grant{ExpiresAt: &expires}, expires, false},
		{"AfterItsExpiry", parley.Grant{ExpiresAt: &expires}, expires.Add(time.Microsecond), false},
		{"Revoked", parley.Grant{RevokedAt: &revoked}, created.Add(2 * time.Hour), false},
		{"RevokedBeforeItsExpiry", parley.Grant{ExpiresAt: &expires, RevokedAt: &revoked}, created.Add(2 * time.Hour), false},
	} {
		if got := c.grant.ActiveAt(c.at); got != c.want {
			t.Errorf("%s: ActiveAt = %v, want %v", c.name, got, c.want)
		}
	}
}

// A token works while it, its grant and its app are all in force, and
// stops at the very moment the first of them ends: at its own expiry, at
// its grant's, once its grant is revoked or once its app is suspended,
// deleted or not yet approved. Each refusal says which.
func TestTokenGrant_Refusal(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	live := func() parley.TokenGrant {
		return parley.TokenGrant{
			Token: parley.OAuthToken{Kind: parley.TokenAccess, GrantID: "g", ExpiresAt: later},
			Grant: parley.Grant{ID: "g"},
			App:   parley.App{State: parley.AppActive},
		}
	}
	for _, c := range []struct {
		name   string
		change func(tg *parley.TokenGrant)
		at     time.Time
		want   string // a part of the refusal; "" for none
	}{
		{"InForce", func(*parley.TokenGrant) {}, now, ""},
		{"JustBeforeTheTokenExpires", func(*parley.TokenGrant) {}, later.Add(-time.Microsecond), ""},
		{"AtTheTokensExpiry", func(*parley.TokenGrant) {}, later, "access token expired"},
		{"TokenRevoked", func(tg *parley.TokenGrant) { tg.Token.RevokedAt = &now }, now, "access token was revoked"},
		{"RefreshTokenExchanged", func(tg *parley.TokenGrant) { tg.Token.Kind, tg.Token.UsedAt = parley.TokenRefresh, &now }, now, "exchanged"},
		{"JustBeforeTheGrantExpires", func(tg *parley.TokenGrant) { tg.Grant.ExpiresAt = &later }, later.Add(-time.Microsecond), ""},
		{"AtTheGrantsExpiry", func(tg *parley.TokenGrant) {
			end := now.Add(time.Minute)
			tg.Grant.ExpiresAt = &end
		}, now.Add(time.Minute), "grant to the app expired"},
		{"GrantRevoked", func(tg *parley.TokenGrant) { tg.Grant.RevokedAt = &now }, now, "grant to the app was revoked"},
		// A token lasts no longer than its grant: running out together,
		// the grant's end is what to act on, not a refresh.
		{"TokenAndGrantRunOutTogether", func(tg *parley.TokenGrant) { tg.Grant.ExpiresAt = &later }, later, "grant to the app expired"},
		{"TokenRevokedWithItsGrant", func(tg *parley.TokenGrant) { tg.Token.RevokedAt, tg.Grant.RevokedAt = &now, &now }, now, "grant to the app was revoked"},
		{"AppSuspended", func(tg *parley.TokenGrant) { tg.App.State = parley.AppSuspended }, now, "app is suspended"},
		{"AppDeleted", func(tg *parley.TokenGrant) { tg.App.State = parley.AppDeleted }, now, "app was deleted"},
		{"AppAwaitingReview", func(tg *parley.TokenGrant) { tg.App.State = parley.AppPending }, now, "review"},
	} {
		tg := live()
		c.change(&tg)
		got := tg.Refusal(c.at)
		if c.want == "" && got != "" || c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: refusal %q, want %q", c.name, got, c.want)
		}
	}
}
