package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// staleSignInRows is how many rows of sign_in_failures refilled to full a
// take deletes. A take adds at most one row and deletes up to this many
// stale ones, so stale rows (names nobody tried for a window) never pile
// up while takes go on: the table holds the names tried in the last
// window, bounded by the rate of sign-ins, plus stale rows no more than
// the takes since they went stale have not yet deleted. Unknown names
// count, so an attacker chooses how many names there are, not how fast.
const staleSignInRows = 16

// TakeSignInFailure reserves one failure of key's budget b at now (ms), as
// b.Take counts it. The row is locked for the transaction (FOR UPDATE on
// PostgreSQL; SQLite's write transactions run one at a time), so of two
// servers taking the last token one gets it and the other reads what it
// left. The row is inserted full first if missing: ON CONFLICT DO NOTHING
// waits for a concurrent insert of the same key to commit, then the
// SELECT reads its row.
func (s *Store) TakeSignInFailure(ctx context.Context, key string, b inventory.SignInBudget, now int64) (time.Duration, error) {
	if !b.Valid() {
		return 0, s.errf("take sign-in failure: budget %+v", b)
	}
	if !s.storable(key) {
		return 0, s.errf("take sign-in failure: key is not storable")
	}
	var wait time.Duration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sign_in_failures (name_key, tokens, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name_key) DO NOTHING`, key, float64(b.Burst), now); err != nil {
			return s.errf("take sign-in failure: %w", err)
		}
		var (
			tokens float64
			at     int64
		)
		if err := tx.QueryRowContext(ctx, `SELECT tokens, updated_at FROM sign_in_failures WHERE name_key = $1`+s.d.forUpdate(),
			key).Scan(&tokens, &at); err != nil {
			return s.errf("take sign-in failure: %w", err)
		}
		if tokens, at, wait = b.Take(tokens, at, now); wait > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sign_in_failures SET tokens = $1, updated_at = $2 WHERE name_key = $3`,
			tokens, at, key); err != nil {
			return s.errf("take sign-in failure: %w", err)
		}
		// Rows last taken from a window ago have refilled to full (tokens
		// never go below 0), the same as no row. SKIP LOCKED: the rows
		// other takes hold are theirs; waiting on them could deadlock.
		_, err := tx.ExecContext(ctx, `DELETE FROM sign_in_failures WHERE name_key IN (
				SELECT name_key FROM sign_in_failures WHERE updated_at <= $1 ORDER BY updated_at LIMIT $2`+s.d.skipLocked()+`)`,
			now-b.Window.Milliseconds(), staleSignInRows)
		return s.wrap(err, "delete stale sign-in failures")
	})
	if err != nil {
		return 0, err
	}
	return wait, nil
}

// RefundSignInFailure gives one token back to key's budget, up to its
// burst; nothing when key has no row (its bucket is full).
func (s *Store) RefundSignInFailure(ctx context.Context, key string, b inventory.SignInBudget) error {
	if !s.storable(key) {
		return nil
	}
	_, err := s.write.ExecContext(ctx, `UPDATE sign_in_failures
		SET tokens = CASE WHEN tokens + 1 > $1 THEN $1 ELSE tokens + 1 END WHERE name_key = $2`, float64(b.Burst), key)
	return s.wrap(err, "refund sign-in failure")
}

// ForgetSignInFailures deletes key's row: its bucket is full again.
func (s *Store) ForgetSignInFailures(ctx context.Context, key string) error {
	if !s.storable(key) {
		return nil
	}
	_, err := s.write.ExecContext(ctx, `DELETE FROM sign_in_failures WHERE name_key = $1`, key)
	return s.wrap(err, "forget sign-in failures")
}
