package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/analyzers"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// childResult is what one full scan in a child process reports on stdout.
type childResult struct {
	ScanSeconds float64 `json:"scan_seconds"` // request → result recorded, inside the child
	Status      string  `json:"status"`
	FailedDesc  string  `json:"failed_desc,omitempty"`
	Packages    int     `json:"packages"`
	VulNum      int32   `json:"vul_num"`
	Digest      string  `json:"digest"`
	// VmHWM of the child at the end: a cross-check of the rusage figure.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// newScanChildCmd is the hidden command the scan benchmark runs once per
// measured scan, so that the scan's peak RSS is a process's own and not
// the benchmark's (which holds the registry's blobs in memory).
func newScanChildCmd() *cobra.Command {
	var dbPath, ref, scratch, keyHex, allow string
	var withAnalyzers bool
	cmd := &cobra.Command{
		Use:    "scan-child",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := scanChild(cmd.Context(), dbPath, ref, scratch, keyHex, allow, withAnalyzers)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dbPath, "db", "", "SQLite file with the vulnerability data, the registry connection and the synced rows")
	f.StringVar(&ref, "ref", "", "namespace/name:tag of the row to scan")
	f.StringVar(&scratch, "scratch", "", "scratch directory of the scanner")
	f.StringVar(&keyHex, "key", "", "secret box key (hex)")
	f.StringVar(&allow, "registry-allow", "", "network policy allowance for the benchmark's registry (comma separated, as openhss serve --registry-allow)")
	f.BoolVar(&withAnalyzers, "analyzers", false, "also run the baseline, malware and secrets analyzers, as `openhss serve` does")
	return cmd
}

// scanChild scans one row the way `openhss serve` does: the scan service
// over the store, the scanner with its default limits, the vulnerability
// database as matcher, run by the jobs runner. Without analyzers it is the
// scan of docs/benchmarks.md's Full scans (software inventory and
// vulnerabilities only).
func scanChild(ctx context.Context, dbPath, ref, scratch, keyHex, allow string, withAnalyzers bool) (childResult, error) {
	var res childResult
	policy, err := netpolicy.New(netpolicy.Options{Allow: strings.Split(allow, ",")})
	if allow == "" {
		policy, err = netpolicy.Default(), nil
	}
	if err != nil {
		return res, err
	}
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return res, err
	}
	defer st.Close()
	box, err := boxFromHex(keyHex)
	if err != nil {
		return res, err
	}
	quiet := slog.New(slog.DiscardHandler)
	img, err := findRow(ctx, st, ref)
	if err != nil {
		return res, err
	}
	opts := scanner.Options{ScratchDir: scratch, Logger: quiet}
	if withAnalyzers {
		if opts.Analyzers, err = analyzers.New(analyzers.Options{Signatures: st, Logger: quiet}); err != nil {
			return res, err
		}
	}
	sc, err := scanner.New(opts)
	if err != nil {
		return res, err
	}
	vdb, err := vulndb.New(vulndb.Options{Store: st, Logger: quiet})
	if err != nil {
		return res, err
	}
	svc, err := scanjob.New(scanjob.Options{Store: st, Scanner: sc, Matcher: vdb, Box: box, Transport: registry.NewTransport(policy), Log: quiet})
	if err != nil {
		return res, err
	}
	runner, err := jobs.NewRunner(jobs.RunnerOptions{Store: st, Logger: quiet})
	if err != nil {
		return res, err
	}
	runner.Handle(scanjob.JobKind, svc.Handle)

	start := time.Now()
	if _, err := svc.Request(ctx, benchProject, []inventory.Image{img}); err != nil {
		return res, err
	}
	if err := runner.RunUntilIdle(ctx); err != nil {
		return res, err
	}
	res.ScanSeconds = time.Since(start).Seconds()

	if img, err = findRow(ctx, st, ref); err != nil {
		return res, err
	}
	res.Status, res.FailedDesc, res.VulNum, res.Digest = string(img.ScanStatus), img.ScanFailedDesc, img.VulNum, img.ManifestDigest
	if img.ScanStatus == inventory.ScanSuccess {
		sb, err := st.GetSBOM(ctx, img.ManifestDigest)
		if err != nil {
			return res, err
		}
		res.Packages = len(sb.Packages)
	}
	res.PeakRSSBytes = peakRSS()
	return res, nil
}

// findRow returns the private_image row "namespace/name:tag" of the bench
// project.
func findRow(ctx context.Context, st *sqlite.Store, ref string) (inventory.Image, error) {
	for offset := 0; ; offset += 200 {
		page, err := st.ListImages(ctx, inventory.Filter{ProjectID: benchProject, Type: inventory.PrivateImage, Limit: 200, Offset: offset})
		if err != nil {
			return inventory.Image{}, err
		}
		for _, img := range page.Images {
			if img.Namespace+"/"+img.Name+":"+img.Tag == ref {
				return img, nil
			}
		}
		if len(page.Images) < 200 {
			return inventory.Image{}, fmt.Errorf("no row %s in the bench store", ref)
		}
	}
}

func boxFromHex(keyHex string) (*secret.Box, error) {
	var key []byte
	if _, err := fmt.Sscanf(keyHex, "%x", &key); err != nil {
		return nil, fmt.Errorf("secret box key: %w", err)
	}
	return secret.NewBox(key)
}

// measured is what the measure command reports of the command it ran.
type measured struct {
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	MaxRSSBytes int64   `json:"max_rss_bytes"`
	ExitCode    int     `json:"exit_code"`
}

// newMeasureCmd is the hidden command that runs another one and reports
// its rusage. It exists because Linux charges a child started with
// vfork+exec (as os/exec does) with its parent's peak RSS: ru_maxrss of a
// direct child of the benchmark, which holds the registry's blobs, would
// be the benchmark's. This small process starts the measured one instead.
func newMeasureCmd() *cobra.Command {
	var outPath string
	cmd := &cobra.Command{
		Use:    "measure --out FILE -- COMMAND [ARG...]",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := exec.CommandContext(cmd.Context(), args[0], args[1:]...)
			c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
			start := time.Now()
			err := c.Run()
			m := measured{WallSeconds: time.Since(start).Seconds()}
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				return err
			}
			if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
				m.MaxRSSBytes = ru.Maxrss * 1024 // kilobytes on Linux
				m.CPUSeconds = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
			}
			m.ExitCode = c.ProcessState.ExitCode()
			raw, err := json.Marshal(m)
			if err != nil {
				return err
			}
			return os.WriteFile(outPath, raw, 0o644)
		},
	}
	cmd.Flags().StringVar(&outPath, "out", "", "file to write the measurement to (JSON)")
	return cmd
}

// peakRSS is this process's peak resident set (VmHWM), 0 where /proc has
// none.
func peakRSS() int64 {
	kb, err := strconv.ParseInt(procField("/proc/self/status", "VmHWM", ":"), 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}
