// Package sqlstore is openhss's one store implementation over database/sql,
// for both engines: SQLite (modernc.org/sqlite) and PostgreSQL (pgx through
// its stdlib adapter, with pgxpool underneath). The queries, transactions,
// caches and error mapping are written here once; the Dialect says what
// really differs between the two engines.
//
// # Shape
//
// One file per operation family, as claircore lays out its datastore:
// jobs.go, registries.go, access.go (projects, credentials, users,
// tokens), images.go (syncs, local images), list.go, scans.go, analysis.go,
// findings.go, vulndb.go, tasks.go, policies.go, trend.go; bulk.go loads
// many rows (LoadImages, the benchmarks' seeded images, too); crud.go
// holds the small write helpers the families share; stmts.go,
// tokencache.go and gencache.go (under the list and top images caches)
// are the caches. A new query goes in its family's file, written once; a new table
// needs a migration in each engine's migrations/ folder.
//
// Statements are written in the SQL both engines speak: $n placeholders
// (modernc reads $n as the nth argument, as PostgreSQL does; statements of
// many arguments take a builder's placeholders instead, a bare ? in SQLite,
// which binds $n by a name lookup per argument), CAST(x AS BIGINT) rather
// than ::int8, and conditions and bulk rows built with a builder
// (builder.go), which knows the dialect's spelling of sets, substrings and
// row sources. A statement takes its placeholders either all from one
// builder or all written by hand, never both, and binds a builder's
// arguments in the order of the text: SQLite numbers a bare ? after the
// ones before it.
//
// # Dialect and caches
//
// The engine is a value, not an interface (Dialect, dialect.go: every
// difference one method, both spellings side by side); COPY, the one
// capability needing a driver's own API, is the optional Options.Copy.
// Migrations stay per engine, in the engine's package. The token cache
// (tokencache.go), the list and top images caches (list.go, topcache.go,
// both a genCache) and the statement cache (stmts.go) state their bounds where they are defined; they work the same
// on both engines.
//
// # Pools and waits
//
// Reads go to Options.Read, writes (every transaction) to Options.Write.
// SQLite passes two pools on one file (readers beside the single writer of
// WAL mode); PostgreSQL passes one *sql.DB for both, opened over its
// pgxpool with no connection limit and no idle connections of its own, so
// database/sql never queues a caller: every wait for a connection is
// pgxpool's, under the engine package's acquire deadline, and a store whose
// connections are all held fails with "database pool exhausted" instead of
// stalling.
//
// The rule no pool can enforce: no code path holds a connection (a
// transaction, or rows being read) while it asks for a second one.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/openhss/openhss/internal/inventory"
)

// Options configure a Store.
type Options struct {
	// Dialect is the engine the pools are open on (dialect.go).
	Dialect Dialect
	// Copy, if set, loads many rows faster than INSERT statements
	// (PostgreSQL's COPY): src into table's columns cols through conn,
	// inside the transaction open on conn. Rows must not conflict with
	// stored ones: COPY cannot skip a conflicting row. Without it the store
	// inserts them in multi-row statements.
	Copy func(ctx context.Context, conn *sql.Conn, table string, cols []string, src RowSource) error
	// Read serves reads outside transactions; Write serves transactions.
	// They may be the same pool.
	Read, Write *sql.DB
	// Stmts, if set, prepares the hot reads of Read once per connection
	// (SQLite; pgx caches its statements itself).
	Stmts *StmtCache
}

// Store implements the store interfaces over database/sql.
type Store struct {
	d           Dialect
	copy        func(ctx context.Context, conn *sql.Conn, table string, cols []string, src RowSource) error // nil: none
	read, write *sql.DB
	stmts       *StmtCache // nil: none
	tokens      *tokenCache
	lists       *listCache
	tops        *topCache

	// bg guards starting background work (see ListImages): one
	// compaction at a time (each project's is serialised by its lock in
	// compactChanges anyway; this bounds the goroutines), none once Wait
	// was called, and background.Add never racing background.Wait.
	bg struct {
		sync.Mutex
		compacting, closing bool
	}
	background sync.WaitGroup
}

// Wait waits for the work a call left running in the background (a
// compaction a list started, see ListImages) to end, and starts no more.
// The engine package calls it before it closes the pools.
func (s *Store) Wait() {
	s.bg.Lock()
	s.bg.closing = true
	s.bg.Unlock()
	s.background.Wait()
}

// goBackground runs fn in the background unless one runs already or Wait
// was called.
func (s *Store) goBackground(fn func()) {
	s.bg.Lock()
	defer s.bg.Unlock()
	if s.bg.compacting || s.bg.closing {
		return
	}
	s.bg.compacting = true
	s.background.Add(1)
	go func() {
		defer s.background.Done()
		defer func() {
			s.bg.Lock()
			s.bg.compacting = false
			s.bg.Unlock()
		}()
		fn()
	}()
}

// New returns a store over the pools of o. It does not own them: the
// engine package that opened them closes them.
func New(o Options) (*Store, error) {
	switch {
	case o.Dialect != SQLite && o.Dialect != Postgres:
		return nil, errors.New("sqlstore: no dialect")
	case o.Read == nil || o.Write == nil:
		return nil, errors.New("sqlstore: need a read and a write pool")
	}
	return &Store{d: o.Dialect, copy: o.Copy, read: o.Read, write: o.Write, stmts: o.Stmts,
		tokens: newTokenCache(tokenCacheTTL, 4096), lists: newListCache(4096), tops: newTopCache(1024)}, nil
}

// Ping checks that the database answers a query within ctx, on the read
// pool (which writers never hold on SQLite, so a long write does not look
// like an outage; on PostgreSQL a connection must be free within the
// acquire timeout).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.wrap(s.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one), "ping")
}

// queryRow runs a hot read outside any transaction, prepared once per
// connection where the engine wants it.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	if s.stmts != nil {
		return s.stmts.QueryRow(ctx, query, args...)
	}
	return s.read.QueryRowContext(ctx, query, args...)
}

// txQueryRow runs a hot read in tx, prepared where the engine wants it and
// the statement is cached already (see StmtCache).
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s.stmts != nil {
		return s.stmts.TxQueryRow(ctx, tx, query, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// cachedTx is tx whose queries go through the statement cache, as
// txQueryRow's do.
type cachedTx struct {
	s  *Store
	tx *sql.Tx
}

func (c cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if c.s.stmts != nil {
		return c.s.stmts.TxQuery(ctx, c.tx, query, args...)
	}
	return c.tx.QueryContext(ctx, query, args...)
}

// snapshot begins a read-only transaction whose reads all see one
// snapshot (REPEATABLE READ where the engine knows levels).
func (s *Store) snapshot(ctx context.Context) (*sql.Tx, error) {
	return s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
}

// inTx runs fn in one write transaction (BEGIN IMMEDIATE on SQLite, READ
// COMMITTED on PostgreSQL; callers take the row locks they need).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return s.errf("begin: %w", err)
	}
	return s.end(tx, fn(tx))
}

// end commits tx when err (its work's) is nil, else rolls it back and
// returns err.
func (s *Store) end(tx *sql.Tx, err error) error {
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	return s.wrap(tx.Commit(), "commit")
}

// RowSource yields rows to load, one at a time, so that a large load is
// never held as [][]any. Values are plain Go values in the column's type
// (string, int32, int64, float64, bool, []byte); a set of strings is a
// []string.
type RowSource interface {
	Len() int
	// Row writes row i's values into dst, one per column.
	Row(i int, dst []any)
}

// maxTxAttempts bounds scanTx's runs of a transaction the engine aborted.
const maxTxAttempts = 5

// scanTx is inTx whose first statement takes the scan locks of digests
// (lockDigests), run again, locks first, when the engine aborted the
// transaction in a way that may not happen again (Dialect.retryable). fn
// must be safe to run again. A scan write locks a manifest and then the
// rows of every connection describing it, a sync locks one connection's
// rows in its own order; the two rarely meet, and when they do one of them
// runs again.
//
// fn gets the transaction's connection too, for Options.Copy.
func (s *Store) scanTx(ctx context.Context, digests []string, fn func(tx *sql.Tx, conn *sql.Conn) error) error {
	locked := func(tx *sql.Tx, conn *sql.Conn) error {
		if err := s.lockDigests(ctx, tx, digests...); err != nil {
			return err
		}
		return fn(tx, conn)
	}
	var err error
	for range maxTxAttempts {
		if err = s.connTx(ctx, locked); !s.d.retryable(err) {
			return err
		}
	}
	return err
}

// connTx is inTx on a connection of its own, which fn gets too.
func (s *Store) connTx(ctx context.Context, fn func(tx *sql.Tx, conn *sql.Conn) error) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return s.errf("begin: %w", err)
	}
	defer conn.Close()
	return s.connTxOn(ctx, conn, func(tx *sql.Tx) error { return fn(tx, conn) })
}

// connTxOn is inTx on conn.
func (s *Store) connTxOn(ctx context.Context, conn *sql.Conn, fn func(tx *sql.Tx) error) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.errf("begin: %w", err)
	}
	return s.end(tx, fn(tx))
}

// lockDigests serialises the writers of digests' scan data until tx ends
// (Dialect.xactLock). The locks are taken in sorted order, so that two
// writers of overlapping sets do not wait on each other in a cycle; were
// they to, scanTx runs the loser again.
func (s *Store) lockDigests(ctx context.Context, tx *sql.Tx, digests ...string) error {
	names := make([]string, len(digests))
	for i, d := range slices.Sorted(slices.Values(digests)) {
		names[i] = "openhss-scan:" + d
	}
	q, args := s.d.xactLock(names...)
	if q == "" || len(names) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return s.wrap(err, "lock scans")
}

// text is v as a text column can hold it: on an engine that cannot store
// every string (Dialect.storable), invalid UTF-8 and NUL bytes, which
// scanned file names and advisory texts may hold, become U+FFFD.
func (s *Store) text(v string) string {
	if s.d.storable(v) {
		return v
	}
	return strings.ReplaceAll(strings.ToValidUTF8(v, "\uFFFD"), "\x00", "\uFFFD")
}

// texts is vs as text columns can hold them (see text): vs itself, without
// a copy, in the common case of strings that need no change.
func (s *Store) texts(vs []string) []string {
	for i, v := range vs {
		if !s.d.storable(v) {
			out := slices.Clone(vs)
			for j := i; j < len(out); j++ {
				out[j] = s.text(out[j])
			}
			return out
		}
	}
	return vs
}

// errf is an error of the store, prefixed with the engine's name.
func (s *Store) errf(format string, args ...any) error {
	return fmt.Errorf(s.d.String()+": "+format, args...)
}

// notFound maps sql.ErrNoRows to inventory.ErrNotFound; what names the
// thing looked up; nil stays nil.
func (s *Store) notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		err = inventory.ErrNotFound
	}
	return s.wrap(err, what)
}

// wrap is err as an error of the store, what naming what failed; nil
// stays nil.
func (s *Store) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return s.errf("%s: %w", what, err)
}

// conflict maps a unique violation to inventory.ErrConflict, what naming
// the clash, and any other error to one of op; nil stays nil.
func (s *Store) conflict(err error, what, op string) error {
	switch {
	case err == nil:
		return nil
	case s.d.isUnique(err):
		return s.errf("%s: %w", what, inventory.ErrConflict)
	}
	return s.errf("%s: %w", op, err)
}

// storable reports whether every one of vs can be stored (see
// Dialect.storable).
func (s *Store) storable(vs ...string) bool {
	for _, v := range vs {
		if !s.d.storable(v) {
			return false
		}
	}
	return true
}

// collect reads every row of rows with scan and closes rows; an empty
// result is an empty slice, not nil (the API renders [] either way, the
// conformance suites compare).
func collect[T any](rows *sql.Rows, scan func(rowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// scanString reads a row of one text column.
func scanString(r rowScanner) (v string, err error) { return v, r.Scan(&v) }

// querier is a pool, a transaction or a cachedTx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryEach runs query on q and calls fn on each row.
func queryEach(ctx context.Context, q querier, fn func(rowScanner) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// queryCounts runs a query of (text, integer) rows on q: a map from the
// first column to the second.
func queryCounts(ctx context.Context, q querier, query string, args ...any) (map[string]int64, error) {
	out := map[string]int64{}
	err := queryEach(ctx, q, func(r rowScanner) error {
		var (
			k string
			n int64
		)
		err := r.Scan(&k, &n)
		out[k] = n
		return err
	}, query, args...)
	return out, err
}

// pageOf reads, from one snapshot, how many rows from (a FROM ... WHERE
// whose arguments b holds) selects, and one page of them in order: columns
// cols, read by scan. what names the read in errors.
func pageOf[T any](ctx context.Context, s *Store, what string, b *builder, cols, from, order string, offset, limit int,
	scan func(rowScanner) (T, error)) (int64, []T, error) {
	tx, err := s.snapshot(ctx)
	if err != nil {
		return 0, nil, s.errf("%s: %w", what, err)
	}
	defer tx.Rollback()
	var (
		total int64
		out   []T
	)
	err = tx.QueryRowContext(ctx, `SELECT count(*) `+from, b.Args()...).Scan(&total)
	if err == nil {
		out, err = queryAll(ctx, tx, scan, `SELECT `+cols+` `+from+` ORDER BY `+order+
			` LIMIT `+b.Arg(limitOf(limit))+` OFFSET `+b.Arg(max(offset, 0)), b.Args()...)
	}
	if err != nil {
		return 0, nil, s.errf("%s: %w", what, err)
	}
	return total, out, nil
}

// queryAll runs query on q and reads its rows with scan, as collect does.
func queryAll[T any](ctx context.Context, q querier, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scan)
}

// readAll is queryAll whose error is the store's, naming what was read:
// the read that ends a method.
func readAll[T any](ctx context.Context, s *Store, q querier, what string, scan func(rowScanner) (T, error), query string, args ...any) ([]T, error) {
	out, err := queryAll(ctx, q, scan, query, args...)
	if err != nil {
		return nil, s.wrap(err, what)
	}
	return out, nil
}
