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
		{"HintOfAnotherMemberAcceptsSignInForTheRequest", nil, nil, "bob", created, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &parley.AuthRequest{Prompt: c.prompt, MaxAge: c.maxAge, HintUserID: c.hint, CreatedAt: created}
			if got := r.SignInFresh("ann", c.signedIn, now); got != c.want {
				t.Errorf("SignInFresh = %v, want %v", got, c.want)
			}
		})
	}
}
