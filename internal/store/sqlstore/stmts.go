package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// StmtCache keeps prepared statements of one pool by SQL text, so that a hot
// read is parsed and planned once per pooled connection instead of once per
// call: neither database/sql nor modernc.org/sqlite caches statements run
// through Query/Exec, and compiling the list's page query costs more than
// running it. PostgreSQL needs none: pgx caches the statements of each
// connection by their text itself (and a *sql.Stmt over pgxpool would
// prepare and deallocate on every call, database/sql keeping no idle
// connection there).
//
// A *sql.Stmt prepares itself lazily on each connection it runs on and keeps
// those driver statements until closed, so the cache holds at most
// max × pool size SQLite statements. When full, the least recently used
// statement makes room: the texts are a small fixed set plus one per list
// filter shape (which conditions, how many values in an IN list). An
// evicted statement is closed once no call is between taking it from the
// cache and starting to run it (after that, database/sql itself defers the
// Close until the call is done). Lookups only read-lock: every request makes
// several.
type StmtCache struct {
	db  *sql.DB
	max int

	tick   atomic.Int64 // use counter, for LRU
	mu     sync.RWMutex
	bySQL  map[string]*cachedStmt
	missed map[string]bool // run in transactions uncached, to prepare
}

type cachedStmt struct {
	stmt    *sql.Stmt
	used    atomic.Int64 // tick of the last use
	takers  atomic.Int64 // calls that took it and have not started it yet
	evicted atomic.Bool
}

// release ends a take: the caller has started its call (or given up).
func (e *cachedStmt) release() {
	if e.takers.Add(-1) == 0 && e.evicted.Load() {
		_ = e.stmt.Close() // idempotent: evict may close it too
	}
}

func (e *cachedStmt) evict() {
	e.evicted.Store(true)
	if e.takers.Load() == 0 {
		_ = e.stmt.Close()
	}
}

func NewStmtCache(db *sql.DB, max int) *StmtCache {
	return &StmtCache{db: db, max: max, bySQL: map[string]*cachedStmt{}, missed: map[string]bool{}}
}

// take returns the cached statement for query; the caller must release it
// once its call has started.
func (c *StmtCache) take(query string) (*cachedStmt, bool) {
	c.mu.RLock()
	e, ok := c.bySQL[query]
	if ok {
		e.takers.Add(1)
	}
	c.mu.RUnlock()
	if !ok {
		return nil, false
	}
	e.used.Store(c.tick.Add(1))
	return e, true
}

// get takes the statement for query, preparing it on first use. The caller
// must not hold a connection of the pool (see TxQuery), and must release
// the statement.
func (c *StmtCache) get(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.take(query); ok {
		return e, nil
	}
	// Prepare outside the lock: it takes a connection and may wait for one.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.bySQL[query]; ok { // prepared meanwhile by another call
		_ = st.Close()
		e.takers.Add(1)
		return e, nil
	}
	for len(c.bySQL) >= c.max && len(c.bySQL) > 0 {
		oldest, at := "", int64(0)
		for q, e := range c.bySQL {
			if u := e.used.Load(); oldest == "" || u < at {
				oldest, at = q, u
			}
		}
		c.bySQL[oldest].evict()
		delete(c.bySQL, oldest)
	}
	e := &cachedStmt{stmt: st}
	e.used.Store(c.tick.Add(1))
	e.takers.Add(1)
	c.bySQL[query] = e
	return e, nil
}

// Close closes every cached statement; the cache stays usable.
func (c *StmtCache) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.bySQL {
		e.evict()
	}
	clear(c.bySQL)
}

// QueryRow runs a cached statement of the pool outside any transaction.
// The caller must not hold a connection of the pool.
func (c *StmtCache) QueryRow(ctx context.Context, query string, args ...any) rowScanner {
	e, err := c.get(ctx, query)
	if err != nil {
		return errRow{err}
	}
	defer e.release()
	return e.stmt.QueryRowContext(ctx, args...)
}

// Inside a transaction a statement is only ever taken from the cache, never
// prepared into it: db.PrepareContext needs a connection of the pool, and a
// caller holding one (its transaction's) while waiting for another
// deadlocks once every connection is held that way. A miss runs the query
// on the transaction unprepared and notes the text; PrepareMissed, called
// when the caller holds no connection, prepares it for the next time.

// TxQueryRow runs query in tx, prepared if cached.
func (c *StmtCache) TxQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if e, ok := c.take(query); ok {
		defer e.release()
		return tx.StmtContext(ctx, e.stmt).QueryRowContext(ctx, args...)
	}
	c.miss(query)
	return tx.QueryRowContext(ctx, query, args...)
}

// TxQuery runs query in tx, prepared if cached.
func (c *StmtCache) TxQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if e, ok := c.take(query); ok {
		defer e.release()
		return tx.StmtContext(ctx, e.stmt).QueryContext(ctx, args...)
	}
	c.miss(query)
	return tx.QueryContext(ctx, query, args...)
}

func (c *StmtCache) miss(query string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.missed) < c.max {
		c.missed[query] = true
	}
}

// PrepareMissed prepares the statements transactions missed. The caller
// must not hold a connection of the pool.
func (c *StmtCache) PrepareMissed(ctx context.Context) {
	for {
		c.mu.Lock()
		var query string
		for q := range c.missed {
			query = q
			break
		}
		delete(c.missed, query)
		c.mu.Unlock()
		if query == "" {
			return
		}
		if e, err := c.get(ctx, query); err == nil { // a failure shows again when the query runs
			e.release()
		}
	}
}

// errRow is a row whose Scan fails with the error that kept it from being
// queried.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
