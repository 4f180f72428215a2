package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Dialect is the engine the store runs on, and with it everything that
// differs between the two: the SQL spelling, error classification, the
// job claim, the row and advisory locks and the list cache's generation.
// Each difference is one method here, both spellings side by side, so a
// query is written once and reads the same on either engine.
type Dialect uint8

const (
	// SQLite: ? placeholders, instr(), booleans stored as 0 and 1, sets as
	// IN lists of one argument each; one writer at a time (every write
	// transaction begins IMMEDIATE), so no row or advisory lock is needed.
	SQLite Dialect = iota + 1
	// Postgres: $n placeholders, strpos(), boolean columns, sets as one
	// text[] argument, so a set of any size is one statement text; writers
	// run concurrently, serialised by row and advisory locks.
	Postgres
)

// String is the store's name, which prefixes its errors.
func (d Dialect) String() string {
	if d == Postgres {
		return "postgres"
	}
	return "sqlite"
}

// Placeholder is the marker of the nth argument (counted from 1).
func (d Dialect) Placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// IsTrue is the condition that boolean column col holds. It is a literal,
// not an argument, because a partial index's WHERE must match the query's
// for the planner to use it.
func (d Dialect) IsTrue(col string) string {
	if d == Postgres {
		return col
	}
	return col + " = 1"
}

// StringsFromJSON is the SQL storing a JSON array of strings, the text
// bound at arg, in a column holding a set of strings: the JSON text itself
// in SQLite, a text[] in PostgreSQL.
func (d Dialect) StringsFromJSON(arg string) string {
	if d == Postgres {
		return "ARRAY(SELECT json_array_elements_text(CAST(" + arg + " AS json)))"
	}
	return arg
}

// StringsToJSON is the SQL reading a column written by StringsFromJSON
// back as JSON array text, so that both engines scan one string.
func (d Dialect) StringsToJSON(col string) string {
	if d == Postgres {
		return "array_to_json(" + col + ")::text"
	}
	return col
}

// bytewise is col ordered by its bytes, as Go sorts strings: PostgreSQL
// columns not declared COLLATE "C" sort by the database's collation.
func (d Dialect) bytewise(col string) string {
	if d == Postgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// outerFirstJoin is an inner join whose left table the engine walks and
// whose right one it looks up: SQLite's CROSS JOIN keeps the order as
// written (its planner, without statistics of an empty or young table,
// walked a million rows of images to probe an empty scan_findings);
// PostgreSQL plans joins from its statistics and takes JOIN.
func (d Dialect) outerFirstJoin() string {
	if d == SQLite {
		return "CROSS JOIN"
	}
	return "JOIN"
}

// contains is the function finding a substring: both are literal and
// case-sensitive, where LIKE would treat % and _ specially (and is
// case-insensitive in SQLite).
func (d Dialect) contains() string {
	if d == Postgres {
		return "strpos"
	}
	return "instr"
}

// sqliteMaxArgs is how many arguments one SQLite statement may bind
// (SQLITE_MAX_VARIABLE_NUMBER).
const sqliteMaxArgs = 32766

// MaxRows is how many rows of cols columns one statement may bind with
// builder.Rows: PostgreSQL binds a column as one array, so any number.
func (d Dialect) MaxRows(cols int) int {
	if d == Postgres || cols <= 0 {
		return int(^uint(0) >> 1)
	}
	return sqliteMaxArgs / cols
}

// storable reports whether a text column can hold s. A filter value that
// is not storable matches nothing: PostgreSQL refuses invalid UTF-8 and
// NUL, where SQLite would store and compare anything.
func (d Dialect) storable(s string) bool {
	return d != Postgres || (utf8.ValidString(s) && strings.IndexByte(s, 0) < 0)
}

// isUnique reports whether err is a unique (or primary key) violation.
// The drivers' error types are recognised by their methods, so that this
// package imports neither driver.
func (d Dialect) isUnique(err error) bool {
	if d == Postgres {
		return sqlState(err) == "23505"
	}
	var se interface{ Code() int }
	if !errors.As(err, &se) {
		return false
	}
	// SQLITE_CONSTRAINT_UNIQUE 2067, SQLITE_CONSTRAINT_PRIMARYKEY 1555; the
	// primary code (19) when extended codes are off.
	return se.Code() == 2067 || se.Code() == 1555 ||
		(se.Code()&0xff == 19 && strings.Contains(err.Error(), "UNIQUE"))
}

// retryable reports whether err aborted a transaction that may succeed
// when run again: PostgreSQL broke a deadlock (40P01) or a serialization
// conflict (40001) by aborting it. SQLite aborts none: its writers queue
// for the one write lock.
func (d Dialect) retryable(err error) bool {
	st := sqlState(err)
	return d == Postgres && (st == "40P01" || st == "40001")
}

// sqlState is the SQLSTATE code of a PostgreSQL error (pgconn.PgError),
// "" for any other error.
func sqlState(err error) string {
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState()
	}
	return ""
}

// dbNowMs is PostgreSQL's clock in ms. clock_timestamp(), not now(): now()
// is the start of the transaction.
const dbNowMs = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`

// leaseNow is the SQL expression of "now" in ms that job leases are set
// and judged by: the caller's clock on SQLite, which serves one host (bound
// with b); the database's on PostgreSQL, never the caller's: hosts sharing
// the database may disagree about the time, and a host whose clock runs
// ahead must not take a job whose lease another host keeps renewing.
func (d Dialect) leaseNow(b *builder, now time.Time) string {
	if d == Postgres {
		return dbNowMs
	}
	return b.Arg(now.UnixMilli())
}

// indexedBy follows a table name in a SQLite query that must read it
// through index (INDEXED BY, an error if it cannot): where statistics
// ANALYZE took while the table was nearly empty lead SQLite's planner to
// an index that reads every row of a large set instead (see liveJob).
// PostgreSQL's statistics follow its tables (autovacuum): nothing.
func (d Dialect) indexedBy(index string) string {
	if d == Postgres {
		return ""
	}
	return " INDEXED BY " + index
}

// skipLocked follows the job claim's candidate query: how a claimer passes
// over rows another open transaction has locked (nothing on SQLite, where
// no other claimer holds a lock).
func (d Dialect) skipLocked() string {
	if d == Postgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// forUpdate follows a SELECT of a row the transaction then writes rules for
// (a registry connection before its rows change), so that concurrent
// writers of the same row queue; nothing on SQLite.
func (d Dialect) forUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// xactLock is the statement taking locks on names, in their order, until
// the transaction ends: PostgreSQL's transaction-scoped advisory locks on
// the names' hashes (unnest keeps the array's order); "" on SQLite.
func (d Dialect) xactLock(names ...string) (query string, args []any) {
	switch {
	case d != Postgres || len(names) == 0:
		return "", nil
	case len(names) == 1:
		return `SELECT pg_advisory_xact_lock($1)`, []any{lockKey(names[0])}
	}
	keys := make([]int64, len(names))
	for i, n := range names {
		keys[i] = lockKey(n)
	}
	return `SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k`, []any{keys}
}

// lockKey is the advisory lock id of a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// listGeneration is the query reading, in one row, the images generation
// of projectID that the list cache keys its entries by (a number every
// committed change of the project's images increases) and how many rows it
// is made of. SQLite: images_gen, one counter for the whole database that
// a trigger bumps on every change of images. PostgreSQL: the project's sum
// of images_changes weights: writers add rows (weight 1 per statement)
// instead of updating one shared counter, so syncs of different
// connections never wait on each other; compactChanges folds them.
func (d Dialect) listGeneration(projectID string) (query string, args []any) {
	if d == Postgres {
		return `SELECT CAST(coalesce(sum(weight), 0) AS BIGINT), count(*) FROM images_changes WHERE project_id = $1`, []any{projectID}
	}
	return `SELECT gen, 0 FROM images_gen WHERE one = 1`, nil
}

// compactChanges replaces a project's images_changes rows by one row of
// their summed weight, in tx, so the generation (the sum) is unchanged in
// every snapshot (PostgreSQL only); likewise its image_counts deltas by one
// row per key, and its image_time_counts and image_scan_counts deltas by one row per day and key
// where a day and key has several (every statement that adds deltas also
// adds a changes row, so they grow no faster). One compactor per project at a time: the
// others skip. DELETE … RETURNING: only the rows deleted are summed, never
// one a concurrent writer added after the snapshot.
func compactChanges(ctx context.Context, tx *sql.Tx, projectID string) error {
	var locked bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, lockKey("openhss-compact:"+projectID)).Scan(&locked); err != nil || !locked {
		return fmt.Errorf("postgres: compact changes: not locked (%v)", err)
	}
	_, err := tx.ExecContext(ctx, `WITH d AS (DELETE FROM images_changes WHERE project_id = $1 RETURNING weight)
		INSERT INTO images_changes (project_id, weight) SELECT $1, sum(weight) FROM d HAVING count(*) > 0`, projectID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `WITH d AS (DELETE FROM image_counts WHERE project_id = $1
			RETURNING image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe, malicious,
				latest_version, is_index, severity_level, rows)
		INSERT INTO image_counts (project_id, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe,
			malicious, latest_version, is_index, severity_level, rows)
		SELECT $1, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe, malicious,
			latest_version, is_index, severity_level, sum(rows)
		FROM d GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 HAVING sum(rows) <> 0`, projectID)
	if err != nil {
		return err
	}
	// Only the days and keys holding more than one row: a project has
	// tens of thousands of day rows, most never moved since the last
	// compaction, and rewriting them all took 150 ms at 10^6 images
	// (docs/benchmarks.md, Uncached list).
	// image_scan_counts (00980) is image_time_counts by day of scan:
	// folded alike.
	for _, table := range []string{"image_time_counts", "image_scan_counts"} {
		if _, err := tx.ExecContext(ctx, strings.ReplaceAll(`WITH k AS (SELECT bucket, image_type, enterprise_project_id, registry_id, scan_status,
				vul, unsafe, malicious, latest_version, is_index, severity_level
			FROM TABLE WHERE project_id = $1
			GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 HAVING count(*) > 1),
		d AS (DELETE FROM TABLE t USING k WHERE t.project_id = $1
			AND (t.bucket, t.image_type, t.enterprise_project_id, t.registry_id, t.scan_status, t.vul, t.unsafe,
				t.malicious, t.latest_version, t.is_index, t.severity_level)
			  = (k.bucket, k.image_type, k.enterprise_project_id, k.registry_id, k.scan_status, k.vul, k.unsafe,
				k.malicious, k.latest_version, k.is_index, k.severity_level)
			RETURNING t.bucket, t.image_type, t.enterprise_project_id, t.registry_id, t.scan_status, t.vul, t.unsafe,
				t.malicious, t.latest_version, t.is_index, t.severity_level, t.rows)
		INSERT INTO TABLE (project_id, bucket, image_type, enterprise_project_id, registry_id, scan_status,
			vul, unsafe, malicious, latest_version, is_index, severity_level, rows)
		SELECT $1, bucket, image_type, enterprise_project_id, registry_id, scan_status, vul, unsafe, malicious,
			latest_version, is_index, severity_level, sum(rows)
		FROM d GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 HAVING sum(rows) <> 0`, "TABLE", table), projectID); err != nil {
			return err
		}
	}
	return nil
}
