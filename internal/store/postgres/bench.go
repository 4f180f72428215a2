package postgres

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
)

// BenchSpec describes a synthetic inventory for benchmarks.
type BenchSpec struct {
	ProjectID  string
	Rows       int // image rows (tags)
	Namespaces int
	Repos      int // repositories, spread evenly over the namespaces
}

// SeedBench bulk-inserts spec.Rows synthetic private_image rows into one new
// registry connection of spec.ProjectID, in one transaction (COPY, with the
// secondary indexes of images rebuilt after it), and runs VACUUM ANALYZE. Namespaces are "ns-NN", repositories "app-NNNNN", tags
// "v<n>"; times spread over a year, with a realistic mix of scan statuses
// (most scanned, a third of those with vulnerabilities) and exactly one
// latest_version row per repository. It returns the registry's id.
func SeedBench(ctx context.Context, s *Store, spec BenchSpec, rnd *rand.Rand) (int64, error) {
	if spec.Namespaces <= 0 || spec.Repos < spec.Namespaces || spec.Rows < spec.Repos {
		return 0, fmt.Errorf("postgres: seed: need rows >= repos >= namespaces > 0")
	}
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: spec.ProjectID, Name: spec.ProjectID}); err != nil {
		return 0, err
	}
	reg, err := s.CreateRegistry(ctx, inventory.Registry{
		ProjectID: spec.ProjectID, Name: "bench", Type: inventory.Harbor, Protocol: "https",
		Addr: fmt.Sprintf("bench-%d.example", rnd.Int64()), Status: inventory.RegistryOK,
	})
	if err != nil {
		return 0, err
	}
	const year = int64(365 * 24 * 3600 * 1000)
	base := int64(1_700_000_000_000)
	statuses := []struct {
		s      inventory.ScanStatus
		weight int
	}{
		{inventory.ScanSuccess, 70}, {inventory.Unscan, 15}, {inventory.ScanFailed, 5},
		{inventory.WaitingForScan, 4}, {inventory.Scanning, 2}, {inventory.DownloadFailed, 2}, {inventory.ImageOversized, 2},
	}
	pickStatus := func() inventory.ScanStatus {
		n := rnd.IntN(100)
		for _, st := range statuses {
			if n < st.weight {
				return st.s
			}
			n -= st.weight
		}
		return inventory.ScanSuccess
	}
	type benchRow struct {
		ns, name, tag, digest, status, failedDesc string
		size, lut, scanTime                       int64
		latest                                    bool
		vul, unsafe, mal                          int
	}
	rows := make([]benchRow, 0, spec.Rows)
	luts := make([]int64, 0, spec.Rows/spec.Repos+1)
	for r := range spec.Repos {
		ns := fmt.Sprintf("ns-%02d", r%spec.Namespaces)
		name := fmt.Sprintf("app-%05d", r)
		tags := spec.Rows / spec.Repos
		if r < spec.Rows%spec.Repos {
			tags++
		}
		luts = luts[:0]
		latest := 0
		for t := range tags {
			lut := base + rnd.Int64N(year)
			luts = append(luts, lut)
			if lut > luts[latest] || (lut == luts[latest] && fmt.Sprint(t) > fmt.Sprint(latest)) {
				latest = t
			}
		}
		for t, lut := range luts {
			row := benchRow{ns: ns, name: name, tag: fmt.Sprintf("v%d", t), lut: lut, latest: t == latest,
				size: 1_000_000 + rnd.Int64N(500_000_000)}
			st := pickStatus()
			row.status = string(st)
			switch st {
			case inventory.ScanSuccess:
				row.scanTime = lut + rnd.Int64N(7*24*3600*1000)
				if rnd.IntN(3) == 0 {
					row.vul = 1 + rnd.IntN(200)
				}
				if rnd.IntN(5) == 0 {
					row.unsafe = 1 + rnd.IntN(10)
				}
				if rnd.IntN(50) == 0 {
					row.mal = 1 + rnd.IntN(3)
				}
			case inventory.ScanFailed:
				row.scanTime = lut + rnd.Int64N(7*24*3600*1000)
				row.failedDesc = "unknown_error"
			}
			row.digest = fmt.Sprintf("sha256:%016x%016x%016x%016x", rnd.Uint64(), rnd.Uint64(), rnd.Uint64(), rnd.Uint64())
			rows = append(rows, row)
		}
	}
	slices.SortFunc(rows, func(a, b benchRow) int {
		return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name), cmp.Compare(a.lut, b.lut))
	})
	// A bulk load: the secondary indexes of images are dropped, the rows
	// copied in, the indexes rebuilt from their own definitions (one sort
	// each instead of a million scattered inserts), in one transaction so
	// no reader sees the table without them. The statement triggers run for
	// the COPY as for any insert and bring the counters up to date.
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
			return err
		}
		defs, err := tx.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename = 'images' AND indexname <> 'images_pkey' ORDER BY 1`)
		if err != nil {
			return err
		}
		type index struct{ name, def string }
		saved, err := pgx.CollectRows(defs, func(r pgx.CollectableRow) (index, error) {
			var i index
			return i, r.Scan(&i.name, &i.def)
		})
		if err != nil {
			return err
		}
		for _, i := range saved {
			if _, err := tx.Exec(ctx, `DROP INDEX `+pgx.Identifier{i.name}.Sanitize()); err != nil {
				return fmt.Errorf("postgres: seed: drop %s: %w", i.name, err)
			}
		}
		n := 0
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"images"}, []string{"project_id", "enterprise_project_id", "registry_id",
			"image_type", "namespace", "name", "tag", "digest", "manifest_digest", "image_size", "first_seen",
			"latest_update_time", "latest_version", "scannable", "scan_status", "scan_failed_desc", "latest_scan_time",
			"vul_num", "unsafe_setting_num", "malicious_file_num"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if n == len(rows) {
					return nil, nil
				}
				r := rows[n]
				n++
				return []any{spec.ProjectID, "0", reg.ID, string(inventory.PrivateImage), r.ns, r.name, r.tag, r.digest, r.digest,
					r.size, r.lut, r.lut, r.latest, true, r.status, r.failedDesc, r.scanTime,
					int32(r.vul), int32(r.unsafe), int32(r.mal)}, nil
			}))
		if err != nil {
			return fmt.Errorf("postgres: seed: copy: %w", err)
		}
		for _, i := range saved {
			if _, err := tx.Exec(ctx, i.def); err != nil {
				return fmt.Errorf("postgres: seed: recreate %s: %w", i.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Statistics for the planner, and a visibility map so that the list's
	// id walks are index-only scans.
	if _, err := s.pool.Exec(ctx, `VACUUM (ANALYZE) images`); err != nil {
		return 0, fmt.Errorf("postgres: vacuum: %w", err)
	}
	return reg.ID, nil
}
