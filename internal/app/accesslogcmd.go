package app

import (
	"errors"
	"fmt"

	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/parleyhq/parley/internal/words"
	"github.com/spf13/cobra"
)

// errLogBroken makes the command exit non-zero for a broken chain.
var errLogBroken = errors.New("the access log is broken")

func accessLogCommand(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{Use: "access-log", Short: "Inspect members' access logs", PersistentPreRun: atConsole, Args: cobra.NoArgs, RunE: unknownSubcommand}
	cmd.AddCommand(&cobra.Command{
		Use:   "verify USERNAME",
		Short: "Recompute a member's hash chain and name the first broken entry",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// With no server on the embedded database, it is opened as a
			// server opens it, which folds the reads its journal still
			// holds (a crash leaves them there) into the log verified;
			// beside a running server, the server folds them.
			verify := func(srv *Server) error {
				v, err := srv.Service.VerifyAccessLogOf(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if v.Intact {
					fmt.Fprintf(out, "intact: %s, every link holds\n", words.Count(v.Entries, "entry", "entries"))
					return nil
				}
				fmt.Fprintf(out, "broken at entry %d: %s\n", v.Break.Seq, v.Break.Reason)
				return errLogBroken
			}
			err := withServersStopped(cmd, *cfg, verify)
			if errors.Is(err, sqlstore.ErrInUse) {
				err = besideServer(cmd, *cfg, verify)
			}
			return err
		},
	})
	return cmd
}
