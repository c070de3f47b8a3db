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
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		signals = append(signals, syscall.SIGHUP)
	}
	return signal.NotifyContext(parent, signals...)
}
