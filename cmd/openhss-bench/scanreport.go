package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newScanCmd() *cobra.Command {
	o := defaultScanBenchOptions()
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Measure full image scans, db import, re-match and scan throughput",
		Long: `scan starts go-containerregistry's in-memory registry on 127.0.0.1, pushes
the images below, imports the Go vulnerability database and the Debian 12 records of
--vulndata (default testdata/osv, the repository's test data: run from the repository
root) into a fresh SQLite store, syncs, and measures:

  - full scans (pull from the registry + extract + match + store), each in a child
    process (wall time and rusage peak RSS), of: the debootstrapped bookworm root
    filesystem (--rootfs) as one layer; an image of --go-binaries Go binaries linking
    golang.org/x/text v0.3.7 and an old golang.org/x/net; with --big-image-mb, the
    root filesystem plus random files up to that size;
  - syft cataloguing the same images from the same registry, when available
    (--syft, or --install-syft: go install github.com/anchore/syft/cmd/syft@v1.57.1), and trivy
    generating a CycloneDX SBOM, its catalogue without vulnerability scanning (--trivy, or
    --install-trivy: GOEXPERIMENT=jsonv2 go install github.com/aquasecurity/trivy/cmd/trivy@v0.74.0);
  - db import of the whole Go vulnerability database (empty store, then again);
  - re-match of --inventories stored inventories (copies of the real SBOMs above)
    and the registry requests it made (must be 0), --rematch-runs times; with
    --postgres URL, the same on a PostgreSQL store too;
  - scan throughput of --workers workers over --small-images small images.

Never run in CI: it builds binaries and may install syft and trivy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Progress = cmd.ErrOrStderr()
			rep, err := runScanBench(cmd.Context(), o)
			if err != nil {
				return err
			}
			return writeReport(cmd.OutOrStdout(), asJSON, rep, printScanReport)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Rootfs, "rootfs", o.Rootfs, "debootstrapped bookworm root filesystem (default $OPENHSS_TEST_DEBOOTSTRAP)")
	f.StringVar(&o.VulnData, "vulndata", o.VulnData, "OSV test data directory holding debian-12/ (default: the repository's testdata/osv, relative to the repository root)")
	f.StringVar(&o.CacheDir, "cache", o.CacheDir, "where the Go binaries, syft and trivy are kept between runs")
	f.StringVar(&o.Dir, "dir", "", "work directory (default: a new temporary directory, removed afterwards)")
	f.IntVar(&o.Runs, "runs", o.Runs, "measured runs per image and tool")
	f.IntVar(&o.GoBinaries, "go-binaries", o.GoBinaries, "Go binaries in the Go image")
	f.IntVar(&o.SmallImages, "small-images", o.SmallImages, "images of the throughput run")
	f.IntVar(&o.Workers, "workers", o.Workers, "workers of the throughput run")
	f.IntVar(&o.Inventories, "inventories", o.Inventories, "stored inventories to seed before the re-match")
	f.IntVar(&o.BigImageMB, "big-image-mb", o.BigImageMB, "size of the big image in MiB (0: none)")
	f.StringVar(&o.Syft, "syft", "", "syft binary (default: the cache's, then PATH)")
	f.BoolVar(&o.InstallSyft, "install-syft", false, "go install syft@"+syftVersion+" into the cache when missing")
	f.StringVar(&o.Trivy, "trivy", "", "trivy binary (default: the cache's, then PATH)")
	f.BoolVar(&o.InstallTrivy, "install-trivy", false, "go install trivy@"+trivyVersion+" into the cache when missing (GOEXPERIMENT=jsonv2)")
	f.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the first SQLite re-match to this file")
	f.IntVar(&o.RematchRuns, "rematch-runs", o.RematchRuns, "timed re-matches per store, each after seeding again")
	f.StringVar(&o.Postgres, "postgres", "", "also time the re-match on PostgreSQL at this URL (in a new schema, dropped afterwards)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func printScanReport(w io.Writer, rep scanReport) {
	rep.Machine.print(w)
	fmt.Fprintf(w, "syft      %s\n", rep.Syft)
	fmt.Fprintf(w, "trivy     %s\n\n", rep.Trivy)

	fmt.Fprintln(w, "full scans (child processes; wall = process start to exit; RSS = rusage peak)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "image\tMiB\tlayers\ttool\truns wall s\tscan s\tCPU s\tpeak RSS MiB\tVmHWM MiB\tpackages\tvul_num\t")
	for _, im := range rep.Images {
		for _, tool := range []struct {
			name string
			runs []run
			pkgs int
		}{{"openhss", im.OpenHSS, im.Packages}, {"openhss+analyzers", im.WithAnalyzers, im.Packages}, {"syft", im.Syft, im.SyftPackages}, {"trivy", im.Trivy, im.TrivyPackages}} {
			if len(tool.runs) == 0 {
				continue
			}
			walls, scans, cpus, rss, hwm := "", "", "", "", ""
			for i, r := range tool.runs {
				sep := ""
				if i > 0 {
					sep = " "
				}
				walls += fmt.Sprintf("%s%.2f", sep, r.WallSeconds)
				if r.ScanSeconds > 0 {
					scans += fmt.Sprintf("%s%.2f", sep, r.ScanSeconds)
				}
				cpus += fmt.Sprintf("%s%.2f", sep, r.CPUSeconds)
				rss += fmt.Sprintf("%s%.0f", sep, mib(r.MaxRSSBytes))
				if r.SelfPeakRSSBytes > 0 {
					hwm += fmt.Sprintf("%s%.0f", sep, mib(r.SelfPeakRSSBytes))
				}
			}
			vul := ""
			if strings.HasPrefix(tool.name, "openhss") {
				vul = fmt.Sprint(im.VulNum)
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t\n", im.Name, mib(im.CompressedBytes), im.Layers, tool.name, walls, scans, cpus, rss, hwm, tool.pkgs, vul)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)

	fmt.Fprintln(w, "db import")
	for _, im := range rep.Import {
		fmt.Fprintf(w, "  %s: %d records, %d written, %.2f s\n", im.Source, im.Records, im.Written, im.Seconds)
	}
	for _, r := range []*rematchResult{&rep.Rematch, rep.RematchPostgres} {
		if r == nil {
			continue
		}
		fmt.Fprintf(w, "re-match (%s)  %d inventories (%d seeded), %d findings, median %.2f s (runs %s s; CPU %s s), %d registry requests\n",
			r.Store, r.Images, r.Seeded, r.Findings, r.Seconds, joinSeconds(r.Runs), joinSeconds(r.CPURuns), r.Requests)
	}
	t := rep.Throughput
	fmt.Fprintf(w, "throughput %d images (%.1f MiB compressed each on average), %d workers: %.1f s, %.0f images/minute\n\n",
		t.Images, mib(t.CompressedAvg), t.Workers, t.Seconds, t.PerMinute)

	fmt.Fprintln(w, "targets")
	for _, o := range rep.Targets {
		verdict := "—"
		if o.Met != nil {
			verdict = mark(*o.Met)
		}
		fmt.Fprintf(w, "  %-4s %s: %s (target %s)\n", verdict, o.What, o.Got, o.Target)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// joinSeconds lists figures in s as "1.23, 4.56".
func joinSeconds(ss []float64) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%.2f", s)
	}
	return out
}
