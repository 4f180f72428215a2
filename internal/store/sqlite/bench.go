package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/openhss/openhss/internal/store/storebench"
)

// SeedBench bulk-inserts the synthetic inventory storebench.Setup lays
// out for spec (spec.Rows private_image rows in one new registry connection
// of spec.ProjectID) in one transaction (a bulk load: see below), and runs
// ANALYZE. It returns the registry's id.
func SeedBench(ctx context.Context, s *Store, spec storebench.Spec, rnd *rand.Rand) (int64, error) {
	inv, err := storebench.Setup(ctx, s, spec, rnd)
	if err != nil {
		return 0, fmt.Errorf("sqlite: seed: %w", err)
	}
	reg, rows := inv.Registry, inv.Rows
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
	err = inTx(ctx, s.write, func(tx *sql.Tx) error {
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
				args = append(args, spec.ProjectID, reg.ID, r.Namespace, r.Name, r.Tag, r.Digest, r.Digest,
					r.Size, r.LatestUpdateTime, r.LatestUpdateTime, b2i(r.Latest), string(r.Status), r.FailedDesc, r.ScanTime,
					r.Vul, r.Unsafe, r.Malicious)
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
			for end < len(rows) && rows[end].Namespace == rows[start].Namespace && rows[end].Name == rows[start].Name {
				end++
			}
			if _, err := repos.ExecContext(ctx, spec.ProjectID, rows[start].Namespace, rows[start].Name, end-start); err != nil {
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

// inTx runs fn in one transaction of db (BEGIN IMMEDIATE on the write
// pool).
func inTx(ctx context.Context, db *sql.DB, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
