package scanjob

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanresult"
)

// RematchStats counts what a re-match did.
type RematchStats struct {
	Images   int // stored inventories matched
	Findings int // findings stored in total
	Duration time.Duration
}

// rematchBatchFindings bounds the findings one re-match batch holds, so
// that images with thousands of findings each do not make a batch of
// RematchBatch of them large in memory.
const rematchBatchFindings = 50_000

// Rematch matches every stored inventory against the current
// vulnerability database and replaces its findings and vul_num. It reads
// only the store: no registry or image file is touched.
func (s *Service) Rematch(ctx context.Context) (RematchStats, error) {
	start := s.o.Now()
	var st RematchStats
	// Read the import mark first: an import finishing while this runs is
	// newer than the mark and triggers another re-match.
	mark, err := s.lastImport(ctx)
	if err != nil {
		return st, err
	}
	digests, err := s.rematch.SBOMDigests(ctx)
	if err != nil {
		return st, fmt.Errorf("scanjob: rematch: %w", err)
	}
	// Writing many inventories per transaction is what makes a re-match
	// fast: one transaction per inventory spent more time committing and
	// going through the driver than matching. Each batch is atomic, so an
	// interrupted re-match leaves every image matched either again or as
	// before, and the import mark, written last, makes the next one redo
	// it all. (Reading the next batch while writing the last, on a second
	// goroutine, measured no faster on SQLite or PostgreSQL: the writes
	// are most of the time.)
	err = s.matchBatches(ctx, digests, func(b []scanresult.FindingsUpdate) error {
		if err := s.rematch.ReplaceFindings(ctx, b); err != nil {
			return fmt.Errorf("scanjob: rematch %s…%s: %w", b[0].Digest, b[len(b)-1].Digest, err)
		}
		st.Images += len(b)
		for _, u := range b {
			st.Findings += len(u.Findings)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	if err := s.rematch.SetScanMeta(ctx, metaRematched, mark); err != nil {
		return st, fmt.Errorf("scanjob: rematch: %w", err)
	}
	st.Duration = s.o.Now().Sub(start)
	s.o.Log.Info("re-matched stored inventories", "images", st.Images, "findings", st.Findings, "duration", st.Duration)
	return st, nil
}

// matchBatches reads and matches the inventories of digests and hands
// their updates to write in batches of at most RematchBatch inventories
// and about rematchBatchFindings findings.
func (s *Service) matchBatches(ctx context.Context, digests []string, write func([]scanresult.FindingsUpdate) error) error {
	memo := matchMemo{}
	var (
		batch    []scanresult.FindingsUpdate
		findings int
	)
	send := func() error {
		if err := write(batch); err != nil {
			return err
		}
		batch, findings = batch[:0], 0
		return nil
	}
	for _, d := range digests {
		if err := ctx.Err(); err != nil {
			return err
		}
		sb, err := s.rematch.GetSBOM(ctx, d)
		if errors.Is(err, inventory.ErrNotFound) {
			continue // its scan failed since the listing: nothing to match
		}
		if err != nil {
			return fmt.Errorf("scanjob: rematch %s: %w", d, err)
		}
		fs, err := s.matchMemo(ctx, memo, sb.Packages)
		if err != nil {
			return fmt.Errorf("scanjob: rematch %s: %w", d, err)
		}
		batch = append(batch, scanresult.FindingsUpdate{Digest: d, Findings: fs, VulNum: scanresult.DistinctVulns(fs)})
		findings += len(fs)
		if len(batch) >= s.o.RematchBatch || findings >= rematchBatchFindings {
			if err := send(); err != nil {
				return err
			}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return send()
}

func (s *Service) lastImport(ctx context.Context) (int64, error) {
	vs, err := s.rematch.VulnStatus(ctx)
	if err != nil {
		return 0, fmt.Errorf("scanjob: vulnerability database status: %w", err)
	}
	if vs.LastImport == nil {
		return 0, nil
	}
	return vs.LastImport.Finished.UnixMilli(), nil
}

// RematchIfStale queues a "rematch" job when the vulnerability database
// had an import since the stored findings were last matched (another
// process imported, or a re-match was interrupted).
func (s *Service) RematchIfStale(ctx context.Context) (bool, error) {
	last, err := s.lastImport(ctx)
	if err != nil {
		return false, err
	}
	done, err := s.rematch.ScanMeta(ctx, metaRematched)
	if err != nil {
		return false, err
	}
	if last <= done {
		return false, nil
	}
	now := inventory.Millis(s.o.Now())
	if _, _, err := s.rematch.Enqueue(ctx, jobs.Job{Kind: RematchKind, Key: "all", State: jobs.Queued, CreatedAt: now, UpdatedAt: now}); err != nil {
		return false, fmt.Errorf("scanjob: queue rematch: %w", err)
	}
	if s.o.Wake != nil {
		s.o.Wake()
	}
	return true, nil
}

// HandleRematch runs a "rematch" job.
func (s *Service) HandleRematch(ctx context.Context, j jobs.Job) error {
	if j.Kind != RematchKind {
		return fmt.Errorf("scanjob: job %d has kind %q, not %q", j.ID, j.Kind, RematchKind)
	}
	_, err := s.Rematch(ctx)
	return err
}

// Sweep fails the scans shown as waiting or scanning whose job is gone
// (the runner gave up on it after its workers kept dying), so that no row
// stays "scanning" forever: on the rows of the project that asked, only.
// It returns how many (project, digest) requests it failed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	orphans, err := s.sweep.OrphanedScans(ctx, JobKind)
	if err != nil {
		return 0, fmt.Errorf("scanjob: sweep: %w", err)
	}
	for _, o := range orphans {
		r := inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: scanner.DescUnknown, ScanTime: inventory.Millis(s.o.Now())}
		if err := s.sweep.ClearScan(ctx, o.ProjectID, o.Digest, r); err != nil {
			return 0, fmt.Errorf("scanjob: sweep %s of %s: %w", o.Digest, o.ProjectID, err)
		}
		// The tasks waiting for it end too: no job will mark them.
		if err := s.finishTasks(ctx, o.ProjectID, o.Digest, r, 0); err != nil {
			return 0, fmt.Errorf("scanjob: sweep %s of %s: %w", o.Digest, o.ProjectID, err)
		}
		s.o.Log.Warn("scan without a job marked failed", "project", o.ProjectID, "digest", o.Digest)
	}
	return len(orphans), nil
}

// Maintain sweeps orphaned scans and queues a re-match when one is due,
// now and then every interval, until ctx ends: the serve loop's upkeep.
func (s *Service) Maintain(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.o.Log.Error("scan sweep", "err", err)
		}
		if _, err := s.RematchIfStale(ctx); err != nil && ctx.Err() == nil {
			s.o.Log.Error("rematch check", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pkgKey is what a match of one package depends on: the platform too, as
// a Go module's findings differ between a linux and a windows binary.
type pkgKey struct{ ecosystem, name, version, sourceName, sourceVersion, platform string }

func keyOf(p scanresult.Package) pkgKey {
	return pkgKey{p.Ecosystem, p.Name, p.Version, p.SourceName, p.SourceVersion, p.Platform}
}

// matchMemo holds, for one re-match run, the findings of every package
// already matched. Images share most of their software (base layers, common
// libraries), so each distinct package is matched once per run instead of
// once per image. It is only valid while the vulnerability data does not
// change: an import during the run makes the next re-match start afresh.
type matchMemo map[pkgKey][]scanresult.Finding

// matchMemo matches pkgs, asking the database only about packages the memo
// has not seen, and returns findings in package order.
func (s *Service) matchMemo(ctx context.Context, memo matchMemo, pkgs []scanresult.Package) ([]scanresult.Finding, error) {
	var todo []scanresult.Package
	seen := map[pkgKey]bool{}
	for _, p := range pkgs {
		k := keyOf(p)
		if _, ok := memo[k]; !ok && !seen[k] {
			seen[k] = true
			todo = append(todo, p)
		}
	}
	if len(todo) > 0 {
		fs, err := s.matcher.Match(ctx, todo)
		if err != nil {
			return nil, err
		}
		for _, p := range todo {
			memo[keyOf(p)] = nil // matched, maybe with no findings
		}
		for _, f := range fs {
			k := keyOf(todo[f.Package])
			memo[k] = append(memo[k], f)
		}
	}
	var out []scanresult.Finding
	for i, p := range pkgs {
		for _, f := range memo[keyOf(p)] {
			f.Package = i
			out = append(out, f)
		}
	}
	return out, nil
}
