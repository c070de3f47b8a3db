package benchkit

import (
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Dist summarizes a phase: how many requests, its wall time, throughput
// (count / wall time) and nearest-rank latency percentiles in milliseconds.
type Dist struct {
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
	P50     float64 `json:"p50_ms"`
	P95     float64 `json:"p95_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

// Summarize returns the Dist of the latencies of a phase that took wall.
func Summarize(lat []time.Duration, wall time.Duration) Dist {
	d := Dist{Count: len(lat), Seconds: wall.Seconds()}
	if wall > 0 {
		d.PerSec = float64(len(lat)) / wall.Seconds()
	}
	if len(lat) == 0 {
		return d
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	d.P50 = MS(percentile(s, 50))
	d.P95 = MS(percentile(s, 95))
	d.P99 = MS(percentile(s, 99))
	d.Max = MS(s[len(s)-1])
	return d
}

// percentile returns the nearest-rank p-th percentile of sorted values: the
// smallest value with at least p% of the values at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// MS returns d in milliseconds.
func MS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// RunWorkers calls fn(i) for i = 0 … n-1 from workers goroutines that pull
// the next i from a shared counter, closed-loop. The first error stops all
// of them and is returned. It returns the phase's wall time.
func RunWorkers(ctx context.Context, workers, n int, fn func(ctx context.Context, i int) error) (time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	// The cause is fn's error, or the parent's when it was cancelled (Ctrl-C).
	return wall, context.Cause(ctx)
}
