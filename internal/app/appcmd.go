package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/spf13/cobra"
)

func appCommand(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{Use: "app", Short: "Manage partner apps (OAuth clients)", PersistentPreRun: atConsole, Args: cobra.NoArgs, RunE: unknownSubcommand}

	var in service.NewApp
	var owner string
	add := &cobra.Command{
		Use:   "add --name NAME --redirect-uri URI [--redirect-uri URI…]",
		Short: "Register an app; prints its client ID and, once only, its secret",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				reg, err := svc.RegisterAppFor(cmd.Context(), in, owner)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "client_id:     %s\n", reg.ClientID)
				if reg.ClientSecret != "" {
					fmt.Fprintf(out, "client_secret: %s\n", reg.ClientSecret)
					fmt.Fprintln(out, "The secret is shown only now; Parley keeps only its hash.")
				}
				return nil
			})
		},
	}
	f := add.Flags()
	f.StringVar(&in.Name, "name", "", "the name members see")
	f.StringArrayVar(&in.RedirectURIs, "redirect-uri", nil, "an exact redirect URI (repeatable)")
	f.BoolVar(&in.Public, "public", false, "a public client (no secret), such as a native or single-page app")
	f.StringVar(&in.Purpose, "purpose", "", "what the app does with members' data, shown on the consent page")
	f.StringVar(&in.Homepage, "homepage", "", "the app's homepage")
	f.StringVar(&owner, "owner", "", "username of the member who owns the app: they rotate its secret, register its webhook endpoints and read its reports (without one, no one can)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List apps with their owners and where they are in review",
		Long: `List every app: its client ID, name, type, owner (empty for one operators
registered), review state (pending: waiting for its approval, with
--apps-require-review; waiting: active, not yet approved for reach all;
approved: for reach all; suspended), redirect URIs and when it was registered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				r, err := svc.ReviewApps(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tOWNER\tREVIEW\tREDIRECT URIS\tCREATED")
				for _, group := range []struct {
					state string
					apps  []service.AppReview
				}{{"waiting", r.Waiting}, {"approved", r.Reviewed}, {"suspended", r.Suspended}} {
					for _, a := range group.apps {
						state := group.state
						if a.State == parley.AppPending {
							state = parley.AppPending
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ClientID, a.Name, a.ClientType, a.Owner, state,
							strings.Join(a.RedirectURIs, " "), a.CreatedAt.Format(time.RFC3339))
					}
				}
				return tw.Flush()
			})
		},
	}

	var reach string
	approve := &cobra.Command{
		Use:   "approve CLIENT_ID [--reach all]",
		Short: "Let members connect an app waiting for review; with --reach all, let them grant it every thread",
		Long: `Without --reach, approve an app a member registered while the server runs with
--apps-require-review: members may connect it from now on. With --reach all,
let members grant the app every thread, after review.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			decide, done := (*service.Service).ApproveApp, "may be connected"
			switch reach {
			case "":
			case "all":
				decide, done = (*service.Service).ApproveAllThreads, "may now be granted all threads"
			default:
				return errors.New(`--reach all is the one reach that needs approval`)
			}
			return withService(cmd, *cfg, func(svc *service.Service) error {
				a, err := decide(svc, cmd.Context(), args[0])
				if err != nil {
					return err
				}
				switch a.State {
				case parley.AppSuspended:
					// Approval lifts no suspension (ReinstateApp does).
					done += " once it works again, but it is suspended: parley app unsuspend lets it"
				case parley.AppPending:
					// Reach "all" lets no member connect it (ApproveApp does).
					done += " once members may connect it, but it waits for review: parley app approve " + a.ClientID + " lets them"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) %s\n", a.ClientID, a.Name, done)
				return nil
			})
		},
	}
	approve.Flags().StringVar(&reach, "reach", "", "all: let members grant the app every thread, the one reach that needs review; without it, approve an app waiting for review")

	unapprove := stateCommand(cfg, "unapprove CLIENT_ID", "Withdraw an app's approval to reach all threads, ending the grants that reach them",
		says("may no longer be granted all threads; the grants that reached them ended"), (*service.Service).UnapproveAllThreads)
	suspend := stateCommand(cfg, "suspend CLIENT_ID", "Stop an app", says("is suspended"), (*service.Service).SuspendApp)
	unsuspend := stateCommand(cfg, "unsuspend CLIENT_ID", "Let a suspended app work again", func(a *parley.App) string {
		// Unsuspending leaves a pending app pending (ReinstateApp).
		if a.State == parley.AppPending {
			return "is still pending: parley app approve lets members connect it"
		}
		return "is active"
	}, (*service.Service).ReinstateApp)
	unsuspend.Aliases = []string{"reinstate"}
	remove := stateCommand(cfg, "delete CLIENT_ID", "Delete an app: its grants end at once, and it works nowhere again",
		says("is deleted; its grants ended"), (*service.Service).DeleteApp)
	remove.Long = `Delete an app. Every grant in force of the app ends at once, as if its member
had revoked it: its webhook endpoints get grant.revoked and its streams end.
The app works nowhere again (its sign-ins, tokens and secret are refused as
an unknown client's) and is listed nowhere, not even to its owner. Its
record stays, so that members' histories and access logs that name it stay
intact. There is no undo.`
	cmd.AddCommand(add, list, approve, unapprove, suspend, unsuspend, remove)
	return cmd
}

// stateCommand is a command that makes an operator's decision about the
// app it names, and says what the app is now, as done tells.
func stateCommand(cfg *config.Config, use, short string, done func(*parley.App) string,
	decide func(*service.Service, context.Context, string) (*parley.App, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				a, err := decide(svc, cmd.Context(), args[0])
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "%s (%s) %s\n", a.ClientID, a.Name, done(a))
				}
				return err
			})
		},
	}
}

// says is a stateCommand's done that says the same of every app.
func says(what string) func(*parley.App) string {
	return func(*parley.App) string { return what }
}
