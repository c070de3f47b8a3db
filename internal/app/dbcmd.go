package app

import (
	"fmt"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/internal/config"
	"github.com/parleyhq/parley/internal/oauth"
	"github.com/parleyhq/parley/internal/sqlstore"
	"github.com/spf13/cobra"
)

// dbCommand is `parley db`: the two commands, besides `serve`, that may
// create or change the database's schema.
func dbCommand(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Create the database, or upgrade its schema to this parley's",
		Long: `Only these commands and ` + "`parley serve`" + ` change the database's schema. Every
other command refuses a database whose schema is not this parley's, and
refuses to run where there is no database.`,
		Args: cobra.NoArgs,
		RunE: unknownSubcommand,
	}
	cmd.AddCommand(
		schemaCommand(cfg, "init", "Create a new, empty database at this parley's schema", sqlstore.Create, "created the database"),
		schemaCommand(cfg, "upgrade", "Apply this parley's pending migrations to the database (stop the server and back up first)", sqlstore.Upgrade, "the database is"),
	)
	return cmd
}

// schemaCommand opens the database doing what schema says, as a server
// would (on SQLite it refuses while a server runs on the database), and
// reports the schema version it is now at.
func schemaCommand(cfg *config.Config, use, short string, schema sqlstore.Schema, done string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			if schema == sqlstore.Create && cfg.KeysFile != "" {
				// Refused before the database is made, which a second
				// try would find there already.
				if err := oauth.CheckKeysFile(cfg.KeysFile); err != nil {
					return err
				}
			}
			db, err := openStoreWith(cmd.Context(), *cfg, commandLog(cmd.ErrOrStderr()), schema, false)
			if err != nil {
				return err
			}
			if schema == sqlstore.Create {
				// The provider's keys are made with the database, or in
				// the keys file.
				if _, err := loadKeys(cmd.Context(), *cfg, db, parley.WallClock{}, true); err != nil {
					db.Close()
					return err
				}
			}
			if err := db.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s at schema %d\n", done, sqlstore.SchemaVersion())
			return nil
		},
	}
}
