package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
)

// load writes the rows of src into table: through Options.Copy when the
// engine has it, else in multi-row INSERTs. Either way a row conflicting with
// another or with a stored one is an error: callers drop duplicates first.
func (s *Store) load(ctx context.Context, tx *sql.Tx, conn *sql.Conn, table string, cols []string, src RowSource) error {
	if src.Len() == 0 {
		return nil
	}
	var err error
	if s.copy != nil {
		err = s.copy(ctx, conn, table, cols, src)
	} else {
		err = s.insertRows(ctx, tx, table, cols, src)
	}
	return s.wrap(err, "save "+table)
}

// insertRowsPer is how many rows one INSERT of insertRows writes. A
// statement per row made a re-match spend most of its time in the driver,
// once per row; 64 rows of a dozen columns stay far under SQLite's bound on
// arguments.
const insertRowsPer = 64

// insertRows writes src in INSERTs of insertRowsPer rows, the full-size
// one prepared once. A []string value is stored as StringsFromJSON does.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, src RowSource) error {
	n := src.Len()
	per := min(insertRowsPer, s.d.MaxRows(len(cols)))
	row := make([]any, len(cols))
	src.Row(0, row)
	sets := make([]bool, len(cols))
	for i, v := range row {
		_, sets[i] = v.([]string)
	}
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, per*len(cols))
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		args = args[:0]
		for i := lo; i < hi; i++ {
			src.Row(i, row)
			for c, v := range row {
				if sets[c] {
					b, err := json.Marshal(nonNil(v.([]string)))
					if err != nil {
						return err
					}
					v = string(b)
				}
				args = append(args, v)
			}
		}
		var err error
		if hi-lo < per {
			_, err = tx.ExecContext(ctx, s.insertSQL(table, cols, sets, hi-lo), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, s.insertSQL(table, cols, sets, per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// insertSQL is the INSERT of rows rows into table's cols. Its placeholders
// are the dialect's: SQLite binds a bare ? by position, where a $n is a
// named parameter whose name it looks up in a list, once per parameter, a
// cost that grows with the square of a long statement's parameters.
func (s *Store) insertSQL(table string, cols []string, sets []bool, rows int) string {
	var q strings.Builder
	q.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	n := 0
	for r := range rows {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for c := range cols {
			if c > 0 {
				q.WriteString(", ")
			}
			n++
			mark := s.d.Placeholder(n)
			if sets[c] {
				mark = s.d.StringsFromJSON(mark)
			}
			q.WriteString(mark)
		}
		q.WriteByte(')')
	}
	return q.String()
}

// nonNil is ss, or an empty set for nil: stored sets are never null.
func nonNil(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

// LoadImages bulk-loads n image rows, row i being image(i) (ID, the
// registry-derived fields and Associations ignored; first seen is the
// update time), in one transaction, and refreshes the planner's statistics.
// The benchmarks seed their inventories through it (internal/benchseed).
//
// A bulk load: the secondary indexes of images are dropped, the rows loaded
// (COPY on PostgreSQL, multi-row INSERTs on SQLite), the indexes rebuilt
// from their own definitions (one sort each is far cheaper than a million
// scattered b-tree inserts), all in one transaction, so no reader ever sees
// the table without them. The triggers run for the load as for any insert
// and bring the counters (image_repos, image_namespaces, images_num, the
// list generation) up to date.
func (s *Store) LoadImages(ctx context.Context, n int, image func(i int) inventory.Image) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return s.errf("load images: %w", err)
	}
	defer conn.Close()
	set, reset := s.d.bulkSettings()
	for _, q := range set {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return s.errf("load images: %s: %w", q, err)
		}
	}
	defer func() {
		for _, q := range reset {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), q)
		}
	}()
	err = s.connTxOn(ctx, conn, func(tx *sql.Tx) error {
		indexes, err := queryAll(ctx, tx, func(r rowScanner) (i [2]string, err error) { return i, r.Scan(&i[0], &i[1]) },
			s.d.imageIndexes())
		if err != nil {
			return s.errf("load images: indexes: %w", err)
		}
		for _, i := range indexes {
			if _, err := tx.ExecContext(ctx, `DROP INDEX "`+i[0]+`"`); err != nil {
				return s.errf("load images: drop %s: %w", i[0], err)
			}
		}
		if err := s.load(ctx, tx, conn, "images", loadColumns, imageSource{n, image}); err != nil {
			return err
		}
		for _, i := range indexes {
			if _, err := tx.ExecContext(ctx, i[1]); err != nil {
				return s.errf("load images: recreate %s: %w", i[0], err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = conn.ExecContext(ctx, s.d.analyzeImages())
	return s.wrap(err, "load images: analyze")
}

// loadColumns are the columns of an imageSource row.
var loadColumns = []string{"project_id", "enterprise_project_id", "registry_id", "image_type", "namespace", "name", "tag",
	"digest", "manifest_digest", "image_size", "first_seen", "latest_update_time", "latest_version", "scannable",
	"scan_status", "scan_failed_desc", "latest_scan_time", "vul_num", "unsafe_setting_num", "malicious_file_num",
	"severity_level"}

// imageSource is LoadImages' rows, a RowSource.
type imageSource struct {
	n     int
	image func(i int) inventory.Image
}

func (src imageSource) Len() int { return src.n }
func (src imageSource) Row(i int, dst []any) {
	m := src.image(i)
	dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6], dst[7], dst[8], dst[9] = m.ProjectID, m.EnterpriseProjectID,
		m.RegistryID, string(m.Type), m.Namespace, m.Name, m.Tag, m.Digest, m.ManifestDigest, m.Size
	dst[10], dst[11], dst[12], dst[13], dst[14], dst[15], dst[16], dst[17], dst[18], dst[19] = m.LatestUpdateTime,
		m.LatestUpdateTime, m.LatestVersion, m.Scannable, string(m.ScanStatus), m.ScanFailedDesc, m.LatestScanTime,
		m.VulNum, m.UnsafeSettingNum, m.MaliciousFileNum
	dst[20] = m.SeverityLevel
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
// the counters the load's triggers filled (image_repos, image_namespaces,
// image_counts, image_time_counts, image_scan_counts), which the list
// reads on every uncached call.
func (d Dialect) analyzeImages() string {
	if d == Postgres {
		return `VACUUM (ANALYZE) images, image_repos, image_namespaces, image_counts, image_time_counts, image_scan_counts`
	}
	return `PRAGMA analysis_limit = 1000; ANALYZE`
}
