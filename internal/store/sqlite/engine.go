package sqlite

import (
	"time"

	"github.com/openhss/openhss/internal/store/sqlq"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// engine is what SQLite does its own way for sqlstore.
type engine struct{}

var _ sqlstore.Engine = engine{}

func (engine) Dialect() sqlq.Dialect { return sqlq.SQLite }

func (engine) IsUnique(err error) bool { return isUnique(err) }

// Storable: SQLite stores any string.
func (engine) Storable(string) bool { return true }

// LeaseNow is the caller's clock: SQLite serves one host.
func (engine) LeaseNow(b *sqlq.Builder, now time.Time) string { return b.Arg(now.UnixMilli()) }

// SkipLocked is nothing: one writer at a time, no row is ever locked by
// another claimer.
func (engine) SkipLocked() string { return "" }

// ForUpdate is nothing: every write transaction begins IMMEDIATE, so it
// already runs alone.
func (engine) ForUpdate() string { return "" }

// Retryable: SQLite aborts no transaction to break a deadlock; its writers
// queue for the one write lock.
func (engine) Retryable(error) bool { return false }

// XactLock is nothing: write transactions already run one at a time.
func (engine) XactLock(...string) (string, []any) { return "", nil }

// ListGeneration is images_gen, one counter for the whole database that a
// trigger bumps on every change of images.
func (engine) ListGeneration(string) (string, []any) {
	return `SELECT gen, 0 FROM images_gen WHERE one = 1`, nil
}
