package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// NewSchema creates an empty schema named prefix plus a random suffix in
// the database at dsn (a URL or key=value DSN), and returns a DSN whose
// connections use it (its search_path) and a function dropping it with everything in it. Tests and
// benchmarks sharing one server keep their tables apart with it.
func NewSchema(ctx context.Context, dsn, prefix string) (string, func(context.Context) error, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", nil, err
	}
	schema := prefix + hex.EncodeToString(b)
	withPath := dsn + " search_path=" + schema // a key=value DSN
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", nil, fmt.Errorf("postgres: DSN: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		withPath = u.String()
	}
	exec := func(ctx context.Context, stmt string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return fmt.Errorf("postgres: connect: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("postgres: %s: %w", stmt, err)
		}
		return nil
	}
	if err := exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		return "", nil, err
	}
	drop := func(ctx context.Context) error { return exec(ctx, `DROP SCHEMA `+schema+` CASCADE`) }
	return withPath, drop, nil
}
