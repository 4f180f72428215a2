package sqlstore

import (
	"context"
	"database/sql"
	"math/rand/v2"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/storebench"
)

// SeedBench bulk-loads the synthetic inventory storebench lays out for
// spec (spec.Rows private_image rows in new registry connections of
// spec.ProjectID) in one transaction, and refreshes the planner's
// statistics. It returns the (first) registry's id.
//
// A bulk load: the secondary indexes of images are dropped, the rows loaded
// (COPY on PostgreSQL, multi-row INSERTs on SQLite), the indexes rebuilt
// from their own definitions (one sort each is far cheaper than a million
// scattered b-tree inserts), all in one transaction, so no reader ever sees
// the table without them. The triggers run for the load as for any insert
// and bring the counters (image_repos, images_num, the list generation) up
// to date.
func (s *Store) SeedBench(ctx context.Context, spec storebench.Spec, rnd *rand.Rand) (int64, error) {
	inv, err := storebench.Setup(ctx, s, spec, rnd)
	if err != nil {
		return 0, s.errf("seed: %w", err)
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return 0, s.errf("seed: %w", err)
	}
	defer conn.Close()
	set, reset := s.d.bulkSettings()
	for _, q := range set {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return 0, s.errf("seed: %s: %w", q, err)
		}
	}
	defer func() {
		for _, q := range reset {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), q)
		}
	}()
	err = s.connTxOn(ctx, conn, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.d.imageIndexes())
		if err != nil {
			return s.errf("seed: indexes: %w", err)
		}
		indexes, err := collect(rows, func(r rowScanner) (i [2]string, err error) { return i, r.Scan(&i[0], &i[1]) })
		if err != nil {
			return s.errf("seed: indexes: %w", err)
		}
		for _, i := range indexes {
			if _, err := tx.ExecContext(ctx, `DROP INDEX "`+i[0]+`"`); err != nil {
				return s.errf("seed: drop %s: %w", i[0], err)
			}
		}
		src := benchRows{projectID: spec.ProjectID, rows: inv.Rows}
		for _, r := range inv.Registries {
			src.registryIDs = append(src.registryIDs, r.ID)
		}
		if err := s.load(ctx, tx, conn, "images", benchColumns, src); err != nil {
			return err
		}
		for _, i := range indexes {
			if _, err := tx.ExecContext(ctx, i[1]); err != nil {
				return s.errf("seed: recreate %s: %w", i[0], err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if _, err := conn.ExecContext(ctx, s.d.analyzeImages()); err != nil {
		return 0, s.errf("seed: analyze: %w", err)
	}
	return inv.Registries[0].ID, nil
}

// benchColumns are the columns of a benchRows row.
var benchColumns = []string{"project_id", "enterprise_project_id", "registry_id", "image_type", "namespace", "name", "tag",
	"digest", "manifest_digest", "image_size", "first_seen", "latest_update_time", "latest_version", "scannable",
	"scan_status", "scan_failed_desc", "latest_scan_time", "vul_num", "unsafe_setting_num", "malicious_file_num",
	"severity_level"}

// benchRows are storebench rows as images rows, a RowSource. The digest
// doubles as the manifest digest, the latest update time as first seen.
type benchRows struct {
	projectID   string
	registryIDs []int64 // by storebench.Row.Registry
	rows        []storebench.Row
}

func (b benchRows) Len() int { return len(b.rows) }
func (b benchRows) Row(i int, dst []any) {
	r := &b.rows[i]
	dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6], dst[7], dst[8], dst[9] = b.projectID, inventory.DefaultEnterpriseProject, b.registryIDs[r.Registry],
		string(inventory.PrivateImage), r.Namespace, r.Name, r.Tag, r.Digest, r.Digest, r.Size
	dst[10], dst[11], dst[12], dst[13], dst[14], dst[15], dst[16], dst[17], dst[18], dst[19] = r.LatestUpdateTime,
		r.LatestUpdateTime, r.Latest, true, string(r.Status), r.FailedDesc, r.ScanTime, int32(r.Vul), int32(r.Unsafe),
		int32(r.Malicious)
	dst[20] = r.Severity
}

// bulkSettings are the session settings of a bulk load's connection, set
// before its transaction and reset after it. SQLite: CREATE INDEX sorts
// with helper threads, and with temp files rather than temp_store MEMORY,
// where its sorter keeps every record in its own allocation and frees them
// one by one (measured: a third of the load's CPU in malloc, free and the
// allocator's madvise; sorting in large buffers and merging runs spilled to
// disk took 34 s of CPU instead of 48 s for 10^6 rows). PostgreSQL: memory
// for the index builds.
func (d Dialect) bulkSettings() (set, reset []string) {
	if d == Postgres {
		return []string{`SET maintenance_work_mem = '256MB'`}, []string{`RESET maintenance_work_mem`}
	}
	return []string{`PRAGMA threads = 4`, `PRAGMA temp_store = FILE`}, []string{`PRAGMA threads = 0`, `PRAGMA temp_store = MEMORY`}
}

// imageIndexes lists the secondary indexes of images: name and the
// statement creating it.
func (d Dialect) imageIndexes() string {
	if d == Postgres {
		return `SELECT indexname, indexdef FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename = 'images' AND indexname <> 'images_pkey' ORDER BY 1`
	}
	return `SELECT name, sql FROM sqlite_schema WHERE tbl_name = 'images' AND type = 'index' AND sql IS NOT NULL ORDER BY name`
}

// analyzeImages refreshes the planner's statistics after a bulk load, so
// that it weighs the list indexes on this data: sampled on SQLite
// (analysis_limit), as PRAGMA optimize does; with a visibility map on
// PostgreSQL, so that the list's id walks are index-only scans, and for
// the counters the load's triggers filled (image_repos, image_counts),
// which the list reads on every uncached call.
func (d Dialect) analyzeImages() string {
	if d == Postgres {
		return `VACUUM (ANALYZE) images, image_repos, image_counts`
	}
	return `PRAGMA analysis_limit = 1000; ANALYZE`
}
