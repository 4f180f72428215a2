package sqlstore

import (
	"context"
	"database/sql"
)

// SensitivePathWhitelist returns projectID's own sensitive-information file
// path whitelist in the order it was given; empty (not nil) when none is
// stored. It is read from the database on every call, with no cache, so a
// change made by any process applies to the next read of every process.
func (s *Store) SensitivePathWhitelist(ctx context.Context, projectID string) ([]string, error) {
	return readAll(ctx, s, s.read, "sensitive path whitelist of "+projectID, scanString,
		`SELECT path FROM sensitive_path_whitelist WHERE project_id = $1 ORDER BY position`, projectID)
}

// SetSensitivePathWhitelist replaces projectID's whitelist with paths, in
// one transaction: a reader sees the old list or the new one, never a mix.
// The caller validates the entries (the API does); an empty list clears it.
func (s *Store) SetSensitivePathWhitelist(ctx context.Context, projectID string, paths []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sensitive_path_whitelist WHERE project_id = $1`, projectID); err != nil {
			return s.errf("clear sensitive path whitelist of %s: %w", projectID, err)
		}
		for i, p := range s.texts(paths) {
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO sensitive_path_whitelist (project_id, position, path) VALUES ($1, $2, $3)`,
				projectID, i, p); err != nil {
				return s.errf("store sensitive path whitelist of %s: %w", projectID, err)
			}
		}
		return nil
	})
}
