package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrPoolExhausted is the error of a call that found no free connection
// in the pool within the acquire timeout.
var ErrPoolExhausted = errors.New("database pool exhausted")

// DefaultAcquireTimeout is how long a call waits for a free connection
// when the database URL sets no pool_acquire_timeout.
const DefaultAcquireTimeout = 10 * time.Second

// acquireTimeoutParam is the database URL parameter setting the acquire
// timeout (a Go duration). pgxpool knows no such setting, so Open takes it
// out of the connection's runtime parameters before connecting.
const acquireTimeoutParam = "pool_acquire_timeout"

// connPool is the store's pgxpool.Pool with a deadline on every acquire.
//
// pgxpool waits for a free connection for as long as the call's context
// allows, and its Exec, Query, QueryRow and Begin use one context for the
// wait and the statement, so a statement's own (possibly absent) deadline
// was the wait's too. connPool acquires under a context bounded by timeout
// and runs the statement under the caller's, so a store whose connections
// are all held, by slow work or by a bug, answers ErrPoolExhausted after
// timeout instead of stalling every caller for ever.
//
// The store's rule, which this cannot enforce: no code path holds a
// connection (a transaction, or rows being read) while it acquires a
// second. Every such path deadlocks once the pool's worth of callers do it
// at once; with the deadline they fail instead, but they still fail.
type connPool struct {
	p       *pgxpool.Pool
	timeout time.Duration
}

// acquire takes a connection, waiting at most c.timeout.
func (c *connPool) acquire(ctx context.Context) (*pgxpool.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	conn, err := c.p.Acquire(actx)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return nil, c.exhausted()
	}
	return nil, err
}

// exhausted is the error of an acquire that found no free connection in
// time.
func (c *connPool) exhausted() error {
	st := c.p.Stat()
	return fmt.Errorf("%w: no connection free within %s (%d of %d in use; raise pool_max_conns or %s in the database URL)",
		ErrPoolExhausted, c.timeout, st.AcquiredConns(), st.MaxConns(), acquireTimeoutParam)
}

// Exec runs sql on a pooled connection.
func (c *connPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	conn, err := c.acquire(ctx)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	defer conn.Release()
	return conn.Exec(ctx, sql, args...)
}

// Query runs sql on a pooled connection, which is released when the rows
// are closed (or read to the end). On error the rows are nil.
func (c *connPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	conn, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		conn.Release()
		return nil, err
	}
	return &connRows{Rows: rows, conn: conn}, nil
}

// QueryRow runs sql on a pooled connection, released by Scan.
func (c *connPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	conn, err := c.acquire(ctx)
	if err != nil {
		return errRow{err}
	}
	return connRow{row: conn.QueryRow(ctx, sql, args...), conn: conn}
}

// Begin starts a READ COMMITTED transaction on a pooled connection.
func (c *connPool) Begin(ctx context.Context) (pgx.Tx, error) {
	return c.BeginTx(ctx, pgx.TxOptions{})
}

// BeginTx starts a transaction on a pooled connection, released when the
// transaction ends.
func (c *connPool) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	conn, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := conn.BeginTx(ctx, opts)
	if err != nil {
		conn.Release()
		return nil, err
	}
	return &connTx{Tx: tx, conn: conn}, nil
}

// Ping round-trips an empty statement on a pooled connection.
func (c *connPool) Ping(ctx context.Context) error {
	conn, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	return conn.Ping(ctx)
}

// Close closes the pool; it waits for the acquired connections.
func (c *connPool) Close() { c.p.Close() }

// connRows releases its connection when closed, as pgxpool's rows do.
type connRows struct {
	pgx.Rows
	conn *pgxpool.Conn
}

func (r *connRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *connRows) Close() {
	r.Rows.Close()
	if r.conn != nil {
		r.conn.Release()
		r.conn = nil
	}
}

// connRow releases its connection once scanned.
type connRow struct {
	row  pgx.Row
	conn *pgxpool.Conn
}

func (r connRow) Scan(dest ...any) error {
	defer r.conn.Release()
	return r.row.Scan(dest...)
}

// errRow is a row that could not be queried.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// connTx releases its connection when committed or rolled back.
type connTx struct {
	pgx.Tx
	conn *pgxpool.Conn
}

func (t *connTx) Commit(ctx context.Context) error {
	err := t.Tx.Commit(ctx)
	t.release()
	return err
}

func (t *connTx) Rollback(ctx context.Context) error {
	err := t.Tx.Rollback(ctx)
	t.release()
	return err
}

func (t *connTx) release() {
	if t.conn != nil {
		t.conn.Release()
		t.conn = nil
	}
}

// acquireTimeout takes the pool_acquire_timeout parameter out of cfg's
// runtime parameters (PostgreSQL would refuse it as an unknown setting)
// and returns it, or DefaultAcquireTimeout when it is absent.
func acquireTimeout(cfg *pgxpool.Config) (time.Duration, error) {
	v, ok := cfg.ConnConfig.RuntimeParams[acquireTimeoutParam]
	if !ok {
		return DefaultAcquireTimeout, nil
	}
	delete(cfg.ConnConfig.RuntimeParams, acquireTimeoutParam)
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("postgres: %s=%q in the database URL: want a positive duration such as 10s", acquireTimeoutParam, v)
	}
	return d, nil
}
