package sqlstore

import (
	"context"
	"database/sql"
	"math"

	"github.com/openhss/openhss/internal/inventory"
)

// countWhere is f as a condition over image_counts aliased c (see the
// 00930 migrations): the rows of images per project, type, enterprise
// project, connection, scan status, finding flags, latest_version,
// is_index and severity_level. ok is false when f has a condition
// image_counts cannot answer (a substring, a size or time range, an
// instance); the list then counts images. regIDs are f's connections,
// resolved (nil when f has no condition on them).
//
// Every condition mirrors imageWhere's for the same field, so that the sum
// is exactly the count of the rows the page query selects.
func countWhere(d Dialect, f inventory.Filter, regIDs []int64) (where string, args []any, ok bool) {
	if f.Namespace != "" || f.ImageName != "" || f.ImageVersion != "" || f.InstanceName != "" || f.InstanceID != "" ||
		f.MaxImageSize != nil || f.StartLatestUpdateTime != nil || f.EndLatestUpdateTime != nil ||
		f.StartLatestScanTime != nil || f.EndLatestScanTime != nil {
		return "", nil, false
	}
	b := newImageScoped(d, "c.", f)
	if len(f.RegistryIDs) > 0 {
		b.InInts("c.registry_id", f.RegistryIDs)
	}
	if RegistryDependent(f) {
		if len(regIDs) == 0 {
			return "", nil, false // the caller answers an empty list itself
		}
		b.InInts("c.registry_id", regIDs)
	}
	if f.ScanStatus != "" {
		b.Eq("c.scan_status", string(f.ScanStatus))
	}
	if f.LatestVersionOnly {
		b.Where(d.IsTrue("c.latest_version"))
	}
	flag := func(v *bool, col string) {
		whereFlag(b, v, d.IsTrue("c."+col), "c.scan_status = 'success' AND NOT "+d.IsTrue("c."+col))
	}
	flag(f.HasVul, "vul")
	flag(f.HasUnsafeSetting, "unsafe")
	flag(f.HasMaliciousFile, "malicious")
	whereFlag(b, f.Risky, "("+d.IsTrue("c.vul")+" OR "+d.IsTrue("c.unsafe")+" OR "+d.IsTrue("c.malicious")+")",
		"c.scan_status = 'success' AND NOT "+d.IsTrue("c.vul")+" AND NOT "+d.IsTrue("c.unsafe")+
			" AND NOT "+d.IsTrue("c.malicious"))
	whereFlag(b, f.MultiArch, d.IsTrue("c.is_index"), "NOT "+d.IsTrue("c.is_index"))
	if f.SeverityLevel != "" {
		b.Eq("c.severity_level", f.SeverityLevel)
	}
	return b.SQL(), b.Args(), true
}

// countFromCounts sums image_counts under where (countWhere's), in tx.
func (s *Store) countFromCounts(ctx context.Context, tx *sql.Tx, where string, args []any) (int64, error) {
	var n int64
	if err := s.txQueryRow(ctx, tx, `SELECT CAST(coalesce(sum(c.rows), 0) AS BIGINT) FROM image_counts c WHERE `+where,
		args...).Scan(&n); err != nil {
		return 0, s.errf("count images: %w", err)
	}
	return n, nil
}

// resolveRegistries returns the ids of f's project's connections that
// match its conditions on the owning connection (registryWhere's), in tx:
// with the ids in hand, one connection is an equality the page query walks
// in list order (images_registry), and image_counts counts its rows.
func (s *Store) resolveRegistries(ctx context.Context, tx *sql.Tx, f inventory.Filter) ([]int64, error) {
	sub := registryConds(newBuilder(s.d), f)
	return readAll(ctx, s, cachedTx{s, tx}, "resolve registries", func(r rowScanner) (id int64, err error) { return id, r.Scan(&id) },
		`SELECT r.id FROM registries r WHERE `+sub.SQL()+` ORDER BY r.id`, sub.Args()...)
}

// The buckets of image_time_counts and image_scan_counts (see the 00970
// and 00980 migrations): the UTC day of latest_update_time, or of
// latest_scan_time, where never-scanned rows (latest_scan_time not above
// 0) have bucket -1 of their own.
const bucketWidth = 86_400_000 // ms

// MinJumpOffset is the least offset whose page starts from its day
// (dayJump): below it the page steps over fewer rows than the bench's
// busiest filter holds in one day (about 2,700 of 10^6 rows over a year,
// docs/benchmarks.md), so summing days would not save a walk.
const MinJumpOffset = 1000

// jumpBuckets is how many days the first read of the day counts sums;
// each further read sums twice as many. A LIMIT lets both engines walk the
// (project, bucket) key in list order and stop (PostgreSQL plans a running
// sum with LIMIT 1 as a scan of every day), and the doubling bounds the
// reads of a sparse filter's deep page.
const jumpBuckets = 64

// dayJump finds, for a filter image_counts answers (where and args are
// countWhere's), the day holding the row at offset in order (Order's: the
// default order's days are image_time_counts', the scan-time orders'
// image_scan_counts'; an ascending order sums from the oldest day): it
// returns the key just before that day in list order — every row of the
// day and after it sorts at or after the key, every row of an earlier day
// in list order before it — and how many rows of those earlier days
// there are, so that the page reads from the key on skipping
// offset-before rows. ok is false when the offset is past the rows, or
// the row is in a day of latest_update_time before 1970 (bucket
// arithmetic truncates towards zero there), in tx.
func (s *Store) dayJump(ctx context.Context, tx *sql.Tx, order string, where string, args []any, offset int) (from SortKey, before int64, ok bool, err error) {
	table, next, cmp, dir := "image_time_counts", int64(math.MaxInt64), " < ", " DESC"
	switch order {
	case scanOrderDesc:
		table = "image_scan_counts"
	case scanOrderAsc:
		table, next, cmp, dir = "image_scan_counts", math.MinInt64, " > ", " ASC"
	}
	for chunk := jumpBuckets; ; chunk *= 2 {
		b := builder{d: s.d, args: make([]any, len(args), len(args)+2)}
		copy(b.args, args)
		q := `SELECT c.bucket, CAST(sum(c.rows) AS BIGINT) FROM ` + table + ` c WHERE ` + where +
			` AND c.bucket` + cmp + b.Arg(next) + ` GROUP BY c.bucket ORDER BY c.bucket` + dir + ` LIMIT ` + b.Arg(chunk)
		var (
			n       int
			found   bool
			day, at int64
		)
		err = queryEach(ctx, cachedTx{s, tx}, func(r rowScanner) error {
			var bucket, rows int64
			if err := r.Scan(&bucket, &rows); err != nil {
				return err
			}
			n++
			next = bucket
			if !found && before+rows > int64(offset) {
				found, day, at = true, bucket, before
			}
			if !found {
				before += rows
			}
			return nil
		}, q, b.Args()...)
		if err != nil {
			return SortKey{}, 0, false, s.errf("list images: day of offset: %w", err)
		}
		if found {
			from, ok = dayStart(order, day)
			return from, at, ok, nil
		}
		if n < chunk {
			return SortKey{}, 0, false, nil
		}
	}
}

// dayStart is dayJump's key for day in order, with the rows before it.
func dayStart(order string, day int64) (SortKey, bool) {
	switch {
	case order == scanOrderAsc && day == -1:
		// Never scanned: the first rows; any time, any id.
		return SortKey{Time: math.MinInt64, ID: math.MinInt64}, true
	case order == scanOrderAsc:
		// After every never-scanned row, also those at 0 of day 0.
		return SortKey{Time: max(day*bucketWidth, 1), ID: math.MinInt64}, true
	case order == scanOrderDesc && day == -1:
		return SortKey{Time: 0, ID: math.MaxInt64}, true
	case day < 0:
		return SortKey{}, false
	}
	return SortKey{Time: (day+1)*bucketWidth - 1, ID: math.MaxInt64}, true
}
