package hssapi_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// withHealth makes /healthz check p, waiting at most timeout.
func withHealth(p hssapi.Pinger, timeout time.Duration) envOption {
	return func(c *hssapi.Config) { c.Health, c.HealthTimeout = p, timeout }
}

func wantHealth(t *testing.T, e *testEnv, status int, body string) {
	t.Helper()
	h := e.do(t, reqSpec{Target: "/healthz", NoAuth: true})
	if h.Status != status || string(h.Raw) != body {
		t.Fatalf("healthz %d %s, want %d %s", h.Status, h.Raw, status, body)
	}
}

const (
	healthy       = `{"status":"ok"}`
	storeError    = `{"status":"unavailable","checks":{"store":"error"}}`
	storeTimedOut = `{"status":"unavailable","checks":{"store":"timeout"}}`
)

// TestHealthzChecksStore: /healthz answers 200 only when the store
// answers; a closed store is 503 naming the store check, and the error's
// text stays in the log.
func TestHealthzChecksStore(t *testing.T) {
	e := newEnv(t) // the env's own store, checked by default
	wantHealth(t, e, 200, healthy)

	closed, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "closed.db"))
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	e = newEnv(t, withHealth(closed, time.Minute))
	wantHealth(t, e, 503, storeError)
	if !strings.Contains(e.logs.String(), "store does not answer") {
		t.Errorf("no log of the failed check: %s", e.logs.String())
	}
}

// TestHealthzStuckPostgres: a PostgreSQL store whose only connection is
// held by a call waiting on a lock (the state a nested pool acquire once
// deadlocked the pool in; docs/security.md, Availability of the store) makes /healthz answer 503 "timeout" within its timeout, and
// 200 again once the connection is back.
func TestHealthzStuckPostgres(t *testing.T) {
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping")
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "openhss_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "1")
	u.RawQuery = q.Encode()
	st, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEnv(t, withHealth(st, 300*time.Millisecond))
	wantHealth(t, e, 200, healthy)

	// Hold the store's one connection: a write waiting on a table lock.
	lock, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Runs before st.Close, which waits for the blocked write, when the
	// test fails.
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `LOCK TABLE `+schema+`.projects IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() {
		_, err := st.EnsureProject(ctx, inventory.Project{ID: "p1"})
		blocked <- err
	}()
	// Wait until the write is waiting on the lock, so it has the
	// connection.
	for {
		var waiting bool
		if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
			WHERE c.relname = 'projects' AND c.relnamespace = $1::regnamespace AND NOT l.granted)`, schema).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantHealth(t, e, 503, storeTimedOut)

	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; err != nil {
		t.Fatal(err)
	}
	wantHealth(t, e, 200, healthy)
}
