package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store"
)

func TestOpenSQLite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, u := range []string{"sqlite://" + filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")} {
		st, err := store.Open(ctx, u)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		if _, err := st.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	for _, name := range []string{"a.db", "b.db"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	for _, u := range []string{"mysql://root:hunter2@db/openhss", "sqlite://"} {
		st, err := store.Open(context.Background(), u)
		if err == nil || st != nil {
			t.Fatalf("Open(%q) = %v, %v; want a nil store and an error", u, st, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

// TestOpenPostgresSearchPath: a postgres:// (or postgresql://) URL opens the
// PostgreSQL store, in the schema its search_path names; a schema that does
// not exist is an error, not tables in some other schema.
func TestOpenPostgresSearchPath(t *testing.T) {
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping the PostgreSQL part")
	}
	ctx := context.Background()
	b := make([]byte, 6)
	rand.Read(b)
	schema := "openhss_test_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	withSchema := func(scheme, schema string) string {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		u.Scheme = scheme
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	if st, err := store.Open(ctx, withSchema("postgres", schema)); err == nil || st != nil {
		t.Fatalf("Open with a missing schema = %v, %v", st, err)
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Exec(context.Background(), `DROP SCHEMA `+schema+` CASCADE`) })
	for _, scheme := range []string{"postgres", "postgresql"} {
		st, err := store.Open(ctx, withSchema(scheme, schema))
		if err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		if _, err := st.EnsureProject(ctx, inventory.Project{ID: "p-" + scheme}); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.projects`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("projects in %s: %d, %v", schema, n, err)
	}
	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = $1
		AND table_name IN ('sboms', 'sbom_packages', 'scan_findings', 'local_sources', 'scan_meta', 'jobs', 'images')`, schema).Scan(&tables); err != nil || tables != 7 {
		t.Fatalf("%d of 7 tables in %s, %v", tables, schema, err)
	}
}
