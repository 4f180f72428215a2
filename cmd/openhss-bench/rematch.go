package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"sync/atomic"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/vulndb"
)

type rematchResult struct {
	Store    string    `json:"store"` // "sqlite" or "postgres"
	Seeded   int       `json:"seeded"`
	Images   int       `json:"images"`
	Findings int       `json:"findings"`
	Seconds  float64   `json:"seconds"` // median of Runs
	Runs     []float64 `json:"runs_seconds"`
	// CPU time of this process in each run: steadier than wall time on a
	// busy machine (PostgreSQL's own CPU time is not in it).
	CPURuns  []float64 `json:"runs_cpu_seconds"`
	Requests int64     `json:"registry_requests"` // over every run
}

// seedStore is what seeding needs of a store.
type seedStore interface {
	SaveScan(ctx context.Context, sbom scanresult.SBOM, findings []scanresult.Finding, r inventory.ScanResult) error
}

// rematchRun is one store's re-match measurement.
type rematchRun struct {
	store    seedStore
	svc      *scanjob.Service
	sboms    []scanresult.SBOM // copied round robin under synthetic digests
	n        int
	runs     int
	profile  string // CPU profile of the first run
	requests *atomic.Int64
}

// measureRematch seeds r.n inventories and times a re-match of every
// stored inventory, r.runs times. Each run seeds again first: seeding
// stores the inventories without findings and with vul_num 0, as a fresh
// vulnerability import leaves them stale, so every run does the same
// writes (findings of every inventory, vul_num of the seeded ones).
func measureRematch(ctx context.Context, r rematchRun, name string, progress func(string, ...any)) (rematchResult, error) {
	res := rematchResult{Store: name}
	for i := range max(1, r.runs) {
		progress("%s: seeding %d inventories (run %d/%d)", name, r.n, i+1, r.runs)
		n, err := seedInventories(ctx, r.store, r.sboms, r.n)
		if err != nil {
			return res, err
		}
		res.Seeded = n
		before := r.requests.Load()
		progress("%s: re-match (run %d/%d)", name, i+1, r.runs)
		stop := func() {}
		if i == 0 {
			if stop, err = startCPUProfile(r.profile); err != nil {
				return res, err
			}
		}
		cpu := processCPU()
		rs, err := r.svc.Rematch(ctx)
		cpu = processCPU() - cpu
		stop()
		if err != nil {
			return res, err
		}
		res.Images, res.Findings = rs.Images, rs.Findings
		res.Runs = append(res.Runs, rs.Duration.Seconds())
		res.CPURuns = append(res.CPURuns, cpu.Seconds())
		res.Requests += r.requests.Load() - before
	}
	sorted := slices.Sorted(slices.Values(res.Runs))
	res.Seconds = sorted[len(sorted)/2]
	return res, nil
}

// seedInventories stores n copies of sboms (round robin) under synthetic
// digests, as scans that found them would, without findings.
func seedInventories(ctx context.Context, st seedStore, sboms []scanresult.SBOM, n int) (int, error) {
	now := inventory.Millis(time.Now())
	for i := range n {
		sb := sboms[i%len(sboms)]
		sb.Digest = fmt.Sprintf("sha256:%064x", i+1)
		if err := st.SaveScan(ctx, sb, nil, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: now}); err != nil {
			return i, err
		}
	}
	return n, nil
}

// rematchOnPostgres measures the re-match on a PostgreSQL store at dsn, in
// a new schema dropped afterwards: the same vulnerability data, the
// scanned images' inventories (without their findings) and n seeded
// copies, so that it re-matches as many inventories as the SQLite run.
func rematchOnPostgres(ctx context.Context, dsn string, scanned, seedFrom []scanresult.SBOM, vulnSources []string, o scanBenchOptions, dir string,
	box *secret.Box, requests *atomic.Int64, progress func(string, ...any)) (rematchResult, error) {
	schemaDSN, drop, err := postgres.NewSchema(ctx, dsn, "openhss_bench_")
	if err != nil {
		return rematchResult{}, fmt.Errorf("--postgres: %w", err)
	}
	defer drop(context.WithoutCancel(ctx))
	st, err := postgres.Open(ctx, schemaDSN)
	if err != nil {
		return rematchResult{}, err
	}
	defer st.Close()
	quiet := slog.New(slog.DiscardHandler)
	vdb, err := vulndb.New(vulndb.Options{Store: st, Logger: quiet, TempDir: dir})
	if err != nil {
		return rematchResult{}, err
	}
	for _, src := range vulnSources {
		progress("postgres: db import %s", src)
		if _, err := vdb.Import(ctx, src); err != nil {
			return rematchResult{}, err
		}
	}
	for _, sb := range scanned {
		if err := st.SaveScan(ctx, sb, nil, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt}); err != nil {
			return rematchResult{}, err
		}
	}
	sc, err := scanner.New(scanner.Options{ScratchDir: dir, Logger: quiet})
	if err != nil {
		return rematchResult{}, err
	}
	svc, err := scanjob.New(scanjob.Options{Store: st, Scanner: sc, Matcher: vdb, Box: box, Log: quiet})
	if err != nil {
		return rematchResult{}, err
	}
	return measureRematch(ctx, rematchRun{store: st, svc: svc, sboms: seedFrom, n: o.Inventories, runs: o.RematchRuns, requests: requests},
		"postgres", progress)
}

// startCPUProfile profiles this process into path until the returned
// function is called; no-op when path is empty.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// measureRematches re-matches stored inventories: the real SBOMs of the
// full scans (the debootstrap and Go images), copied under synthetic
// digests, on SQLite and, with --postgres, on PostgreSQL.
func (b *scanBench) measureRematches(ctx context.Context, env *scanStore, svc *scanjob.Service, requests *atomic.Int64, in scanInputs, rep *scanReport) error {
	var scanned []scanresult.SBOM
	for _, im := range rep.Images {
		sb, err := env.st.GetSBOM(ctx, im.Digest)
		if err != nil {
			return fmt.Errorf("SBOM of %s: %w", im.Ref, err)
		}
		scanned = append(scanned, sb)
	}
	seedFrom := scanned[:min(2, len(scanned))] // the debootstrap and Go images
	var err error
	rep.Rematch, err = measureRematch(ctx, rematchRun{store: env.st, svc: svc, sboms: seedFrom, n: b.o.Inventories, runs: b.o.RematchRuns,
		profile: b.o.CPUProfile, requests: requests}, "sqlite", b.progress)
	if err != nil {
		return err
	}
	if b.o.Postgres != "" {
		pg, err := rematchOnPostgres(ctx, b.o.Postgres, scanned, seedFrom, []string{in.goVulns, in.debianData}, b.o, b.dir, env.box, requests, b.progress)
		if err != nil {
			return fmt.Errorf("re-match on PostgreSQL: %w", err)
		}
		rep.RematchPostgres = &pg
	}
	return nil
}
