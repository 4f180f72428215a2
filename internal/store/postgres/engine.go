package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/openhss/openhss/internal/store/sqlq"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// engine is what PostgreSQL does its own way for sqlstore.
type engine struct{}

var _ sqlstore.Engine = engine{}

func (engine) Dialect() sqlq.Dialect { return sqlq.Postgres }

func (engine) IsUnique(err error) bool { return isUnique(err) }

func (engine) Storable(s string) bool { return storable(s) }

// dbNowMs is the database's clock in ms. Leases are set and judged by it,
// never by the caller's clock: hosts sharing the database may disagree
// about the time, and a host whose clock runs ahead must not take a job
// whose lease another host keeps renewing. clock_timestamp(), not now():
// now() is the start of the transaction.
const dbNowMs = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`

func (engine) LeaseNow(*sqlq.Builder, time.Time) string { return dbNowMs }

func (engine) SkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (engine) ForUpdate() string { return " FOR UPDATE" }

// Retryable: deadlock_detected or serialization_failure.
func (engine) Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// XactLock takes transaction-scoped advisory locks on the names' hashes,
// in the names' order (unnest keeps the array's).
func (engine) XactLock(names ...string) (string, []any) {
	if len(names) == 1 {
		return `SELECT pg_advisory_xact_lock($1)`, []any{lockKey(names[0])}
	}
	keys := make([]int64, len(names))
	for i, n := range names {
		keys[i] = lockKey(n)
	}
	return `SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k`, []any{keys}
}

var _ sqlstore.Copier = engine{}

// CopyRows loads src with COPY on the transaction's connection: a
// re-match writes hundreds of thousands of findings, and COPY streams them
// without a statement per chunk.
func (engine) CopyRows(ctx context.Context, conn *sql.Conn, table string, cols []string, src sqlstore.RowSource) error {
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into %s: driver connection is a %T, not pgx's", table, dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{table}, cols, &copySource{src: src, row: make([]any, len(cols))})
		return err
	})
}

// copySource is a RowSource as a pgx.CopyFromSource.
type copySource struct {
	src  sqlstore.RowSource
	next int
	row  []any
}

func (c *copySource) Next() bool { c.next++; return c.next <= c.src.Len() }
func (c *copySource) Err() error { return nil }
func (c *copySource) Values() ([]any, error) {
	c.src.Row(c.next-1, c.row)
	return c.row, nil
}

// ListGeneration is the project's sum of images_changes weights: writers
// add rows (weight 1 per statement) instead of updating one shared
// counter, so syncs of different connections never wait on each other.
func (engine) ListGeneration(projectID string) (string, []any) {
	return `SELECT CAST(coalesce(sum(weight), 0) AS BIGINT), count(*) FROM images_changes WHERE project_id = $1`, []any{projectID}
}

var _ sqlstore.ChangeCompactor = engine{}

// CompactChanges replaces a project's images_changes rows by one row of
// their summed weight, in tx, so the generation (the sum) is unchanged in
// every snapshot. One compactor per project at a time: the others skip.
func (engine) CompactChanges(ctx context.Context, tx *sql.Tx, projectID string) error {
	var locked bool
	if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, lockKey("openhss-compact:"+projectID)).Scan(&locked); err != nil || !locked {
		return fmt.Errorf("postgres: compact changes: not locked (%v)", err)
	}
	_, err := tx.ExecContext(ctx, `WITH d AS (DELETE FROM images_changes WHERE project_id = $1 RETURNING weight)
		INSERT INTO images_changes (project_id, weight) SELECT $1, sum(weight) FROM d HAVING count(*) > 0`, projectID)
	return err
}
