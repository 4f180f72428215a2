package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// withParams sets query parameters of a postgres:// DSN (the tests' DSN is
// a URL: newSchema made it one).
func withParams(tb testing.TB, dsn string, kv ...string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		tb.Skip("these tests set pool parameters in a postgres:// URL; OPENHSS_TEST_POSTGRES is not one")
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// appName returns a unique application_name, so that a test can find
// (and, when it fails, end) its own server sessions.
func appName() string {
	b := make([]byte, 4)
	rand.Read(b)
	return "openhss_test_" + hex.EncodeToString(b)
}

// terminateSessions ends every server session named app: a test that found
// a deadlock frees its blocked goroutines (and the schema's locks, so its
// cleanup can drop the schema) this way.
func terminateSessions(tb testing.TB, app string) {
	tb.Helper()
	conn, err := pgx.Connect(context.Background(), testDSN(tb))
	if err != nil {
		tb.Errorf("terminate sessions: %v", err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
		tb.Errorf("terminate sessions: %v", err)
	}
}

// TestConcurrentListsPastCompaction is the pool deadlock of issue 9: a
// project with more images_changes rows than a list compacts at, and many
// more concurrent lists than the pool has connections. Every list must
// return, and return its rows; before the fix each list held its read
// transaction's connection while its compaction waited, with no deadline,
// for a second one, so a pool's worth of lists waited on each other
// forever.
func TestConcurrentListsPastCompaction(t *testing.T) {
	app := appName()
	dsn := withParams(t, newSchema(t), "pool_max_conns", "4", "application_name", app)
	s := open(t, dsn)
	ctx := context.Background()
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	// Every local image put is at least one statement changing the
	// project's images, so one images_changes row or more each.
	const images = 96
	for i := range images {
		img := inventory.Image{ProjectID: "p1", Type: inventory.LocalImage, Namespace: "local", Name: fmt.Sprintf("app%d", i),
			Tag: "v1", Digest: storetest.Digest(fmt.Sprint(i))}
		if _, err := s.PutLocalImage(ctx, img, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The generation must have moved past the threshold between each
	// round's lists, so every round compacts: a write per round adds rows.
	const goroutines, rounds = 32, 3
	deadline, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for round := range rounds {
		var n int64
		if err := s.pool.p.QueryRow(ctx, `SELECT count(*) FROM images_changes WHERE project_id = 'p1'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if round == 0 && n <= sqlstore.MaxChangeRows {
			t.Fatalf("%d images_changes rows: the test needs more than %d", n, sqlstore.MaxChangeRows)
		}
		var (
			wg   sync.WaitGroup
			errs = make(chan error, goroutines)
		)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := inventory.Filter{ProjectID: "p1", Type: inventory.LocalImage, Limit: 5, Offset: g % 7}
				p, err := s.ListImages(deadline, f)
				switch {
				case err != nil:
					errs <- fmt.Errorf("round %d list %d: %w", round, g, err)
				case p.Total != int64(images+round):
					errs <- fmt.Errorf("round %d list %d: total %d, want %d", round, g, p.Total, images+round)
				}
			}()
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-deadline.Done():
			// The calls are blocked for good, in the pool, where nothing
			// can free them (nor close the store). End their server
			// sessions, whose open transactions would keep the cleanup
			// from dropping the schema, and leave the goroutines.
			terminateSessions(t, app)
			t.Fatalf("round %d: concurrent lists did not return before their deadline (pool deadlock)", round)
		}
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			s.Close()
			return
		}
		// Push the project past the threshold again: one more image, put
		// again and again with a new digest.
		for i := range sqlstore.MaxChangeRows + 1 {
			img := inventory.Image{ProjectID: "p1", Type: inventory.LocalImage, Namespace: "local", Name: fmt.Sprintf("more%d", round),
				Tag: "v1", Digest: storetest.Digest(fmt.Sprintf("more%d/%d", round, i))}
			if _, err := s.PutLocalImage(ctx, img, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.Close()
}

// TestPoolExhausted holds every connection of a store's pool and checks
// that a call then fails, after the configured acquire timeout, with an
// error that says so, instead of waiting for ever.
func TestPoolExhausted(t *testing.T) {
	dsn := withParams(t, newSchema(t), "pool_max_conns", "2", "pool_acquire_timeout", "200ms")
	s := open(t, dsn)
	defer s.Close()
	ctx := context.Background()
	var held []pgx.Tx
	for range 2 {
		tx, err := s.pool.p.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, tx)
	}
	// Before the fix a call waited for a connection for as long as its
	// context allowed: give it a long one, so such a wait shows as a
	// context error instead of a hung test.
	callCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	calls := map[string]func() error{
		"GetProject": func() error { _, err := s.GetProject(callCtx, "p1"); return err },
		"ListImages": func() error {
			_, err := s.ListImages(callCtx, inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage})
			return err
		},
		"EnsureProject": func() error { _, err := s.EnsureProject(callCtx, inventory.Project{ID: "p1"}); return err },
		"Claim": func() error {
			_, err := s.Claim(callCtx, []string{"scan"}, "w", time.Now(), time.Minute)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "database pool exhausted") {
			t.Errorf("%s with every connection held: %v, want a database pool exhausted error", name, err)
		}
	}
	for _, tx := range held {
		_ = tx.Rollback(ctx)
	}
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatalf("after the connections are back: %v", err)
	}
}

// TestAcquireTimeoutParameter checks the DSN parameter's parsing: a bad
// value is refused (and names the parameter, not the DSN).
func TestAcquireTimeoutParameter(t *testing.T) {
	base := newSchema(t)
	s, err := Open(context.Background(), withParams(t, base, "pool_acquire_timeout", "3s"))
	if err != nil {
		t.Fatalf("pool_acquire_timeout=3s: %v", err)
	}
	if s.pool.timeout != 3*time.Second {
		t.Errorf("acquire timeout %s, want 3s", s.pool.timeout)
	}
	s.Close()
	for _, v := range []string{"soon", "-1s", "0"} {
		_, err := Open(context.Background(), withParams(t, base, "pool_acquire_timeout", v))
		if err == nil || !strings.Contains(err.Error(), "pool_acquire_timeout") {
			t.Errorf("pool_acquire_timeout=%s: %v, want an error naming the parameter", v, err)
		}
	}
}

// TestCloseWithConnectionHeld: Close returns, with an error saying why,
// while a connection is still in use, instead of waiting for it for ever
// (a stopping process must exit even when a call is stuck on the server).
func TestCloseWithConnectionHeld(t *testing.T) {
	s := open(t, newSchema(t))
	ctx := context.Background()
	tx, err := s.pool.p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err == nil || !strings.Contains(err.Error(), "still in use") {
			t.Fatalf("Close with a connection held: %v, want a still-in-use error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Close waited for the held connection")
	}
}

// TestListCompactsInBackground: a list that finds more than MaxChangeRows
// generation rows answers without waiting for their compaction, which
// runs once, after it, and leaves one row of the same summed generation;
// Wait waits for it. The test holds images_changes in SHARE mode until
// the list has answered: the list only reads the table, the compaction's
// DELETE waits for the lock, so every row is still there at the answer and
// is folded only after the test lets go. A list that compacted before
// answering would wait for the lock until compactTimeout (10 s), fail to
// compact, and leave the rows unfolded.
func TestListCompactsInBackground(t *testing.T) {
	s := open(t, newSchema(t))
	defer s.Close()
	ctx := context.Background()
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	for i := range sqlstore.MaxChangeRows + 1 {
		img := inventory.Image{ProjectID: "p1", Type: inventory.LocalImage, Namespace: "local", Name: "app",
			Tag: "v1", Digest: storetest.Digest(fmt.Sprint(i))}
		if _, err := s.PutLocalImage(ctx, img, nil); err != nil {
			t.Fatal(err)
		}
	}
	changes := func() (rows, gen int64) {
		t.Helper()
		if err := s.pool.p.QueryRow(ctx, `SELECT count(*), coalesce(sum(weight), 0) FROM images_changes
			WHERE project_id = 'p1'`).Scan(&rows, &gen); err != nil {
			t.Fatal(err)
		}
		return rows, gen
	}
	before, gen := changes()
	if before <= sqlstore.MaxChangeRows {
		t.Fatalf("%d images_changes rows: the test needs more than %d", before, sqlstore.MaxChangeRows)
	}
	hold, err := s.pool.p.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `LOCK TABLE images_changes IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		p   inventory.Page
		err error
	}
	listed := make(chan answer, 1)
	go func() {
		p, err := s.ListImages(ctx, inventory.Filter{ProjectID: "p1", Type: inventory.LocalImage, Limit: 5})
		listed <- answer{p, err}
	}()
	select {
	case a := <-listed:
		if a.err != nil || a.p.Total != 1 {
			t.Fatalf("list: total %d (%v), want 1", a.p.Total, a.err)
		}
	case <-time.After(time.Minute):
		// Only a list that waits for its compaction is still here.
		hold.Rollback(ctx)
		t.Fatal("the list did not answer while its compaction could not run")
	}
	if rows, _ := changes(); rows != before {
		t.Fatalf("answered with %d images_changes rows, want the %d from before: compacted before the answer", rows, before)
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	after, genAfter := changes()
	if after != 1 || genAfter != gen {
		t.Fatalf("after the list: %d rows of generation %d, want 1 of %d", after, genAfter, gen)
	}
	p, err := s.ListImages(ctx, inventory.Filter{ProjectID: "p1", Type: inventory.LocalImage, Limit: 5})
	if err != nil || p.Total != 1 || len(p.Images) != 1 {
		t.Fatalf("list after the compaction: total %d, %d rows (%v), want 1", p.Total, len(p.Images), err)
	}
}
