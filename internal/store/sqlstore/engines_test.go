package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/inventory/storetest"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// engineStore is what these tests need of an engine's store.
type engineStore interface {
	inventory.Store
	SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error
}

// engines opens two stores on one database per engine (two processes, as
// far as either can tell) and returns, per engine, the stores and the
// shared Store of the first, whose clock the test sets.
func engines(t *testing.T) map[string]func(t *testing.T) (a, b engineStore, shared *sqlstore.Store) {
	t.Helper()
	return map[string]func(t *testing.T) (engineStore, engineStore, *sqlstore.Store){
		"sqlite": func(t *testing.T) (engineStore, engineStore, *sqlstore.Store) {
			path := filepath.Join(t.TempDir(), "openhss.db")
			a, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			b, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return a, b, a.Store
		},
		"postgres": func(t *testing.T) (engineStore, engineStore, *sqlstore.Store) {
			dsn := postgresSchema(t)
			a, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { a.Close() })
			b, err := postgres.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			return a, b, a.Store
		},
	}
}

// postgresSchema returns a DSN of OPENHSS_TEST_POSTGRES using a fresh
// schema, dropped at cleanup; it skips the test when the variable is unset.
func postgresSchema(tb testing.TB) string { return postgresSchemaNamed(tb, "") }

// postgresSchemaNamed is postgresSchema in the schema keep, created if
// missing and kept, unless keep is "".
func postgresSchemaNamed(tb testing.TB, keep string) string {
	tb.Helper()
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		tb.Skip("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	schema := keep
	if keep == "" {
		b := make([]byte, 6)
		rand.Read(b)
		schema = "openhss_test_" + hex.EncodeToString(b)
		tb.Cleanup(func() {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				tb.Errorf("drop schema %s: %v", schema, err)
				return
			}
			defer conn.Close(ctx)
			_, _ = conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		})
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize()); err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestTokenRevocationAcrossStores revokes through a second store on the
// same database, on each engine: the first store, which has the token
// cached, sees the revocation once the cache's TTL has passed (the
// documented bound), and its own revocation at once.
func TestTokenRevocationAcrossStores(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			a, b, shared := open(t)
			now := time.Unix(1000, 0)
			sqlstore.SetTokenClock(shared, func() time.Time { return now })

			for _, hash := range []string{"h1", "h2"} {
				if err := b.CreateToken(ctx, inventory.Token{Hash: hash, UserID: 1, ProjectID: "p1", ExpiresAt: 1 << 50,
					Grant: inventory.Grant{IDs: []string{"ep1"}}}); err != nil {
					t.Fatal(err)
				}
				if tok, err := a.GetToken(ctx, hash); err != nil || tok.RevokedAt != 0 || tok.Grant.IDs[0] != "ep1" {
					t.Fatalf("GetToken(%s) = %+v, %v", hash, tok, err)
				}
			}
			// The caller's copy is its own.
			tok, _ := a.GetToken(ctx, "h1")
			tok.Grant.IDs[0] = "scribbled"

			if err := b.RevokeToken(ctx, "h1", 7); err != nil {
				t.Fatal(err)
			}
			if tok, err := a.GetToken(ctx, "h1"); err != nil || tok.RevokedAt != 0 {
				t.Fatalf("within the TTL of another store's revocation: %+v, %v (want the cached row)", tok, err)
			}
			now = now.Add(sqlstore.TokenCacheTTL)
			if tok, err := a.GetToken(ctx, "h1"); err != nil || tok.RevokedAt != 7 || tok.Grant.IDs[0] != "ep1" {
				t.Fatalf("after another store's revocation and the TTL: %+v, %v", tok, err)
			}

			if err := a.RevokeToken(ctx, "h2", 9); err != nil {
				t.Fatal(err)
			}
			if tok, err := a.GetToken(ctx, "h2"); err != nil || tok.RevokedAt != 9 {
				t.Fatalf("right after its own revocation: %+v, %v", tok, err)
			}
		})
	}
}

// TestListCacheSeesOtherWriters lists through one store while a second store
// on the same database, on each engine, (another process, as far as the first can tell) changes
// the rows: every answer after a change reflects it, whether the first
// store had cached the total, the bookmarks and the page or not.
func TestListCacheSeesOtherWriters(t *testing.T) {
	for name, open := range engines(t) {
		t.Run(name, func(t *testing.T) { testListCacheSeesOtherWriters(t, open) })
	}
}

func testListCacheSeesOtherWriters(t *testing.T, open func(t *testing.T) (a, b engineStore, shared *sqlstore.Store)) {
	ctx := context.Background()
	reader, writer, _ := open(t)

	if _, err := writer.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	reg, err := writer.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Type: inventory.Harbor, Addr: "r.example"})
	if err != nil {
		t.Fatal(err)
	}
	sync := func(tags int) {
		t.Helper()
		snap := inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1}
		repo := inventory.RepoSnapshot{Namespace: "lib", Name: "app"}
		for i := range tags {
			d := storetest.Digest(fmt.Sprint("cache-", i))
			snap.Manifests = append(snap.Manifests, inventory.Manifest{Digest: d, Size: 1, Created: int64(1000 + i)})
			repo.Tags = append(repo.Tags, inventory.TagRef{Tag: fmt.Sprint("t", i), Digest: d, ManifestDigest: d})
		}
		snap.Repositories = []inventory.RepoSnapshot{repo}
		if _, err := writer.ApplySync(ctx, snap); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f inventory.Filter) inventory.Page {
		t.Helper()
		p, err := reader.ListImages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, EnterpriseProjects: []string{"0"}, Limit: 3}
	success := base
	success.ScanStatus = inventory.ScanSuccess

	sync(10)
	for range 3 { // fill every cache: total, bookmark, page
		if p := list(base); p.Total != 10 || len(p.Images) != 3 || p.Images[0].Tag != "t9" {
			t.Fatalf("before changes: %+v", p)
		}
		if p := list(withOffset(base, 3)); len(p.Images) != 3 || p.Images[0].Tag != "t6" {
			t.Fatalf("offset 3 before changes: %+v", p)
		}
		if p := list(success); p.Total != 0 || len(p.Images) != 0 {
			t.Fatalf("success before scans: %+v", p)
		}
	}

	// A scan result changes a cached page's row and another filter's total.
	d := storetest.Digest("cache-9")
	if err := writer.SetScanResult(ctx, d, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5, VulNum: 4}); err != nil {
		t.Fatal(err)
	}
	if p := list(base); p.Images[0].ScanStatus != inventory.ScanSuccess || p.Images[0].VulNum != 4 {
		t.Fatalf("after scan result: first row %+v", p.Images[0])
	}
	if p := list(success); p.Total != 1 || len(p.Images) != 1 || p.Images[0].Digest != d {
		t.Fatalf("success after scan result: %+v", p)
	}

	// A sync removes rows: totals, bookmarks and pages all move.
	sync(5)
	if p := list(base); p.Total != 5 || len(p.Images) != 3 || p.Images[0].Tag != "t4" {
		t.Fatalf("after shrinking sync: %+v", p)
	}
	if p := list(withOffset(base, 3)); p.Total != 5 || len(p.Images) != 2 || p.Images[0].Tag != "t1" {
		t.Fatalf("offset 3 after shrinking sync: %+v", p)
	}
	if p := list(success); p.Total != 0 {
		t.Fatalf("success after the scanned tag vanished: %+v", p)
	}
}

func withOffset(f inventory.Filter, offset int) inventory.Filter {
	f.Offset = offset
	return f
}
