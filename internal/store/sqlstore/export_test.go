package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// TokenCacheTTL is tokenCacheTTL, for the tests of package sqlstore_test.
const TokenCacheTTL = tokenCacheTTL

// SetTokenClock sets the clock of s's token cache.
func SetTokenClock(s *Store, now func() time.Time) { s.tokens.now = now }

// LiveJobQuery is the query Enqueue reads a kind and key's live job with.
func LiveJobQuery(d Dialect) string { return d.liveJob() }

// ImageIndexes lists the names of the secondary indexes of images.
func ImageIndexes(ctx context.Context, s *Store) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, s.d.imageIndexes())
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (name string, err error) {
		var def string
		return name, r.Scan(&name, &def)
	})
}

// ImageCountKeys returns the rows of images per image_counts key, counted
// two ways: by a GROUP BY over images, and by summing image_counts (keys
// at 0 left out of both).
func ImageCountKeys(ctx context.Context, s *Store) (fromImages, fromCounts map[string]int64, err error) {
	return countKeys(ctx, s, "", "image_counts")
}

// ImageNamespaceKeys returns the rows of images per image_namespaces key
// (project, type, namespace, enterprise project), counted by a GROUP BY
// over images and by summing image_namespaces (over connections, on
// PostgreSQL); an image_namespaces row left at 0 or below is an error.
func ImageNamespaceKeys(ctx context.Context, s *Store) (fromImages, fromCounts map[string]int64, err error) {
	var left int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM image_namespaces WHERE rows <= 0`).Scan(&left); err != nil || left > 0 {
		return nil, nil, fmt.Errorf("image_namespaces: %d rows at 0 or below (%v)", left, err)
	}
	read := func(q string) (map[string]int64, error) { return queryMap(ctx, s, q) }
	if fromImages, err = read(`SELECT project_id, image_type, namespace, enterprise_project_id, count(*)
		FROM images GROUP BY 1, 2, 3, 4`); err != nil {
		return nil, nil, err
	}
	fromCounts, err = read(`SELECT project_id, image_type, namespace, enterprise_project_id, CAST(sum(rows) AS BIGINT)
		FROM image_namespaces GROUP BY 1, 2, 3, 4`)
	return fromImages, fromCounts, err
}

// CountImages counts the rows of images matching f with the list's own
// WHERE (ListPlan), never from image_counts or image_repos.
func CountImages(ctx context.Context, s *Store, f inventory.Filter) (int64, error) {
	where, args, err := ListPlan(ctx, s, f)
	if err != nil || where == "" {
		return 0, err
	}
	var n int64
	err = s.read.QueryRowContext(ctx, `SELECT count(*) FROM images i WHERE `+where, args...).Scan(&n)
	return n, err
}

// CompactChanges folds projectID's generation and count deltas
// (PostgreSQL), as a list does past MaxChangeRows.
func CompactChanges(ctx context.Context, s *Store, projectID string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return compactChanges(ctx, tx, projectID) })
}

// ImageTimeCountKeys is ImageCountKeys per day (image_time_counts' key,
// see the 00970 migrations): a GROUP BY over images against the sums of
// image_time_counts (keys at 0 left out of both).
func ImageTimeCountKeys(ctx context.Context, s *Store) (fromImages, fromCounts map[string]int64, err error) {
	return countKeys(ctx, s, "latest_update_time / 86400000", "image_time_counts")
}

// ImageScanCountKeys is ImageTimeCountKeys for image_scan_counts (see the
// 00980 migrations): per day of latest_scan_time, never scanned at -1.
func ImageScanCountKeys(ctx context.Context, s *Store) (fromImages, fromCounts map[string]int64, err error) {
	return countKeys(ctx, s, "CASE WHEN latest_scan_time > 0 THEN latest_scan_time / 86400000 ELSE -1 END",
		"image_scan_counts")
}

// countKeys counts the rows of images per key of the counter table, by a
// GROUP BY over images and by summing the table; bucket, when not "", is
// the expression over images of the table's bucket column.
func countKeys(ctx context.Context, s *Store, bucket, table string) (fromImages, fromCounts map[string]int64, err error) {
	read := func(q string) (map[string]int64, error) { return queryMap(ctx, s, q) }
	imgBucket, tableBucket, groups := "", "", "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
	if bucket != "" {
		imgBucket, tableBucket, groups = bucket+", ", "bucket, ", groups+", 12"
	}
	flag := func(e string) string { return `CASE WHEN ` + e + ` THEN 1 ELSE 0 END` }
	if fromImages, err = read(`SELECT project_id, ` + imgBucket + `image_type, enterprise_project_id, registry_id, scan_status, ` +
		flag("vul_num > 0") + `, ` + flag("unsafe_setting_num > 0") + `, ` + flag("malicious_file_num > 0") + `, ` +
		flag(s.d.IsTrue("latest_version")) + `, ` + flag(s.d.IsTrue("is_index")) + `, severity_level, count(*)
		FROM images GROUP BY ` + groups); err != nil {
		return nil, nil, err
	}
	fromCounts, err = read(`SELECT project_id, ` + tableBucket + `image_type, enterprise_project_id, registry_id, scan_status, ` +
		flag(s.d.IsTrue("vul")) + `, ` + flag(s.d.IsTrue("unsafe")) + `, ` + flag(s.d.IsTrue("malicious")) + `, ` +
		flag(s.d.IsTrue("latest_version")) + `, ` + flag(s.d.IsTrue("is_index")) + `, severity_level, CAST(sum(rows) AS BIGINT)
		FROM ` + table + ` GROUP BY ` + groups)
	return fromImages, fromCounts, err
}

// ShiftUpdateTimes adds delta ms to the latest_update_time of every
// seventh row of projectID (what pushing those tags again does), so that
// rows move between days.
func ShiftUpdateTimes(ctx context.Context, s *Store, projectID string, delta int64) error {
	b := newBuilder(s.d)
	q := `UPDATE images SET latest_update_time = latest_update_time + ` + b.Arg(delta) +
		` WHERE project_id = ` + b.Arg(projectID) + ` AND id % 7 = 0`
	_, err := s.write.ExecContext(ctx, q, b.Args()...)
	return err
}

// ShiftScanTimes moves the latest_scan_time of rows of projectID between
// days of scan: every seventh scanned row by delta ms, and every eleventh
// row to 0 (never scanned), 1 or 2 (scanned in the first ms of day 0:
// beside the never-scanned rows in the ascending order).
func ShiftScanTimes(ctx context.Context, s *Store, projectID string, delta int64) error {
	b := newBuilder(s.d)
	q := `UPDATE images SET latest_scan_time = CASE WHEN id % 11 = 0 THEN id % 3
			WHEN latest_scan_time > 0 THEN latest_scan_time + ` + b.Arg(delta) + ` ELSE 0 END
		WHERE project_id = ` + b.Arg(projectID) + ` AND (id % 7 = 0 OR id % 11 = 0)`
	_, err := s.write.ExecContext(ctx, q, b.Args()...)
	return err
}

// PageIDs is the ids of f's page read the plain way: f's WHERE (ListPlan),
// ORDER BY the list order, LIMIT and OFFSET over images.
func PageIDs(ctx context.Context, s *Store, f inventory.Filter) ([]int64, error) {
	where, args, err := ListPlan(ctx, s, f)
	if err != nil || where == "" {
		return nil, err
	}
	b := builder{d: s.d, args: args}
	q := `SELECT i.id FROM images i WHERE ` + where + ` ORDER BY ` + Order(f) + ` LIMIT ` + b.Arg(f.Limit) +
		` OFFSET ` + b.Arg(f.Offset)
	rows, err := s.read.QueryContext(ctx, q, b.Args()...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (id int64, err error) { return id, r.Scan(&id) })
}

// ListPlan is the WHERE clause over images aliased i, and its arguments,
// that f becomes at the current generation: what a test of the query plans
// of the list needs (EXPLAIN of its count and page).
func ListPlan(ctx context.Context, s *Store, f inventory.Filter) (where string, args []any, err error) {
	tx, err := s.snapshot(ctx)
	if err != nil {
		return "", nil, s.errf("list plan: %w", err)
	}
	defer tx.Rollback()
	p, err := s.plan(ctx, tx, f)
	return p.where, p.args, err
}

// TopImagesPlan returns the queries TopImages would run for the project's
// rows in enterpriseProjects at the current generation, were every rank
// read, with their arguments: what a test of their query plans needs.
func TopImagesPlan(ctx context.Context, s *Store, projectID string, enterpriseProjects []string, n int) (queries []string, args [][]any, err error) {
	tx, err := s.snapshot(ctx)
	if err != nil {
		return nil, nil, s.errf("top images plan: %w", err)
	}
	defer tx.Rollback()
	ranks, err := s.topRanks(ctx, tx, projectID, enterpriseProjects)
	if err != nil {
		return nil, nil, s.errf("top images plan: %w", err)
	}
	for _, rank := range ranks {
		for _, g := range rank {
			q, a := s.topQuery(projectID, g, n)
			queries, args = append(queries, q), append(args, a)
		}
	}
	return queries, args, nil
}

// queryMap reads q's rows, key columns then a count, into a map from the
// keys (printed) to their counts, leaving out counts of 0.
func queryMap(ctx context.Context, s *Store, q string) (map[string]int64, error) {
	rows, err := s.read.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for rows.Next() {
		k := make([]any, len(cols)-1)
		var n int64
		ptrs := make([]any, 0, len(cols))
		for i := range k {
			ptrs = append(ptrs, &k[i])
		}
		if err := rows.Scan(append(ptrs, &n)...); err != nil {
			return nil, err
		}
		if n != 0 {
			m[fmt.Sprint(k)] = n
		}
	}
	return m, rows.Err()
}

// SignInFailureRows counts the rows of sign_in_failures.
func SignInFailureRows(ctx context.Context, s *Store) (n int64, err error) {
	return n, s.read.QueryRowContext(ctx, `SELECT count(*) FROM sign_in_failures`).Scan(&n)
}

// StaleSignInRows is staleSignInRows, for the tests of package sqlstore_test.
const StaleSignInRows = staleSignInRows
