package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements of one pool by SQL text, so that a hot
// read is parsed and planned once per pooled connection instead of once per
// call: neither database/sql nor modernc.org/sqlite caches statements run
// through Query/Exec, and compiling the list's page query costs more than
// running it.
//
// A *sql.Stmt prepares itself lazily on each connection it runs on and keeps
// those driver statements until closed, so the cache holds at most
// max × pool size SQLite statements. It is an LRU: the statement texts are a
// small fixed set plus one per list filter shape (which conditions, how many
// values in an IN list), and a shape not used for a while makes room.
// Closing an evicted statement is safe while a call still uses it:
// database/sql finalizes it once that call is done.
type stmtCache struct {
	db  *sql.DB
	max int

	mu    sync.Mutex
	order *list.List // of *cachedStmt, most recently used first
	bySQL map[string]*list.Element
}

type cachedStmt struct {
	query string
	stmt  *sql.Stmt
}

func newStmtCache(db *sql.DB, max int) *stmtCache {
	return &stmtCache{db: db, max: max, order: list.New(), bySQL: map[string]*list.Element{}}
}

// get returns the prepared statement for query, preparing it on first use.
func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	if e, ok := c.bySQL[query]; ok {
		c.order.MoveToFront(e)
		st := e.Value.(*cachedStmt).stmt
		c.mu.Unlock()
		return st, nil
	}
	c.mu.Unlock()

	// Prepare outside the lock: it takes a connection and may wait for one.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.bySQL[query]; ok { // prepared meanwhile by another call
		c.order.MoveToFront(e)
		_ = st.Close()
		return e.Value.(*cachedStmt).stmt, nil
	}
	c.bySQL[query] = c.order.PushFront(&cachedStmt{query: query, stmt: st})
	for c.order.Len() > c.max {
		old := c.order.Remove(c.order.Back()).(*cachedStmt)
		delete(c.bySQL, old.query)
		_ = old.stmt.Close()
	}
	return st, nil
}

// close closes every cached statement; the cache stays usable.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.order.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.order.Init()
	clear(c.bySQL)
}

// queryRow runs a cached statement of the pool outside any transaction.
func (c *stmtCache) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := c.get(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a cached statement of the pool outside any transaction.
func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// inTx returns the cached statement bound to tx, which must belong to the
// cache's pool. The connection's driver statement is reused when it was
// prepared there before.
func (c *stmtCache) inTx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// txQueryRow runs a cached statement in tx.
func (c *stmtCache) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) rowScanner {
	st, err := c.inTx(ctx, tx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// txQuery runs a cached statement in tx.
func (c *stmtCache) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	st, err := c.inTx(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// errRow is a row whose Scan fails with the error that kept it from being
// queried.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
