package parley_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley"
)

// After the free failures each attempt waits twice as long as the one
// before, up to the cap and never longer: no one is locked out for good.
func TestThrottle_BacksOffExponentiallyUpToTheCap(t *testing.T) {
	rule := parley.ThrottleRule{Free: 5, Base: time.Second, Max: 15 * time.Minute}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	th := &parley.Throttle{Key: "k"}
	var waits []time.Duration
	for range 30 {
		if w := rule.Wait(th, now); w != 0 {
			t.Fatalf("attempt %d waits %s though the last wait has passed", th.Failures+1, w)
		}
		th.Fail(now)
		w := rule.Wait(th, now)
		waits = append(waits, w)
		now = now.Add(w) // the attacker waits exactly as long as told
	}
	want := []time.Duration{0, 0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	for i, w := range want {
		if waits[i] != w {
			t.Errorf("wait after failure %d = %s, want %s", i+1, waits[i], w)
		}
	}
	for i, w := range waits {
		if w > rule.Max {
			t.Errorf("wait after failure %d = %s, over the cap %s", i+1, w, rule.Max)
		}
	}
	if last := waits[len(waits)-1]; last != rule.Max {
		t.Errorf("wait after 30 failures = %s, want the cap %s", last, rule.Max)
	}
}

// A wait shrinks as time passes, and a key with no failure for a day
// starts afresh.
func TestThrottle_TimePasses(t *testing.T) {
	rule := parley.ThrottleRule{Free: 2, Base: time.Minute, Max: time.Hour}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	th := &parley.Throttle{Key: "k"}
	th.Fail(now)
	if w := rule.Wait(th, now); w != 0 {
		t.Errorf("wait after one failure of two free = %s", w)
	}
	th.Fail(now)
	if w := rule.Wait(th, now.Add(20*time.Second)); w != 40*time.Second {
		t.Errorf("wait 20s after = %s, want 40s", w)
	}
	if w := rule.Wait(th, now.Add(time.Minute)); w != 0 {
		t.Errorf("wait a minute after = %s, want 0", w)
	}
	th.Fail(now.Add(parley.ThrottleForget))
	if th.Failures != 1 {
		t.Errorf("failures after a quiet day = %d, want 1", th.Failures)
	}
	th.Refund(time.Time{}, time.Time{})
	th.Refund(time.Time{}, time.Time{})
	if th.Failures != 0 {
		t.Errorf("failures after refunds = %d, want 0", th.Failures)
	}
}

// An attempt taken back leaves the last failure as it was before the
// attempt, unless another failure came since.
func TestThrottle_RefundRestoresTheLastFailure(t *testing.T) {
	before := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	at := before.Add(time.Hour)
	th := &parley.Throttle{Failures: 30, LastFailure: before}
	th.Fail(at)
	th.Refund(before, at)
	if th.Failures != 30 || !th.LastFailure.Equal(before) {
		t.Errorf("after an attempt taken back: %d failures, the last at %s; want 30 at %s", th.Failures, th.LastFailure, before)
	}
	later := at.Add(time.Second)
	th.Fail(at)
	th.Fail(later)
	th.Refund(before, at)
	if th.Failures != 31 || !th.LastFailure.Equal(later) {
		t.Errorf("after an attempt taken back, another failure since: %d failures, the last at %s; want 31 at %s", th.Failures, th.LastFailure, later)
	}
}

func TestThrottle_ErrorSaysHowLong(t *testing.T) {
	for wait, want := range map[time.Duration]string{
		1500 * time.Millisecond: "try again in 2 seconds",
		time.Second:             "try again in 1 second",
		61 * time.Second:        "try again in 2 minutes",
		15 * time.Minute:        "try again in 15 minutes",
	} {
		err := parley.ThrottledError("failed sign-ins", wait)
		if err.Code != parley.ETHROTTLED || err.RetryAfter != wait || err.Message != "too many failed sign-ins; "+want {
			t.Errorf("%s: %+v", wait, err)
		}
	}
}
