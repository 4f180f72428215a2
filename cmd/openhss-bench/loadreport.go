package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newLoadCmd() *cobra.Command {
	o := defaultLoadOptions()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Run openhss serve under 32 concurrent clients of list, sync and batch-scan; fail on any error or 5xx",
		Long: `load starts a registry in this process holding small Debian-shaped images,
sets up a project, one user per client and a registry connection with the
openhss CLI, starts ` + "`openhss serve`" + ` as a child process, syncs and scans every
image, then runs --clients concurrent clients for --duration. Each client
has its own users (--users-per-client; the API allows one credential 600
calls a minute) and their tokens, its own keep-alive connection and
loopback source address (127.0.0.<n>), and cycles through GET swr-repository with varied filters
and pages (22 of 25 requests), POST synchronize, POST batch-scan of a few
named images and POST batch-scan operate_all.

It reports per operation the answers, transport errors, status codes,
429s and latency percentiles, and the server's resident set before and
after the load and its peak; on SQLite, and on PostgreSQL too with
--postgres (in a new schema, dropped afterwards).

It exits non-zero when any request got no answer or a 5xx answer. A 429 is
the rate limiter working: reported, not a failure; the client then waits
100 ms, as a well-behaved client would.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Progress = cmd.ErrOrStderr()
			rep, err := runLoad(cmd.Context(), o)
			if err != nil {
				return err
			}
			if err := writeReport(cmd.OutOrStdout(), asJSON, rep, printLoadReport); err != nil {
				return err
			}
			return rep.failed()
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.OpenHSS, "openhss", "", "openhss binary to run (default: go build ./cmd/openhss into the work directory)")
	f.StringVar(&o.Postgres, "postgres", "", "also run on PostgreSQL at this URL, in a new schema dropped afterwards")
	f.BoolVar(&o.NoSQLite, "no-sqlite", false, "run on PostgreSQL (--postgres) only")
	f.IntVar(&o.Clients, "clients", o.Clients, "concurrent clients, each with its own users and loopback address")
	f.IntVar(&o.UsersPerClient, "users-per-client", o.UsersPerClient, "users (credentials) each client takes turns with; the API allows one 600 calls a minute")
	f.DurationVar(&o.Duration, "duration", o.Duration, "load time per store")
	f.Int64Var(&o.MaxRequests, "max-requests", o.MaxRequests, "requests per store at most")
	f.IntVar(&o.Repos, "repos", o.Repos, "repositories in the registry")
	f.IntVar(&o.Tags, "tags", o.Tags, "tags per repository (each its own image)")
	f.StringVar(&o.VulnData, "vuln-data", o.VulnData, "OSV records to import before the run (\"\" for none)")
	f.StringVar(&o.Dir, "dir", "", "work directory (default: a new temporary directory, removed afterwards)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

// printLoadReport writes rep as the tables docs/benchmarks.md copies.
func printLoadReport(w io.Writer, rep loadReport) {
	rep.Machine.print(w)
	fmt.Fprintf(w, "server    %s\n", rep.Serve)
	fmt.Fprintf(w, "load      %d clients (own users, keep-alive connection and 127.0.0.x address each; %d users in all) for %.0f s per store; %d images\n",
		rep.Clients, rep.Users, rep.Duration, rep.Images)
	for _, r := range rep.Runs {
		fmt.Fprintf(w, "\n%s: setup sync %.1f s, first scan of every image %.1f s (%s)\n", r.Store, r.SyncSeconds, r.ScanSeconds, r.ScanStatus)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "operation\tanswers\treq/s\terrors\t5xx\t429\tp50 ms\tp95 ms\tp99 ms\tmax ms\tstatus codes\t")
		for _, op := range r.Ops {
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%d\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t\n",
				op.Name, op.Requests, op.RPS, op.Errors, op.Status5xx, op.Status429, op.P50Ms, op.P95Ms, op.P99Ms, op.MaxMs, statusLine(op.Status))
		}
		fmt.Fprintf(tw, "all\t%d\t%.1f\t%d\t%d\t%d\t\t\t\t\t\t\n", r.Requests, float64(r.Requests)/max(r.Seconds, 1e-9), r.Errors, r.Status5xx, r.Status429)
		tw.Flush()
		fmt.Fprintf(w, "server RSS %.1f MiB before, %.1f MiB after, %.1f MiB peak during the load (sampled), VmHWM %.1f MiB; %.1f s CPU in %.1f s\n",
			mib(r.RSSBefore), mib(r.RSSAfter), mib(r.RSSPeakLoad), mib(r.HWM), r.ServerCPU, r.Seconds)
		verdict := "PASS (0 errors, 0 5xx)"
		if r.Errors > 0 || r.Status5xx > 0 {
			verdict = fmt.Sprintf("FAIL (%d errors, %d 5xx)", r.Errors, r.Status5xx)
		}
		fmt.Fprintf(w, "%s; server log: %d ERROR lines; stop: %s\n", verdict, r.ErrorLines, r.Stop)
		for _, op := range r.Ops {
			if op.FirstError != "" {
				fmt.Fprintf(w, "  first error of %s: %s\n", op.Name, op.FirstError)
			}
		}
		for _, l := range r.FirstErrors {
			fmt.Fprintf(w, "  server: %s\n", l)
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func statusLine(st map[string]int64) string {
	codes := make([]string, 0, len(st))
	for c := range st {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%s×%d", c, st[c]))
	}
	return strings.Join(parts, " ")
}
