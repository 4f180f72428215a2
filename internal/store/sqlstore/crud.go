package sqlstore

import (
	"context"
	"database/sql"

	"github.com/openhss/openhss/internal/inventory"
)

// execer is a pool or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// execFound runs query on e, a write of the row what names: an error of op
// when it fails, one wrapping ErrNotFound when it changed no row.
func (s *Store) execFound(ctx context.Context, e execer, what, op, query string, args ...any) error {
	n, err := execCount(ctx, e, query, args...)
	if err != nil {
		return s.errf("%s: %w", op, err)
	}
	if n == 0 {
		return s.errf("%s: %w", what, inventory.ErrNotFound)
	}
	return nil
}

// execCount runs query on e and returns how many rows it changed.
func execCount(ctx context.Context, e execer, query string, args ...any) (int64, error) {
	res, err := e.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
