package parley_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// An endpoint's run of failures: a success ends it, a failure after the
// longest wait between retries (and the hour its latest may lag) starts a
// new one, and the run is written only as it starts, ends, or moves on by
// an hour.
func TestWebhookFailures_After(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	// runOf is a run from since to latest after t0.
	runOf := func(since, latest time.Duration) *parley.WebhookFailures {
		return &parley.WebhookFailures{Since: t0.Add(since), Latest: t0.Add(latest)}
	}
	run := runOf(-48*time.Hour, 0)
	gap := parley.MaxWebhookRetryAfter + time.Hour
	for _, tc := range []struct {
		name       string
		before     *parley.WebhookFailures
		at         time.Duration // after t0
		failed     bool
		want       *parley.WebhookFailures
		wantRecord bool
	}{
		{"SuccessNotFailing", nil, 0, false, nil, false},
		{"SuccessEndsTheRun", run, time.Minute, false, nil, true},
		{"FirstFailure", nil, time.Minute, true, runOf(time.Minute, time.Minute), true},
		{"FailureWithinTheHour", run, 59 * time.Minute, true, run, false},
		{"FailureAnHourOn", run, time.Hour, true, runOf(-48*time.Hour, time.Hour), true},
		{"FailureAfterTheLongestWait", run, gap, true, runOf(-48*time.Hour, gap), true},
		{"FailureAfterAQuietGap", run, gap + time.Microsecond, true, runOf(gap+time.Microsecond, gap+time.Microsecond), true},
		{"FailureDaysLater", run, parley.WebhookDisableAfter, true, runOf(parley.WebhookDisableAfter, parley.WebhookDisableAfter), true},
		{"FailureRecordedLate", run, -time.Minute, true, run, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, record := tc.before.After(t0.Add(tc.at), tc.failed)
			if record != tc.wantRecord || (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Fatalf("After: %+v, record %v; want %+v, %v", got, record, tc.want, tc.wantRecord)
			}
		})
	}
}
