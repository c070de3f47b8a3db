package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/service"
	"github.com/spf13/cobra"
)

// flagsCommand is `parley flags`: the messages members reported to the
// operators, and the operators' decisions about them, as on the page
// /operator/reports.
func flagsCommand(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{Use: "flags", Short: "Review the messages members reported to the operators", PersistentPreRun: atConsole, Args: cobra.NoArgs, RunE: unknownSubcommand}

	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the reports that wait for an operator, the oldest first",
		Long: `List the reports (flags) that wait for an operator, the oldest first, at most
` + strconv.Itoa(service.MaxOpenFlags) + `: the reported message's ID, its sender, who reported it, when and
why, with their note and the message as it was when reported. Decide with
"parley flags dismiss" or "parley flags delete", naming the message and the
newest of its reports you read (a report made since stays open), or on the
page /operator/reports.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				flagged, err := svc.OpenFlags(cmd.Context())
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				enc := json.NewEncoder(out)
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				if !asJSON {
					fmt.Fprintln(tw, "MESSAGE\tFLAG\tSENDER\tREPORTER\tAT\tREASON\tNOTE\tTEXT")
				}
				for _, m := range flagged {
					for _, f := range m.Flags {
						e := f.Evidence
						if asJSON {
							if err := enc.Encode(flagLine{MessageID: m.MessageID, FlagID: f.ID, ThreadID: m.ThreadID, Sender: e.Sender.Username, Reporter: e.Reporter.Username,
								At: f.At, Reason: f.Reason, Note: f.Note, Kind: e.Kind, Text: e.Text, ShareURL: e.ShareURL, ShareTitle: e.ShareTitle, Via: e.Via, DeletedAt: e.DeletedAt}); err != nil {
								return err
							}
							continue
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.MessageID, f.ID, e.Sender.Username, e.Reporter.Username,
							f.At.Format(time.RFC3339), f.Reason, strconv.Quote(f.Note), strconv.Quote(evidenceText(e)))
					}
				}
				if asJSON {
					return nil
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print one JSON object a report instead of a table")

	dismiss := flagDecisionCommand(cfg, "dismiss MESSAGE_ID FLAG_ID", "Close a message's reports up to FLAG_ID and leave the message as it is", "dismissed", (*service.Service).DismissFlags)
	remove := flagDecisionCommand(cfg, "delete MESSAGE_ID FLAG_ID", "Delete a reported message for everyone and close its reports up to FLAG_ID", "deleted for everyone", (*service.Service).DeleteFlaggedMessage)
	remove.Long = `Delete a reported message for everyone, as its sender would (everyone in its
conversation sees it deleted; apps whose grants reached it get
message.deleted), and close its reports up to FLAG_ID, the newest you read
(parley flags list). Only a message a member reported, whose reports wait
for an operator, may be deleted this way.`
	cmd.AddCommand(list, dismiss, remove)
	return cmd
}

// evidenceText is the reported message as the table shows it: its text,
// or a share card's title, link and note.
func evidenceText(e *parley.FlagEvidence) string {
	if e.Kind != parley.MessageKindShare {
		return e.Text
	}
	return strings.TrimSpace(e.ShareTitle + " <" + e.ShareURL + "> " + e.Text)
}

// flagLine is one report as "parley flags list --json" prints it.
type flagLine struct {
	MessageID  string      `json:"message_id"`
	FlagID     string      `json:"flag_id"`
	ThreadID   string      `json:"thread_id"`
	Sender     string      `json:"sender"`
	Reporter   string      `json:"reporter"`
	At         time.Time   `json:"at"`
	Reason     string      `json:"reason"`
	Note       string      `json:"note"`
	Kind       string      `json:"kind"`
	Text       string      `json:"text"`
	ShareURL   string      `json:"share_url,omitempty"`
	ShareTitle string      `json:"share_title,omitempty"`
	Via        *parley.Via `json:"via,omitempty"`
	DeletedAt  *time.Time  `json:"deleted_at,omitempty"`
}

// flagDecisionCommand is a command that makes an operator's decision about
// the reported message it names, up to the report it names, and says it
// was done.
func flagDecisionCommand(cfg *config.Config, use, short, done string, decide func(*service.Service, context.Context, string, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, *cfg, func(svc *service.Service) error {
				if err := decide(svc, cmd.Context(), args[0], args[1]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "message %s: %s; its reports are closed\n", args[0], done)
				return nil
			})
		},
	}
}
