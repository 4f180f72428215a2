// Command openhss-bench measures openhss against the performance targets that
// docs/benchmarks.md sets and prints the figures it records.
//
//	go run ./cmd/openhss-bench list [--rows N] [--json]
//	go run ./cmd/openhss-bench load [--postgres URL] [--json]
//	go run ./cmd/openhss-bench console [--rows N] [--postgres URL] [--json]
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "openhss-bench:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "openhss-bench",
		Short:         "Benchmarks of openhss",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newListCmd(), newScanCmd(), newScanChildCmd(), newMeasureCmd(), newLoadCmd(), newConsoleCmd())
	return root
}

func newListCmd() *cobra.Command {
	o := defaultListOptions()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Seed a fresh store and measure the image list in-process and over HTTP",
		Long: `list seeds a fresh SQLite store in a temporary directory (or, with
--postgres, a new schema of a PostgreSQL database) with synthetic
private_image rows, then measures GET /v5/{project_id}/image/swr-repository
and GET /v5/{project_id}/image/registries/images: the store's list query
in-process for twelve filter sets at two offsets (every total_num and page
checked against an independent COUNT(*) and ORDER BY) — the six of the seed
list, then ListRegistryImages' shapes (every image type;
sort_key=latest_scan_time in both directions; risky, severity_level,
registry_name) — and, on SQLite, HTTP requests/s of the real API against a
bare net/http handler serving the same bytes. --uncached writes to images
before every call, so that no call is served from the store's caches.

It exits non-zero when a count or page is wrong, not when a target is missed:
misses are marked MISS in the output.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Progress = cmd.ErrOrStderr()
			rep, err := runList(cmd.Context(), o)
			if err != nil {
				return err
			}
			return writeReport(cmd.OutOrStdout(), asJSON, rep, printReport)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Rows, "rows", o.Rows, "image rows to seed")
	f.IntVar(&o.Namespaces, "namespaces", o.Namespaces, "namespaces to spread the repositories over")
	f.IntVar(&o.Repos, "repos", o.Repos, "repositories to spread the rows over")
	f.IntVar(&o.Iterations, "iterations", o.Iterations, "timed list calls per filter set and offset")
	f.IntVar(&o.Warmup, "warmup", o.Warmup, "untimed list calls before the timed ones")
	f.IntVar(&o.Limit, "limit", o.Limit, "page size (the API default is 10)")
	f.IntVar(&o.DeepOffset, "deep-offset", o.DeepOffset, "the second offset measured")
	f.StringVar(&o.Namespace, "namespace", o.Namespace, "namespace substring of the namespace filter sets")
	f.StringVar(&o.ImageName, "image-name", o.ImageName, "image_name substring of the image-name filter set")
	f.StringVar(&o.ScanStatus, "scan-status", o.ScanStatus, "scan_status of the scan-status filter set")
	f.IntVar(&o.Registries, "registries", o.Registries, "registry connections to spread the repositories over")
	f.StringVar(&o.RegistryName, "registry-name", o.RegistryName, "registry_name substring of the registry-name filter set")
	f.StringVar(&o.SeverityLevel, "severity-level", o.SeverityLevel, "severity_level of the severity filter set")
	f.StringSliceVar(&o.Filters, "filters", nil, "filter sets to measure, by name (default all): "+strings.Join(filterKeys(), ", "))
	f.StringVar(&o.Postgres, "postgres", "", "seed and measure a PostgreSQL store at this URL instead (in a new schema, dropped afterwards; no HTTP phase)")
	f.BoolVar(&o.NoHTTP, "no-http", false, "skip the HTTP phase")
	f.BoolVar(&o.Uncached, "uncached", o.Uncached, "write to images before every list call, so that none is served from the store's caches")
	f.IntVar(&o.Clients, "clients", o.Clients, "concurrent keep-alive HTTP clients")
	f.DurationVar(&o.Duration, "duration", o.Duration, "HTTP load time per server")
	f.IntVar(&o.MaxRequests, "max-requests", o.MaxRequests, "HTTP requests per server at most")
	f.StringVar(&o.Dir, "dir", "", "directory for the database (default: a new temporary directory, removed afterwards)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the openhss HTTP load to this file")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func newConsoleCmd() *cobra.Command {
	o := defaultConsoleOptions()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Measure the web console's pages: server time, page weight, first contentful paint",
		Long: `console seeds a store (or reuses one an earlier run seeded in --dir, or
with --postgres in --schema) with synthetic private_image rows, serves the
real console in front of the real API on a loopback port, signs in through
the sign-in form as a user of its own and requests the Overview and the
Images page (several filters and pages) one request at a time: the server
time of each (in the handler) cached, and uncached (a write to images
before each request, so that the store's list caches miss); the page
weight (the HTML and the stylesheets and scripts it links); and, with
--chromium, the first contentful paint of each page in headless Chromium
(performance.getEntriesByName('first-contentful-paint')).

A miss of a target (docs/benchmarks.md, Web console) is marked MISS; the
command fails only when a page cannot be served.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Progress = cmd.ErrOrStderr()
			rep, err := runConsole(cmd.Context(), o)
			if err != nil {
				return err
			}
			return writeReport(cmd.OutOrStdout(), asJSON, rep, printConsoleReport)
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Rows, "rows", o.Rows, "image rows to seed")
	f.IntVar(&o.Namespaces, "namespaces", o.Namespaces, "namespaces to spread the repositories over")
	f.IntVar(&o.Repos, "repos", o.Repos, "repositories to spread the rows over")
	f.IntVar(&o.Registries, "registries", o.Registries, "registry connections to spread the repositories over")
	f.IntVar(&o.Iterations, "iterations", o.Iterations, "timed requests per page, cached and uncached each")
	f.IntVar(&o.Warmup, "warmup", o.Warmup, "untimed requests per page first")
	f.IntVar(&o.FCPRuns, "fcp-runs", o.FCPRuns, "browser loads per page")
	f.StringVar(&o.Chromium, "chromium", o.Chromium, "headless Chromium for the first contentful paint (\"\" to skip)")
	f.StringVar(&o.Postgres, "postgres", "", "a PostgreSQL store at this URL instead of SQLite (a new schema, dropped afterwards, unless --schema)")
	f.StringVar(&o.Schema, "schema", "", "with --postgres: the schema to seed once and reuse (kept)")
	f.StringVar(&o.Dir, "dir", "", "directory of the SQLite database, reused when seeded before with --rows (default: a temporary one)")
	f.StringSliceVar(&o.Paths, "paths", nil, "pages to measure, by path (default all)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the first page's requests to this file")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func defaultListOptions() listOptions {
	return listOptions{
		Rows: 1_000_000, Namespaces: 20, Repos: 10_000, Registries: 4,
		Iterations: 200, Warmup: 20, Limit: 10, DeepOffset: 100_000,
		Namespace: "ns-07", ImageName: "app-001", ScanStatus: "success",
		RegistryName: "bench-01", SeverityLevel: "High",
		Clients: 32, Duration: 10 * time.Second, MaxRequests: 2_000_000,
	}
}

// writeReport prints rep for people, or as indented JSON.
func writeReport[T any](w io.Writer, asJSON bool, rep T, print func(io.Writer, T)) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	print(w, rep)
	return nil
}
