// Package store opens the database a URL names: the embedded SQLite default
// or, for the scale-out mode, PostgreSQL.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// Store is everything openhss persists.
type Store interface {
	inventory.Store
	jobs.Store
	vulndb.Store
}

// Open opens the store at url: "sqlite://PATH" (or a bare path) for the
// embedded default.
func Open(ctx context.Context, url string) (Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		return sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return nil, fmt.Errorf("store: the PostgreSQL store is not built yet; use sqlite://PATH")
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("store: unknown database URL scheme in %q (want sqlite:// or postgres://)", redact(url))
	default:
		return sqlite.Open(ctx, url)
	}
}

// redact hides a password in a database URL for error messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	return url[:scheme+3] + "***" + url[at:]
}
