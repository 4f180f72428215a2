package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
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

// connPool is the store's pgxpool.Pool and the deadline on every wait for
// one of its connections.
//
// pgxpool waits for a free connection for as long as the call's context
// allows, and its Exec, Query, QueryRow and Begin use one context for the
// wait and the statement, so a statement's own (possibly absent) deadline
// was the wait's too. The store reaches the pool through database/sql
// (see openDB), whose connector acquires under a context bounded by
// timeout and then runs the statement under the caller's, so a store whose
// connections are all held, by slow work or by a bug, answers
// ErrPoolExhausted after timeout instead of stalling every caller for
// ever. (It cannot enforce the rule the sqlstore package comment states:
// a path holding a connection while it asks for a second one still fails.)
type connPool struct {
	p       *pgxpool.Pool
	timeout time.Duration
}

// exhausted is the error of an acquire that found no free connection in
// time.
func (c *connPool) exhausted() error {
	st := c.p.Stat()
	return fmt.Errorf("%w: no connection free within %s (%d of %d in use; raise pool_max_conns or %s in the database URL)",
		ErrPoolExhausted, c.timeout, st.AcquiredConns(), st.MaxConns(), acquireTimeoutParam)
}

// openDB is a database/sql handle over the pool. database/sql keeps no
// connection of its own (no idle ones, no limit), so it never queues a
// caller: every connection it asks for is acquired from pgxpool by
// boundedConnector, under the acquire deadline. pgx keeps each pooled
// connection's prepared statements, so a statement is still parsed once
// per connection. Closing the handle leaves the pool open.
func openDB(c *connPool) *sql.DB {
	db := sql.OpenDB(boundedConnector{Connector: stdlib.GetPoolConnector(c.p), pool: c})
	db.SetMaxIdleConns(0)
	db.SetMaxOpenConns(0)
	return db
}

// boundedConnector acquires pgxpool connections for database/sql, waiting
// at most the pool's acquire timeout.
type boundedConnector struct {
	driver.Connector
	pool *connPool
}

func (b boundedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	actx, cancel := context.WithTimeout(ctx, b.pool.timeout)
	defer cancel()
	conn, err := b.Connector.Connect(actx)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return nil, b.pool.exhausted()
	}
	return nil, err
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
