package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/jobs"
)

// testDSN is the database the tests run against, from OPENHSS_TEST_POSTGRES.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		tb.Skip("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping the PostgreSQL store tests")
	}
	return dsn
}

// newSchema creates an empty schema of a random name, dropped at cleanup,
// and returns a DSN whose connections use it: tests, and test binaries
// running in parallel, never see each other's tables.
func newSchema(tb testing.TB) string {
	tb.Helper()
	dsn := testDSN(tb)
	schemaDSN, drop, err := NewSchema(context.Background(), dsn, "openhss_test_")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := drop(context.Background()); err != nil {
			tb.Errorf("drop schema: %v", err)
		}
	})
	return schemaDSN
}

func open(tb testing.TB, dsn string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestInventoryStore(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) inventory.Store {
		return open(t, newSchema(t))
	})
}

func TestJobsStore(t *testing.T) {
	testDSN(t)
	storetest.RunJobs(t, func(t *testing.T) func(t *testing.T) jobs.Store {
		dsn := newSchema(t)
		return func(t *testing.T) jobs.Store { return open(t, dsn) }
	}, storetest.JobsOptions{DatabaseClock: true})
}

// TestConcurrentOpen has several handles, as several processes starting at
// once would, open (and so migrate) one fresh schema at the same time: all
// succeed and every migration is recorded exactly once.
func TestConcurrentOpen(t *testing.T) {
	dsn := newSchema(t)
	const n = 4
	var (
		wg     sync.WaitGroup
		stores = make([]*Store, n)
		errs   = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = Open(context.Background(), dsn)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("handle %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var applied, distinct int
	err = stores[0].pool.p.QueryRow(context.Background(),
		`SELECT count(*), count(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if applied != len(files) || distinct != len(files) {
		t.Fatalf("%d migration records (%d distinct) for %d migrations", applied, distinct, len(files))
	}
}

// TestManyHandlesClaim has workers on three handles drain a queue whose
// jobs are partly fresh and partly running under expired leases: every job
// is claimed exactly once.
func TestManyHandlesClaim(t *testing.T) {
	dsn := newSchema(t)
	ctx := context.Background()
	stores := []*Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	for _, s := range stores {
		defer s.Close()
	}
	const n = 300
	for i := range n {
		if _, _, err := stores[i%3].Enqueue(ctx, jobs.Job{Kind: "scan", Key: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// A dead worker took a third of them, with leases long expired at t1.
	t0 := storetestTime()
	for range n / 3 {
		if _, err := stores[0].Claim(ctx, []string{"scan"}, "dead", t0, 1); err != nil {
			t.Fatal(err)
		}
	}
	// Leases are judged by the database's clock: let it pass the dead
	// worker's 0 ms leases.
	time.Sleep(2 * time.Millisecond)
	t1 := t0.Add(1e9)
	var (
		mu      sync.Mutex
		claimed = map[int64]string{}
		wg      sync.WaitGroup
		errs    = make(chan error, 12)
	)
	for w := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, owner := stores[w%3], fmt.Sprintf("w%d", w)
			for {
				j, err := st.Claim(ctx, []string{"scan"}, owner, t1, 3600e9)
				if errors.Is(err, jobs.ErrNoJob) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				prev, dup := claimed[j.ID]
				claimed[j.ID] = owner
				mu.Unlock()
				if dup {
					errs <- fmt.Errorf("job %d claimed by %s and %s", j.ID, prev, owner)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(claimed) != n {
		t.Fatalf("%d jobs claimed, want %d", len(claimed), n)
	}
}

func storetestTime() time.Time { return time.UnixMilli(1_800_000_000_000) }
