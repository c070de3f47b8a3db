package parley_test

import (
	"slices"
	"testing"

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
