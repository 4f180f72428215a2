// Package sqlite is openhss's embedded store: one SQLite file (WAL mode)
// through the pure-Go modernc.org/sqlite driver. The queries are
// sqlstore's, written once for both engines; this package opens the file
// (a read pool beside a one-connection write pool, prepared hot reads),
// applies its migrations (migrations/, SQL of its own); what SQLite does
// its own way is sqlstore.SQLite's (sqlstore/dialect.go).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/openhss/openhss/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store. It keeps two pools on the same file: reads go
// to a pool of several connections (WAL lets readers run beside the writer),
// writes to a pool of one connection whose transactions begin IMMEDIATE, so
// writers of this process queue in Go and writers of other processes wait
// on busy_timeout instead of failing with SQLITE_BUSY halfway through.
type Store struct {
	// Every operation, over read and write.
	*sqlstore.Store

	read  *sql.DB
	write *sql.DB
	// reads holds prepared statements of the read pool for hot reads.
	reads *sqlstore.StmtCache
}

// maxCachedStmts bounds the prepared statements kept per pool.
const maxCachedStmts = 128

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if err := restrictFiles(path); err != nil {
		return nil, err
	}
	write, err := openPool(path, "immediate", 1)
	if err != nil {
		return nil, err
	}
	// The first connection switches the file to WAL; do it before any reader
	// opens so that the readers see WAL too.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	readConns := max(4, runtime.NumCPU())
	read, err := openPool(path, "deferred", readConns)
	if err != nil {
		write.Close()
		return nil, err
	}
	if err := loadSchema(ctx, read, readConns); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	reads := sqlstore.NewStmtCache(read, maxCachedStmts)
	shared, err := sqlstore.New(sqlstore.Options{Dialect: sqlstore.SQLite, Read: read, Write: write, Stmts: reads})
	if err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	return &Store{Store: shared, read: read, write: write, reads: reads}, nil
}

// restrictFiles makes the database readable by its owner only: it holds
// password hashes, token hashes and sealed secrets. SQLite creates a new
// file with the umask's mode (0644 usually) and gives the -wal and -shm
// files the mode of the database file, so creating the file 0600 first
// covers all three. Files left 0644 by an older openhss are tightened.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("sqlite: restrict %s to its owner: %w", p, err)
			}
		}
	}
	return nil
}

// loadSchema opens all n connections of the read pool and has each parse
// the database schema now. SQLite parses the schema on a connection's first
// statement, about a millisecond with openhss's triggers and indexes, and
// the pool keeps its connections for good (openPool), so without this the
// first requests after a start each paid it (docs/benchmarks.md, Store
// refactor). Holding all n at once makes the pool open n distinct ones.
func loadSchema(ctx context.Context, db *sql.DB, n int) error {
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
		// Naming a table is what makes SQLite read the schema.
		if _, err := c.ExecContext(ctx, `SELECT 1 FROM images LIMIT 0`); err != nil {
			return fmt.Errorf("load schema: %w", err)
		}
	}
	return nil
}

// connCacheSize is each connection's page cache: 64 MiB (negative: KiB),
// for the list's index walks.
//
// The pools set no mmap_size: SQLite reads pages into this cache rather
// than through a memory map. Measured at 10^6 images (docs/benchmarks.md,
// "Store refactor", sixth run): a list call right after a write, the usual
// uncached call of a running server, takes a quarter to a half of the time
// it took through the map, and a store's first call about 40 % less. The
// one call that is slower walks 10^5 index entries to a deep page in
// scan-time order (about 60 ms instead of 15).
const connCacheSize = -65536

func openPool(path, txlock string, conns int) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", connCacheSize))
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Set("_txlock", txlock)
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// Out of order: migrations of separate concerns (inventory 00001…,
	// vulndb 00100…) grow independently, and a database that already ran a
	// later one must still take an earlier one added afterwards.
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Close closes both pools. Committed data is durable without it: WAL
// recovery on the next open replays whatever was not checkpointed.
func (s *Store) Close() error {
	// Keep the planner's statistics fresh for the next open; cheap when
	// nothing changed. Bounded: the one write connection may be held by a
	// writer that never ends, and a stopping process must still exit.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = s.write.ExecContext(ctx, "PRAGMA optimize")
	s.reads.Close()
	return errors.Join(s.read.Close(), s.write.Close())
}
