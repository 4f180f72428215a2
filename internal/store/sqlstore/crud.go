package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openhss/openhss/internal/inventory"
)

// execer is a pool or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// execFound runs query on e, a write of the row what names: an error of op
// when it fails, one wrapping ErrNotFound when it changed no row.
func (s *Store) execFound(ctx context.Context, e execer, what, op, query string, args ...any) error {
	res, err := e.ExecContext(ctx, query, args...)
	if err != nil {
		return s.errf("%s: %w", op, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return s.errf("%s: %w", what, errors.Join(inventory.ErrNotFound, err))
	}
	return nil
}
