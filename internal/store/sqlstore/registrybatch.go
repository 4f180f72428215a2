package sqlstore

import (
	"context"
	"database/sql"
	"slices"

	"github.com/openhss/openhss/internal/inventory"
)

// DeleteRegistries removes the connections and every row synced from them
// in one transaction. It is all or none: when any id is not a connection of
// the project inside enterpriseProjects (nil: any), the transaction is
// rolled back and the error wraps ErrNotFound, so a typo in one id never
// leaves the others half deleted.
func (s *Store) DeleteRegistries(ctx context.Context, projectID string, enterpriseProjects []string, ids []int64) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) == 0 {
		return nil
	}
	if ids[0] <= 0 || !s.scopeCanMatch(projectID, enterpriseProjects) {
		return s.errf("registries %v: %w", ids, inventory.ErrNotFound)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		b := newScoped(s.d, "", projectID, enterpriseProjects)
		b.InInts("id", ids)
		n, err := execCount(ctx, tx, `DELETE FROM registries WHERE `+b.SQL(), b.Args()...)
		if err != nil {
			return s.errf("delete registries: %w", err)
		}
		if n != int64(len(ids)) {
			// inTx rolls back: the ones that did match stay.
			return s.errf("registries %v: %d of %d found: %w", ids, n, len(ids), inventory.ErrNotFound)
		}
		rows := newBuilder(s.d)
		rows.Eq("project_id", projectID)
		rows.InInts("registry_id", ids)
		_, err = tx.ExecContext(ctx, `DELETE FROM images WHERE `+rows.SQL(), rows.Args()...)
		return s.wrap(err, "delete rows of registries")
	})
}

// CountRegistriesByStatus counts the matching connections per stored
// status; statuses no connection has are absent.
func (s *Store) CountRegistriesByStatus(ctx context.Context, f inventory.RegistryStatsFilter) (map[string]int64, error) {
	out := map[string]int64{}
	if !s.scopeCanMatch(f.ProjectID, f.EnterpriseProjects) || (f.Types != nil && len(f.Types) == 0) {
		return out, nil
	}
	types := make([]string, len(f.Types))
	for i, t := range f.Types {
		types[i] = string(t)
	}
	if !s.storable(append(append([]string{f.ProjectID}, f.EnterpriseProjects...), types...)...) {
		return out, nil // matches no stored string
	}
	b := newScoped(s.d, "", f.ProjectID, f.EnterpriseProjects)
	if f.Types != nil {
		b.In("type", types)
	}
	out, err := queryCounts(ctx, s.read, `SELECT status, count(*) FROM registries WHERE `+b.SQL()+` GROUP BY status`, b.Args()...)
	if err != nil {
		return nil, s.errf("count registries: %w", err)
	}
	return out, nil
}
