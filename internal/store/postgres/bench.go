package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/storebench"
)

// SeedBench bulk-inserts the synthetic inventory storebench.Setup lays
// out for spec (spec.Rows private_image rows in one new registry connection
// of spec.ProjectID) in one transaction (COPY, with the secondary indexes of
// images rebuilt after it), and runs VACUUM ANALYZE. It returns the
// registry's id.
func SeedBench(ctx context.Context, s *Store, spec storebench.Spec, rnd *rand.Rand) (int64, error) {
	inv, err := storebench.Setup(ctx, s, spec, rnd)
	if err != nil {
		return 0, fmt.Errorf("postgres: seed: %w", err)
	}
	reg, rows := inv.Registry, inv.Rows
	// A bulk load: the secondary indexes of images are dropped, the rows
	// copied in, the indexes rebuilt from their own definitions (one sort
	// each instead of a million scattered inserts), in one transaction so
	// no reader sees the table without them. The statement triggers run for
	// the COPY as for any insert and bring the counters up to date.
	err = pgx.BeginFunc(ctx, s.pool.p, func(tx pgx.Tx) error {
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
				return []any{spec.ProjectID, "0", reg.ID, string(inventory.PrivateImage), r.Namespace, r.Name, r.Tag, r.Digest, r.Digest,
					r.Size, r.LatestUpdateTime, r.LatestUpdateTime, r.Latest, true, string(r.Status), r.FailedDesc, r.ScanTime,
					int32(r.Vul), int32(r.Unsafe), int32(r.Malicious)}, nil
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
	if _, err := s.pool.p.Exec(ctx, `VACUUM (ANALYZE) images`); err != nil {
		return 0, fmt.Errorf("postgres: vacuum: %w", err)
	}
	return reg.ID, nil
}
