package app

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/spf13/cobra"
)

// keysCommand is `parley keys`: the OAuth provider's ID-token signing and
// token-sealing keys, wherever the configuration keeps them.
func keysCommand(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Rotate, list and move the provider's ID-token signing and token-sealing keys",
		Long: `The provider's keys live in the database, wrapped by PARLEY_KEYS_WRAP_KEY if
it is set, or in --keys-file. Every server reads them again every minute.`,
		PersistentPreRun: atConsole,
		Args:             cobra.NoArgs,
		RunE:             unknownSubcommand,
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make new keys, used by every server ten minutes on; the old ones verify and open what they made until it expires",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withKeys(cmd, *cfg, func(srv *Server, place oauth.KeyPlace) error {
				gens, err := oauth.RotateKeys(cmd.Context(), place, parley.Now())
				if err != nil {
					return err
				}
				if err := srv.Service.RecordKeyRotation(cmd.Context(), gens[len(gens)-1].KeyID); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "rotated the keys in %s; every server uses the new ones from %s\n",
					place, gens[len(gens)-1].From.Format(time.RFC3339))
				return printKeys(cmd.OutOrStdout(), gens)
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the generations of keys in force",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withKeys(cmd, *cfg, func(_ *Server, place oauth.KeyPlace) error {
				gens, err := oauth.ListKeys(cmd.Context(), place, parley.Now())
				if err != nil {
					return err
				}
				return printKeys(cmd.OutOrStdout(), gens)
			})
		},
	}
	cmd.AddCommand(rotate, list, moveKeysCommand(cfg))
	return cmd
}

// moveKeysCommand is `parley keys move`.
func moveKeysCommand(cfg *config.Config) *cobra.Command {
	var toFile string
	var toDatabase bool
	cmd := &cobra.Command{
		Use:   "move (--to-file PATH | --to-database)",
		Short: "Move the keys out of the database into a keys file, or into the database (wrapped if PARLEY_KEYS_WRAP_KEY is set); stop the servers first",
		Long: `--to-file PATH moves the keys from the database (unwrapped with
PARLEY_KEYS_WRAP_KEY if they are wrapped) into a new keys file, 0600; start
the servers with --keys-file PATH then.

--to-database moves them from --keys-file, or else from the database as
they are, into the database, wrapped by PARLEY_KEYS_WRAP_KEY if it is set.
To change the wrap key, move the keys to a file, then back with the new key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (toFile == "") == !toDatabase {
				return errors.New("give either --to-file PATH or --to-database")
			}
			wrap, err := cfg.WrapKey()
			if err != nil {
				return err
			}
			return withServersStopped(cmd, *cfg, func(srv *Server) error {
				store := srv.Store
				from, to := oauth.DatabaseKeys(store, wrap), oauth.DatabaseKeys(store, wrap)
				switch {
				case toFile != "":
					to = oauth.FileKeys(toFile, store)
				case cfg.KeysFile != "":
					from = oauth.FileKeys(cfg.KeysFile, store)
				case wrap == nil:
					return errors.New("the keys are in the database already: set PARLEY_KEYS_WRAP_KEY to wrap them, or give --keys-file to move them from a file")
				default:
					from = oauth.DatabaseKeys(store, nil)
				}
				if err := oauth.MoveKeys(cmd.Context(), from, to); err != nil {
					return err
				}
				if err := srv.Service.RecordKeyMove(cmd.Context(), to.String()); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "moved the keys from %s to %s\n", from, to)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&toFile, "to-file", "", "the new keys file")
	cmd.Flags().BoolVar(&toDatabase, "to-database", false, "move the keys into the database")
	return cmd
}

// withKeys runs fn beside a running server with where the configuration
// keeps the keys.
func withKeys(cmd *cobra.Command, cfg config.Config, fn func(*Server, oauth.KeyPlace) error) error {
	return besideServer(cmd, cfg, func(srv *Server) error {
		place, err := keyPlace(cfg, srv.Store)
		if err != nil {
			return err
		}
		return fn(srv, place)
	})
}

// printKeys prints generations of keys as a table.
func printKeys(w io.Writer, gens []oauth.KeyGeneration) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tFROM\tUNTIL")
	for _, g := range gens {
		until := "-"
		if !g.Until.IsZero() {
			until = g.Until.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", g.KeyID, g.From.Format(time.RFC3339), until)
	}
	return tw.Flush()
}
