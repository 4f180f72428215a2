package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Targets the scan benchmark is judged against (docs/benchmarks.md, Scanner,
// Targets).
const (
	targetImportSeconds  = 5.0  // db import of the whole Go vulndb
	targetRematchSeconds = 10.0 // re-match of 1,000 stored inventories
	targetRSSShareOfSyft = 0.5  // openhss peak RSS ≤ half of syft's
	aimTimeShareOfSyft   = 0.25 // the aim: a quarter of syft's time
	targetBigRSSBytes    = 300 << 20
	syftVersion          = "v1.57.1"
	goVulnDBVersion      = "v0.0.0-20261105234957-e22db6528018"
)

// childEnv marks a process the benchmark started itself.
const childEnv = "OPENHSS_BENCH_CHILD"

type scanBenchOptions struct {
	Rootfs       string // debootstrapped bookworm
	VulnData     string // OSV records, holds debian-12/ (the repository's testdata/osv)
	CacheDir     string // Go binaries, syft
	Dir          string // work directory (store, scratch); temporary when empty
	Runs         int
	GoBinaries   int
	SmallImages  int
	Workers      int
	Inventories  int
	BigImageMB   int // 0: no big image
	Syft         string
	InstallSyft  bool
	Trivy        string
	InstallTrivy bool
	CPUProfile   string // of the first re-match
	RematchRuns  int
	Postgres     string // also re-match on PostgreSQL at this URL
	Progress     io.Writer
}

func defaultScanBenchOptions() scanBenchOptions {
	rootfs := os.Getenv("OPENHSS_TEST_DEBOOTSTRAP")
	if rootfs == "" {
		rootfs = "/var/cache/openhss-test/bookworm-rootfs"
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	return scanBenchOptions{
		// The repository's own records: the benchmark is run from its root.
		Rootfs: rootfs, VulnData: filepath.Join("testdata", "osv"), CacheDir: filepath.Join(cache, "openhss-bench"),
		Runs: 3, GoBinaries: 20, SmallImages: 50, Workers: 2, Inventories: 1000, BigImageMB: 1024, RematchRuns: 3,
	}
}

type scanReport struct {
	Machine machine        `json:"machine"`
	Images  []imageResult  `json:"images"`
	Import  []importResult `json:"imports"`
	Rematch rematchResult  `json:"rematch"`
	// The same re-match on PostgreSQL, with --postgres.
	RematchPostgres *rematchResult  `json:"rematch_postgres,omitempty"`
	Throughput      throughputRes   `json:"throughput"`
	Syft            string          `json:"syft"` // version line, or why it did not run
	Trivy           string          `json:"trivy"`
	Notes           []string        `json:"notes,omitempty"`
	Targets         []targetOutcome `json:"targets"`
}

type imageResult struct {
	Name            string `json:"name"`
	Ref             string `json:"ref"`
	CompressedBytes int64  `json:"compressed_bytes"`
	Layers          int    `json:"layers"`
	OpenHSS         []run  `json:"openhss"`
	// The same scan with the analyzers (baseline, malware, secrets),
	// as `openhss serve` runs it now.
	WithAnalyzers []run    `json:"openhss_with_analyzers,omitempty"`
	Syft          []run    `json:"syft,omitempty"`
	Trivy         []run    `json:"trivy,omitempty"`
	TrivyPackages int      `json:"trivy_packages"` // trivy's CycloneDX library components
	TrivyMedian   *summary `json:"trivy_median,omitempty"`
	Packages      int      `json:"packages"`      // openhss
	SyftPackages  int      `json:"syft_packages"` // syft's artifacts
	VulNum        int32    `json:"vul_num"`
	Digest        string   `json:"digest"`
	OpenHSSMedian summary  `json:"openhss_median"`
	SyftMedian    *summary `json:"syft_median,omitempty"`
}

// run is one child process: wall time from start to exit, and its peak
// resident set (rusage ru_maxrss).
type run struct {
	WallSeconds float64 `json:"wall_seconds"`
	ScanSeconds float64 `json:"scan_seconds,omitempty"` // openhss: request → recorded, inside the child
	CPUSeconds  float64 `json:"cpu_seconds"`
	MaxRSSBytes int64   `json:"max_rss_bytes"`
	// openhss: the scan's own VmHWM at its end, a cross-check.
	SelfPeakRSSBytes int64 `json:"self_peak_rss_bytes,omitempty"`
}

type summary struct {
	WallSeconds float64 `json:"wall_seconds"` // median
	MaxRSSBytes int64   `json:"max_rss_bytes"`
}

type importResult struct {
	Source  string  `json:"source"`
	Records int     `json:"records"`
	Written int     `json:"written"`
	Seconds float64 `json:"seconds"`
}

type throughputRes struct {
	Images        int     `json:"images"`
	Workers       int     `json:"workers"`
	Seconds       float64 `json:"seconds"`
	PerMinute     float64 `json:"images_per_minute"`
	Failed        int     `json:"failed"`
	CompressedAvg int64   `json:"compressed_bytes_avg"`
}

type targetOutcome struct {
	What   string `json:"what"`
	Target string `json:"target"`
	Got    string `json:"got"`
	Met    *bool  `json:"met"` // nil: not measured
}

// scanBench is one run of the scan benchmark: its options, its work
// directory and where it reports progress.
type scanBench struct {
	o        scanBenchOptions
	dir      string
	progress func(format string, args ...any)
}

// scanInputs are what the measurements need, prepared before any of them
// because they take the network (the module proxy) and time.
type scanInputs struct {
	syft, trivy string   // the reference tools; "" when they do not run
	goVulns     string   // the Go vulnerability database's data/osv
	debianData  string   // the Debian 12 OSV records of --vulndata
	bins        []string // the Go binaries the images carry
}

// runScanBench prepares the inputs, pushes the images to a loopback
// registry, syncs a fresh store with it, and measures in turn: full scans
// (openhss and the reference tools), the re-match of stored inventories,
// and the throughput of the scan workers.
func runScanBench(ctx context.Context, o scanBenchOptions) (scanReport, error) {
	rep := scanReport{Machine: describeMachine(time.Now())}
	if err := checkScanInputs(o); err != nil {
		return rep, err
	}
	b := &scanBench{o: o, dir: o.Dir, progress: progressPrinter(o.Progress)}
	if b.dir == "" {
		d, err := os.MkdirTemp("", "openhss-bench-scan-")
		if err != nil {
			return rep, err
		}
		defer os.RemoveAll(d)
		b.dir = d
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return rep, err
	}
	in, err := b.prepare(ctx, &rep)
	if err != nil {
		return rep, err
	}

	reg, err := startRegistry()
	if err != nil {
		return rep, err
	}
	defer reg.srv.Close()
	if rep.Images, err = b.pushTargets(ctx, reg.addr, in.bins); err != nil {
		return rep, err
	}
	smallRefs, smallBytes, err := b.pushSmallImages(ctx, reg.addr, in.bins)
	if err != nil {
		return rep, err
	}

	env, err := b.openStore(ctx, reg.addr, in, &rep)
	if err != nil {
		return rep, err
	}
	defer env.st.Close()

	if err := b.measureFullScans(ctx, env, reg.addr, in, &rep); err != nil {
		return rep, err
	}
	svc, err := env.scanService(b.dir)
	if err != nil {
		return rep, err
	}
	if err := b.measureRematches(ctx, env, svc, reg.requests, in, &rep); err != nil {
		return rep, err
	}
	// Throughput: every small image queued at once, N workers.
	b.progress("throughput: %d images, %d workers", len(smallRefs), o.Workers)
	rep.Throughput, err = measureThroughput(ctx, env.st, svc, smallRefs, o.Workers)
	if err != nil {
		return rep, err
	}
	rep.Throughput.CompressedAvg = smallBytes / int64(max(1, len(smallRefs)))
	rep.Machine.LoadEnd = loadAverage()
	rep.Targets = judge(rep)
	return rep, nil
}

// progressPrinter prints timestamped progress lines to w (none when nil).
func progressPrinter(w io.Writer) func(format string, args ...any) {
	return func(format string, args ...any) {
		if w != nil {
			fmt.Fprintf(w, "%s  "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05")}, args...)...)
		}
	}
}

// checkScanInputs fails early, naming the flag, when --rootfs or
// --vulndata is not what the benchmark reads.
func checkScanInputs(o scanBenchOptions) error {
	if _, err := os.Stat(filepath.Join(o.Rootfs, "var", "lib", "dpkg", "status")); err != nil {
		return fmt.Errorf("--rootfs %s is not a debootstrapped root filesystem (build one with `debootstrap --variant=minbase bookworm DIR`): %w", o.Rootfs, err)
	}
	if _, err := os.Stat(filepath.Join(o.VulnData, "debian-12")); err != nil {
		return fmt.Errorf("--vulndata %s has no debian-12/ (run from the repository root, whose testdata/osv is the default, or pass --vulndata): %w", o.VulnData, err)
	}
	return nil
}
