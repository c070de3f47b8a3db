package app

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lockedBuffer is a buffer a logger writes to from the chores' goroutine
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestChores_APanicIsLoggedAndRetried: a chore that panics (a bug in one
// round of it) does not take the node down: the panic is logged as the
// chore's failure, and the chore runs again at its next round.
func TestChores_APanicIsLoggedAndRetried(t *testing.T) {
	var logged lockedBuffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil))}
	ctx, stop := context.WithCancel(context.Background())
	var runs atomic.Int32
	s.every(ctx, "panicky chore", 10*time.Millisecond, func(context.Context) error {
		if runs.Add(1) == 1 {
			panic("a bug")
		}
		return nil
	})
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	s.chores.Wait()
	if n := runs.Load(); n < 2 {
		t.Fatalf("the chore ran %d times after it panicked once, want again", n)
	}
	if out := logged.String(); !strings.Contains(out, "panicky chore") || !strings.Contains(out, "a bug") {
		t.Fatalf("the panic is not logged as the chore's failure: %q", out)
	}
}

// TestChores_ALoopThatPanicsRunsAgain: a background loop (the webhook
// workers, the rate limits' syncs) that panics is logged and started
// again, and does not take the node down.
func TestChores_ALoopThatPanicsRunsAgain(t *testing.T) {
	var logged lockedBuffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logged, nil))}
	ctx, stop := context.WithCancel(context.Background())
	var runs atomic.Int32
	s.keep(ctx, "panicky loop", func(ctx context.Context) {
		if runs.Add(1) == 1 {
			panic("a bug")
		}
		<-ctx.Done()
	})
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	s.chores.Wait()
	if n := runs.Load(); n != 2 {
		t.Fatalf("the loop ran %d times after it panicked once, want again, once", n)
	}
	if out := logged.String(); !strings.Contains(out, "panicky loop") || !strings.Contains(out, "a bug") {
		t.Fatalf("the panic is not logged as the loop's failure: %q", out)
	}
}
