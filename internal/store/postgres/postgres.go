// Package postgres is openhss's scale-out store: PostgreSQL, for several
// openhss processes sharing one database. The queries are sqlstore's,
// written once for both engines; this package opens the database (pgxpool
// under database/sql through pgx's stdlib, with a deadline on every wait
// for a connection: pool.go), applies its migrations (migrations/, SQL of
// its own) and loads bulk rows with COPY (copy.go); every other way
// PostgreSQL differs is sqlstore.Postgres's (sqlstore/dialect.go).
//
// Concurrency model. Every writer of a registry connection's rows first
// takes that registry's row lock (SELECT ... FOR UPDATE), local images take
// a per-project advisory lock, so the counters triggers keep per connection
// never see two writers at once. The list's cache is keyed by a
// per-project generation that writers advance by inserting rows, never by
// updating a shared one (see images_changes in the schema), so syncs of
// different connections run in parallel.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/openhss/openhss/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL store: one pgx connection pool, every acquire
// from which has a deadline (see connPool).
type Store struct {
	// Every operation, over db.
	*sqlstore.Store

	pool *connPool
	db   *sql.DB
}

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string; pgxpool settings such as pool_max_conns and runtime
// parameters such as search_path are honoured, and pool_acquire_timeout (a
// duration, default DefaultAcquireTimeout) bounds every wait for a free
// connection of the pool) and applies pending
// migrations. Several processes may open the same database at once: the
// migrations run under a session advisory lock, so one applies them and the
// others wait and find them applied.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The parse error may quote the DSN, password included.
		return nil, errors.New("postgres: invalid database URL")
	}
	timeout, err := acquireTimeout(cfg)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	cp := &connPool{p: pool, timeout: timeout}
	db := openDB(cp)
	shared, err := sqlstore.New(sqlstore.Options{Dialect: sqlstore.Postgres, Copy: copyRows, Read: db, Write: db})
	if err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	return &Store{Store: shared, pool: cp, db: db}, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	// The lock is per schema: the migrations (and goose's version table)
	// live in the connection's current schema, so processes migrating
	// different schemas of one database need not wait for each other.
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if schema == nil {
		return errors.New("postgres: migrations: no schema on the search_path exists")
	}
	h := fnv.New64a()
	h.Write([]byte("openhss-migrate:" + *schema))
	// Poll every second for up to ten minutes: the other process is
	// running the same migrations and finishes in seconds.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 600))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	// Out of order: migrations of separate concerns (inventory 00001…,
	// vulndb 00100…, scans 00200…) grow independently, and a database that
	// already ran a later one must still take an earlier one added
	// afterwards.
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithAllowOutofOrder(true), goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// closeTimeout bounds Close's wait for the connections in use.
const closeTimeout = 5 * time.Second

// Close closes the pool. It waits for the connections in use to come back
// for at most closeTimeout: a caller stuck on one (a statement the server
// never answers) must not keep a stopping process from exiting. Those are
// then closed as they come back.
func (s *Store) Close() error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Store.Wait()   // a compaction a list started (bounded by its timeout)
		_ = s.db.Close() // holds no connection of its own: returns at once
		s.pool.p.Close()
	}()
	t := time.NewTimer(closeTimeout)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return fmt.Errorf("postgres: close: %d connections still in use after %s", s.pool.p.Stat().AcquiredConns(), closeTimeout)
	}
}
