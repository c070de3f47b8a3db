package app

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/parleyhq/parley/internal/words"
	"github.com/spf13/cobra"
)

// Operators' commands on a member's account, beside `user add` and the
// operator flag in main.go.

func passwdCommand(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd USERNAME",
		Short: "Give a member a new password, read from standard input, and end their sessions",
		Long: `Give a member a new password, the first line of standard input (typed at a
terminal, it is asked for twice and not shown), stored as an argon2id hash.
Every session the member has ends: they sign in again with the new
password. The grants they gave apps stay.`,
		Example: `  echo 'a new long password' | parley user passwd alice`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd, "New password for "+args[0]+": ")
			if err != nil {
				return err
			}
			return withService(cmd, *cfg, func(svc *service.Service) error {
				u, err := svc.SetPassword(cmd.Context(), args[0], pw)
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s has a new password; their sessions ended\n", u.Username)
				}
				return err
			})
		},
	}
}

// disableCommand is `user disable`, or `user enable` when disable is false.
func disableCommand(cfg *config.Config, disable bool) *cobra.Command {
	use, short, done := "disable USERNAME", "Stop a member signing in, and end their sessions and the grants they gave apps", "is disabled; their sessions and grants ended"
	long := `Disable a member's account: they cannot sign in (through the API, the pages
or an app's sign-in), every session they have ends at once, and so does every
grant they gave apps, as if they had revoked it: the apps' tokens stop
working, their webhook endpoints get grant.revoked, their streams end.
` + "`parley user enable`" + ` lets them sign in again; it gives no grant back.`
	if !disable {
		use, short, done = "enable USERNAME", "Let a disabled member sign in again", "may sign in again"
		long = ""
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Long:  long,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				u, err := svc.SetDisabled(cmd.Context(), args[0], disable)
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", u.Username, done)
				}
				return err
			})
		},
	}
}

func sessionsCommand(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "sessions USERNAME",
		Short: "List a member's sessions: when each began and ends",
		Long: `List a member's sign-ins, the newest first: when each began and when it ends
(or ended). Parley keeps neither when a session was last used nor from which
address, and never the token.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				sessions, err := svc.UserSessions(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CREATED\tEXPIRES")
				for _, s := range sessions {
					fmt.Fprintf(tw, "%s\t%s\n", s.CreatedAt.Format(time.RFC3339), s.ExpiresAt.Format(time.RFC3339))
				}
				return tw.Flush()
			})
		},
	}
}

func renameCommand(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "rename USERNAME DISPLAY_NAME",
		Short: "Give a member a new display name (empty: their username), to take off one that passes for someone else's or offends",
		Example: `  parley user rename mallory ""
  parley user rename alice "Alice Liddell"`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				u, err := svc.RenameUser(cmd.Context(), args[0], args[1])
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s is named %q\n", u.Username, u.DisplayName)
				}
				return err
			})
		},
	}
}

func signOutCommand(cfg *config.Config) *cobra.Command {
	return &cobra.Command{
		Use:   "sign-out USERNAME",
		Short: "End every live session of a member; the grants they gave apps stay",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				n, err := svc.SignOutUser(cmd.Context(), args[0])
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "ended %s of %s\n", words.Count(n, "session", "sessions"), args[0])
				}
				return err
			})
		},
	}
}

func deleteCommand(cfg *config.Config) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete USERNAME [--yes]",
		Short: "Delete a member's account for good",
		Long: `Delete a member's account for good, as the member can themselves from the
privacy pages. Every session and every grant they gave apps ends at once, on
every server, as on ` + "`parley user disable`" + `; every message they sent becomes a
tombstone that keeps its place (seq) in its thread, and apps that could read it
get message.deleted; they leave every thread, which stays, with the others'
messages, for the others; their display name, password, friendships and friend
requests are forgotten. The username stays reserved: no one can register it
and pass for them. Their access log and every other member's stay intact.

The command asks for the username again on standard input before it deletes
anything; --yes skips that, for scripts. It is recorded, as every operator's
decision is: see ` + "`parley audit`" + `.`,
		Example: `  parley user delete alice          # then type alice
  echo alice | parley user delete alice
  parley user delete alice --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !yes {
				fmt.Fprintf(cmd.ErrOrStderr(), "Type %s to delete this account for good: ", args[0])
				typed, err := readLine(cmd, "the name typed")
				if err != nil {
					return err
				}
				if typed != args[0] {
					return errors.New("nothing was deleted: the name typed does not match; pass --yes to skip the question")
				}
			}
			return withService(cmd, *cfg, func(svc *service.Service) error {
				err := svc.DeleteUser(cmd.Context(), args[0])
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "deleted the account of %s; the username stays reserved\n", args[0])
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&yes, "yes", false, "delete without asking for the username again")
	return cmd
}
