package app

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/spf13/cobra"
)

// auditCommand is `parley audit`: the record of operators' decisions.
func auditCommand(cfg *config.Config) *cobra.Command {
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit [--limit N] [--json]",
		Short: "List operators' decisions, the newest first: who, what, about whom or what, when",
		Long: `List the record of operators' decisions, the newest first: when, who (an
operator's username, or "console" for the parley command), the action, and
its subject (a member or an app) by ID and by name as it was. Every decision
made on the operator pages or with the parley command is recorded, in the
transaction that makes it.`,
		Args:             cobra.NoArgs,
		PersistentPreRun: atConsole,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				actions, err := svc.OperatorActions(cmd.Context(), limit)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					enc := json.NewEncoder(out)
					for _, a := range actions {
						if err := enc.Encode(a); err != nil {
							return err
						}
					}
					return nil
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "AT\tACTOR\tACTION\tSUBJECT\tNAME")
				for _, a := range actions {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.At.Format(time.RFC3339), a.Actor, a.Action, a.Subject, a.SubjectName)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", service.MaxOperatorActions, "how many decisions to list, at least 1")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a line instead of a table")
	return cmd
}
