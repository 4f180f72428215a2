package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/vulndb"
	"github.com/openhss/openhss/internal/vulnupdate"
)

func newDBCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the OSV vulnerability database",
	}
	cmd.AddCommand(newDBImportCmd(g), newDBUpdateCmd(g), newDBStatusCmd(g))
	return cmd
}

// vulnDB opens the vulnerability database over the app's store: the one
// place its options are built, for the db commands, the quickstart, the
// scans' matcher and the workers' update job. Downloads wait in the data
// directory: an all.zip can be larger than /tmp.
func (a *app) vulnDB() (*vulndb.DB, error) {
	return vulndb.New(vulndb.Options{Store: a.store, Logger: a.log, TempDir: a.tempDir})
}

func newDBImportCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "import PATH-OR-URL...",
		Short: "Import OSV records: a directory of .json, an OSV all.zip, or an http(s) URL of one",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			db, up, err := a.updater()
			if err != nil {
				return err
			}
			var results []vulndb.ImportResult
			for _, src := range args {
				// The last import's source is kept in the store and shown by
				// db status, read from any directory: record a file path as
				// an absolute one.
				if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
					if src, err = filepath.Abs(src); err != nil {
						return err
					}
				}
				res, err := db.Import(cmd.Context(), src)
				if err != nil {
					return err
				}
				results = append(results, res)
				if !g.json {
					printImport(cmd.OutOrStdout(), res)
				}
			}
			if err := up.MatchAfter(cmd.Context(), results); err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), results)
			}
			return nil
		},
	}
}

// updater returns the vulnerability database and its updater: `openhss
// db update` and the re-match after an import (internal/vulnupdate, which
// the serve workers' update jobs run too). The scan service that
// re-matches is built only when an import changed something.
func (a *app) updater() (*vulndb.DB, *vulnupdate.Updater, error) {
	db, err := a.vulnDB()
	if err != nil {
		return nil, nil, err
	}
	up, err := vulnupdate.New(vulnupdate.Options{DB: db, Rematch: lazyRematch{a}, Logger: a.log})
	return db, up, err
}

// lazyRematch builds the scan service on the first re-match.
type lazyRematch struct{ a *app }

func (l lazyRematch) Rematch(ctx context.Context) (scanjob.RematchStats, error) {
	scans, err := l.a.scanService(scanOptions{}, nil, nil)
	if err != nil {
		return scanjob.RematchStats{}, err
	}
	return scans.Rematch(ctx)
}

func newDBUpdateCmd(g *globals) *cobra.Command {
	var baseURL string
	var ecosystems []string
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Fetch <base-url>/<Ecosystem>/all.zip for each ecosystem and import it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			_, up, err := a.updater()
			if err != nil {
				return err
			}
			// What was imported before a failure is matched too.
			results, err := up.Run(cmd.Context(), baseURL, ecosystems)
			if g.json {
				if perr := printJSON(cmd.OutOrStdout(), results); perr != nil {
					return perr
				}
			} else {
				for _, res := range results {
					printImport(cmd.OutOrStdout(), res)
				}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&baseURL, "base-url", vulndb.DefaultBaseURL, "where <Ecosystem>/all.zip files are published")
	cmd.Flags().StringSliceVar(&ecosystems, "ecosystem", vulndb.DefaultEcosystems, "OSV ecosystems to fetch (repeat or comma-separate)")
	return cmd
}

func newDBStatusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Record counts per ecosystem, the last import and any import that did not complete",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			db, err := a.vulnDB()
			if err != nil {
				return err
			}
			st, err := db.Status(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			return printDBStatus(cmd.OutOrStdout(), st)
		},
	}
}

func printImport(w io.Writer, res vulndb.ImportResult) {
	fmt.Fprintf(w, "%s: %d records read, %d written, %d skipped as not OSV, in %s\n",
		res.Source, res.Records, res.Written, res.Invalid, res.Duration.Round(time.Millisecond))
}

func printDBStatus(w io.Writer, st vulndb.Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ECOSYSTEM\tRECORDS")
	for _, e := range st.Ecosystems {
		fmt.Fprintf(tw, "%s\t%d\n", e.Ecosystem, e.Records)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "total: %d records (%d withdrawn)\n", st.Records, st.Withdrawn)
	if st.LastImport == nil {
		fmt.Fprintln(w, "last import: never")
	} else {
		fmt.Fprintf(w, "last import: %s from %s (%d read, %d written)\n",
			st.LastImport.Finished.Format(time.RFC3339), st.LastImport.Source, st.LastImport.Records, st.LastImport.Written)
	}
	for _, u := range st.Unfinished {
		fmt.Fprintf(w, "import %s: %s, started %s by %s (%d read, %d written, counted above)\n",
			u.State, u.Source, u.Started.Format(time.RFC3339), u.Owner, u.Records, u.Written)
		if u.State == vulndb.ImportInterrupted {
			fmt.Fprintf(w, "  run `openhss db import %s` again to complete it\n", u.Source)
		}
	}
	return nil
}
