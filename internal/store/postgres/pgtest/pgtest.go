// Package pgtest gives a test a PostgreSQL schema of its own on the server
// of OPENHSS_TEST_POSTGRES.
package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/openhss/openhss/internal/store/postgres"
)

// DSN is the server the tests use (OPENHSS_TEST_POSTGRES), "" when unset.
func DSN() string { return os.Getenv("OPENHSS_TEST_POSTGRES") }

// Schema creates an empty schema (named prefix plus a random suffix) in the
// database at dsn, dropped when the test ends, and returns a DSN whose
// connections use it: tests, and test binaries running in parallel, never
// see each other's tables.
func Schema(tb testing.TB, dsn, prefix string) string {
	tb.Helper()
	ctx := context.Background()
	schemaDSN, drop, err := postgres.NewSchema(ctx, dsn, prefix)
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
