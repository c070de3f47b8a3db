package webhook

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/parleyhq/parley"
)

// Schedule is when each attempt is made, after the one before: the waits
// of the Standard Webhooks specification's example up to 10 hours, then 10
// hours once more, about 27 hours in all (the example goes on to 14, 20 and
// 24 hours, about 75), so that an endpoint down for a day still gets what
// it missed, and a dead one stops costing retries the next day. Each wait
// but the first gets up to a tenth more, at random, so that deliveries that
// failed together do not all come back together.
var Schedule = []time.Duration{
	0, 5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// Plan decides what follows an attempt made at now: when to try again
// (nil: never, as it succeeded or the schedule is spent) and, when the
// endpoint should be disabled, why: it answered 410 Gone, or its run of
// failures, with this attempt, has lasted parley.WebhookDisableAfter.
func Plan(r Result, now time.Time) (next *time.Time, disable string) {
	j := r.Job
	if r.OK() {
		return nil, ""
	}
	if r.StatusCode == http.StatusGone {
		return nil, "the endpoint answered 410 Gone"
	}
	if run, _ := j.Failures.After(j.At, true); j.At.Sub(run.Since) >= parley.WebhookDisableAfter {
		return nil, fmt.Sprintf("every delivery failed since %s", run.Since.Format(time.RFC3339))
	}
	n := j.Attempts + 1
	if n >= len(Schedule) {
		return nil, ""
	}
	wait := Schedule[n] + rand.N(Schedule[n]/10+1)
	if r.RetryAfter > wait {
		wait = min(r.RetryAfter, parley.MaxWebhookRetryAfter)
	}
	t := now.Add(wait)
	return &t, ""
}
