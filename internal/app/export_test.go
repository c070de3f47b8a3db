package app

import (
	"context"
	"log/slog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/config"
)

// OpenServerBeside opens a second server on the data directory of a
// running one, as a second node, telling the time by clock, such as the
// first server's test clock: SQLite allows one server process per file,
// so the second opens it as admin commands do, and cannot log reads.
func OpenServerBeside(ctx context.Context, cfg config.Config, log *slog.Logger, clock parley.Clock) (*Server, error) {
	return openServer(ctx, cfg, log, clock, asNodeBeside)
}

// OpenCommand opens the configured store and service as a command beside a
// running server does.
func OpenCommand(ctx context.Context, cfg config.Config) (*Server, error) {
	return openServer(ctx, cfg, slog.New(slog.DiscardHandler), parley.WallClock{}, asCommand)
}
