package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

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
// registry connection of spec.ProjectID, in one transaction (a bulk load:
// see below), and runs ANALYZE. Namespaces are "ns-NN", repositories "app-NNNNN", tags
// "v<n>"; times spread over a year, with a realistic mix of scan statuses
// (most scanned, a third of those with vulnerabilities) and exactly one
// latest_version row per repository. It returns the registry's id.
func SeedBench(ctx context.Context, s *Store, spec BenchSpec, rnd *rand.Rand) (int64, error) {
	if spec.Namespaces <= 0 || spec.Repos < spec.Namespaces || spec.Rows < spec.Repos {
		return 0, fmt.Errorf("sqlite: seed: need rows >= repos >= namespaces > 0")
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
	// Rows go in in repository order, each repository's tags by time: the
	// index builds below then sort nearly sorted input, and images_repo
	// (the widest key) none at all. Measured: a third less CPU than time
	// order, half of random order.
	slices.SortFunc(rows, func(a, b benchRow) int {
		return cmp.Or(cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name), cmp.Compare(a.lut, b.lut))
	})
	// A bulk load: the indexes and triggers of images are dropped, the rows
	// inserted, the indexes rebuilt from their own DDL (sorting once is far
	// cheaper than a million scattered b-tree inserts) and what the
	// triggers maintain (image_repos, images_gen) brought up to date, all in
	// one transaction, so no reader ever sees the table without them.
	//
	// Settings for the load on the write pool's one connection, put back
	// afterwards. CREATE INDEX sorts with helper threads. With temp_store
	// MEMORY, SQLite's sorter keeps every record in its own allocation and
	// frees them one by one (measured: a third of the load's CPU in malloc,
	// free and the allocator's madvise); with temp files it sorts in large
	// buffers and merges runs spilled to disk (seeding 10^6 rows: 48 s of
	// CPU before, 34 s after).
	if err := execAll(ctx, s.write, `PRAGMA threads = 4`, `PRAGMA temp_store = FILE`); err != nil {
		return 0, fmt.Errorf("sqlite: seed: %w", err)
	}
	defer execAll(context.WithoutCancel(ctx), s.write, `PRAGMA threads = 0`, `PRAGMA temp_store = MEMORY`)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		type ddl struct{ typ, name, sql string }
		var saved []ddl
		rs, err := tx.QueryContext(ctx, `SELECT type, name, sql FROM sqlite_schema
			WHERE tbl_name = 'images' AND type IN ('index', 'trigger') AND sql IS NOT NULL
			ORDER BY type = 'trigger', name`)
		if err != nil {
			return err
		}
		for rs.Next() {
			var d ddl
			if err := rs.Scan(&d.typ, &d.name, &d.sql); err != nil {
				rs.Close()
				return err
			}
			saved = append(saved, d)
		}
		if err := rs.Close(); err != nil {
			return err
		}
		for _, d := range saved {
			if _, err := tx.ExecContext(ctx, `DROP `+strings.ToUpper(d.typ)+` "`+d.name+`"`); err != nil {
				return fmt.Errorf("sqlite: seed: drop %s: %w", d.name, err)
			}
		}
		// Many rows per statement: the per-call cost of database/sql and the
		// driver, not SQLite, dominates single-row inserts.
		const batch = 64
		insert := func(n int) (*sql.Stmt, error) {
			values := strings.TrimSuffix(strings.Repeat(`(?, '0', ?, 'private_image', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?), `, n), ", ")
			// OR FAIL: no statement journal per INSERT; a failure rolls
			// the whole load back anyway.
			return tx.PrepareContext(ctx, `INSERT OR FAIL INTO images (project_id, enterprise_project_id, registry_id, image_type,
				namespace, name, tag, digest, manifest_digest, image_size, first_seen, latest_update_time, latest_version, scannable,
				scan_status, scan_failed_desc, latest_scan_time, vul_num, unsafe_setting_num, malicious_file_num) VALUES `+values)
		}
		full, err := insert(batch)
		if err != nil {
			return err
		}
		defer full.Close()
		args := make([]any, 0, batch*17)
		for start := 0; start < len(rows); start += batch {
			chunk := rows[start:min(start+batch, len(rows))]
			args = args[:0]
			for _, r := range chunk {
				args = append(args, spec.ProjectID, reg.ID, r.ns, r.name, r.tag, r.digest, r.digest,
					r.size, r.lut, r.lut, b2i(r.latest), r.status, r.failedDesc, r.scanTime, r.vul, r.unsafe, r.mal)
			}
			stmt := full
			if len(chunk) < batch {
				if stmt, err = insert(len(chunk)); err != nil {
					return err
				}
				defer stmt.Close()
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("sqlite: seed rows %d..: %w", start, err)
			}
		}
		for _, d := range saved {
			if _, err := tx.ExecContext(ctx, d.sql); err != nil {
				return fmt.Errorf("sqlite: seed: recreate %s: %w", d.name, err)
			}
		}
		// What the insert trigger would have counted, from the rows in
		// hand: reading them back through images_tag costs a table lookup
		// per row for the enterprise project and type.
		repos, err := tx.PrepareContext(ctx, `INSERT INTO image_repos (project_id, image_type, namespace, name, enterprise_project_id, rows)
			VALUES (?, 'private_image', ?, ?, '0', ?)
			ON CONFLICT (project_id, image_type, namespace, name, enterprise_project_id) DO UPDATE SET rows = rows + excluded.rows`)
		if err != nil {
			return fmt.Errorf("sqlite: seed: image_repos: %w", err)
		}
		defer repos.Close()
		for start := 0; start < len(rows); {
			end := start + 1
			for end < len(rows) && rows[end].ns == rows[start].ns && rows[end].name == rows[start].name {
				end++
			}
			if _, err := repos.ExecContext(ctx, spec.ProjectID, rows[start].ns, rows[start].name, end-start); err != nil {
				return fmt.Errorf("sqlite: seed: image_repos: %w", err)
			}
			start = end
		}
		_, err = tx.ExecContext(ctx, `UPDATE registries SET images_num = images_num + ? WHERE id = ?`, len(rows), reg.ID)
		if err != nil {
			return fmt.Errorf("sqlite: seed: images_num: %w", err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE images_gen SET gen = gen + 1 WHERE one = 1`)
		return err
	})
	if err != nil {
		return 0, err
	}
	// Fresh statistics let the planner weigh the list indexes on this data;
	// sampled (analysis_limit), as PRAGMA optimize does, not a full scan.
	if _, err := s.write.ExecContext(ctx, `PRAGMA analysis_limit = 1000; ANALYZE`); err != nil {
		return 0, fmt.Errorf("sqlite: analyze: %w", err)
	}
	return reg.ID, nil
}

func execAll(ctx context.Context, db *sql.DB, stmts ...string) error {
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
