package sqlstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// tokenStore is what the token test needs of an engine's store.
type tokenStore interface {
	CreateToken(ctx context.Context, t inventory.Token) error
	GetToken(ctx context.Context, hash string) (inventory.Token, error)
	RevokeToken(ctx context.Context, hash string, at int64) error
}

// engines opens two stores on one database per engine (two processes, as
// far as either can tell) and returns, per engine, the stores and the
// shared Store of the first, whose clock the test sets.
func engines(t *testing.T) map[string]func(t *testing.T) (a, b tokenStore, shared *sqlstore.Store) {
	return map[string]func(t *testing.T) (tokenStore, tokenStore, *sqlstore.Store){
		"sqlite": func(t *testing.T) (tokenStore, tokenStore, *sqlstore.Store) {
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
		"postgres": func(t *testing.T) (tokenStore, tokenStore, *sqlstore.Store) {
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
func postgresSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("OPENHSS_TEST_POSTGRES is not set (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable): skipping")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "openhss_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
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
