package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the engine StmtCache serves
)

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "stmts.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(4)
	t.Cleanup(func() { db.Close() })
	return db
}

// Query runs a cached statement of the pool outside any transaction; only
// the tests need it (to hold an evicted statement's rows open). The caller
// must not hold a connection of the pool.
func (c *StmtCache) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	e, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	defer e.release()
	return e.stmt.QueryContext(ctx, args...)
}

// TestStmtCacheEvicts runs more distinct statements than the cache holds,
// each several times, with an evicted statement's rows still open.
func TestStmtCacheEvicts(t *testing.T) {
	ctx := context.Background()
	c := NewStmtCache(openSQLite(t), 2)
	defer c.Close()

	held, err := c.Query(ctx, `SELECT 1 UNION ALL SELECT 2`)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for i := range 5 {
			var got int
			if err := c.QueryRow(ctx, fmt.Sprintf(`SELECT %d + ?`, i), round).Scan(&got); err != nil || got != i+round {
				t.Fatalf("round %d, statement %d: %d, %v", round, i, got, err)
			}
		}
	}
	if n := len(c.bySQL); n != 2 {
		t.Fatalf("%d statements cached, want 2", n)
	}
	var sum int
	for held.Next() {
		var v int
		if err := held.Scan(&v); err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	if err := held.Close(); err != nil || sum != 3 {
		t.Fatalf("rows of an evicted statement: sum %d, %v", sum, err)
	}
}

// TestStmtCacheEvictsUnderLoad runs more distinct statements than the cache
// holds from many goroutines at once: a statement evicted between one
// call's lookup and its start must not fail that call.
func TestStmtCacheEvictsUnderLoad(t *testing.T) {
	ctx := context.Background()
	c := NewStmtCache(openSQLite(t), 2)
	defer c.Close()
	const workers = 16
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := range 200 {
				q := fmt.Sprintf(`SELECT %d + ?`, (w+i)%7)
				var got int
				if err := c.QueryRow(ctx, q, 1).Scan(&got); err != nil || got != (w+i)%7+1 {
					errs <- fmt.Errorf("%s: %d, %v", q, got, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
