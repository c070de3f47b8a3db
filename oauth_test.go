package parley_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

func TestAuthRequest_SignInFresh(t *testing.T) {
	created := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	now := created.Add(time.Minute)
	minute, zero := time.Minute, time.Duration(0)
	for _, c := range []struct {
		name     string
		prompt   []string
		maxAge   *time.Duration
		hint     string
		signedIn time.Time
		want     bool
	}{
		{"AnySessionWithoutLimits", nil, nil, "", created.Add(-30 * 24 * time.Hour), true},
		{"PromptLoginRefusesEarlierSignIn", []string{parley.PromptLogin}, &zero, "", created.Add(-time.Second), false},
		{"PromptLoginAcceptsSignInForTheRequest", []string{parley.PromptLogin}, &zero, "", created, true},
		{"SelectAccountAsksAgain", []string{parley.PromptSelectAccount}, nil, "", created.Add(-time.Second), false},
		{"WithinMaxAge", nil, &minute, "", now.Add(-minute), true},
		{"OlderThanMaxAge", nil, &minute, "", now.Add(-minute - time.Microsecond), false},
		{"MaxAgeZeroAcceptsSignInForTheRequest", nil, &zero, "", created.Add(time.Second), true},
		{"PromptConsentSetsNoLimit", []string{parley.PromptConsent}, nil, "", created.Add(-time.Hour), true},
		{"HintOfTheSessionsMember", nil, nil, "ann", created.Add(-time.Hour), true},
		{"HintOfAnotherMemberAsksAgain", nil, nil, "bob", created.Add(-time.Hour), false},
		{"HintOfAnotherMemberRefusesEvenASignInForTheRequest", nil, nil, "bob", created, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &parley.AuthRequest{Prompt: c.prompt, MaxAge: c.maxAge, HintUserID: c.hint, CreatedAt: created}
			if got := r.SignInFresh("ann", c.signedIn, now); got != c.want {
				t.Errorf("SignInFresh = %v, want %v", got, c.want)
			}
		})
	}
}

// SignedInAsAnother: a member who signed in during the request, not the
// one the app named, is told to the app; one signed in before it is asked
// to sign in, as the named member may; without a hint, anyone goes on.
func TestAuthRequest_SignedInAsAnother(t *testing.T) {
	created := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, hint, who string
		signedIn        time.Time
		want            bool
	}{
		{"AnotherDuringTheRequest", "bob", "ann", created.Add(time.Second), true},
		{"AnotherBeforeTheRequest", "bob", "ann", created.Add(-time.Hour), false},
		{"TheNamedMember", "bob", "bob", created.Add(time.Second), false},
		{"NoHint", "", "ann", created.Add(time.Second), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &parley.AuthRequest{HintUserID: c.hint, CreatedAt: created}
			if got := r.SignedInAsAnother(c.who, c.signedIn); got != c.want {
				t.Errorf("SignedInAsAnother = %v, want %v", got, c.want)
			}
		})
	}
}
