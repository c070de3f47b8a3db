package app

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// StopContext returns a copy of parent that is done when a signal asks
// parley to stop: SIGINT (Ctrl-C), SIGTERM (systemd, container runtimes)
// or SIGHUP (the terminal it runs in closed). Each stops a server
// gracefully, as Main's commands expect of ctx; SIGHUP reloads nothing.
// A parley started with SIGHUP ignored, as under nohup, keeps ignoring it:
// asking for a signal would undo that.
func StopContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, stopSignals()...)
}

// stopSignals are the signals that ask parley to stop (StopContext).
func stopSignals() []os.Signal {
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		signals = append(signals, syscall.SIGHUP)
	}
	return signals
}

// cutShortOnSignal returns a copy of ctx, the time of a graceful stop
// under way, that ends when a stop signal comes again: a person who
// presses Ctrl-C twice, or a supervisor that signals again, wants the
// server to stop now, with what is in flight cut off, as when the stop's
// time runs out. stop releases what it holds.
func cutShortOnSignal(ctx context.Context) (cut context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(ctx, stopSignals()...)
}
