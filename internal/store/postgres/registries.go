package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlq"
)

// CreateRegistry adds a connection; ErrConflict when the project already has
// one with the same address and namespace.
func (s *Store) CreateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error) {
	if r.EnterpriseProjectID == "" {
		r.EnterpriseProjectID = inventory.DefaultEnterpriseProject
	}
	if r.Status == "" {
		r.Status = inventory.RegistryPending
	}
	if r.CreatedAt == 0 {
		r.CreatedAt = time.Now().UnixMilli()
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO registries (project_id, enterprise_project_id, name, type, api_version,
		protocol, addr, username, password_sealed, namespace, connect_cluster_id, get_scan_image_channel, domain_name,
		shared_expires, instance_id, instance_name, instance_url, status, fail_reason, latest_sync_time, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id`,
		r.ProjectID, r.EnterpriseProjectID, r.Name, string(r.Type), r.APIVersion, r.Protocol, r.Addr, r.Username,
		r.PasswordSealed, r.Namespace, r.ConnectClusterID, r.GetScanImageChannel, r.DomainName, r.SharedExpires,
		r.InstanceID, r.InstanceName, r.InstanceURL, r.Status, r.FailReason, r.LatestSyncTime, r.CreatedAt).Scan(&id)
	if isUnique(err) {
		return inventory.Registry{}, fmt.Errorf("postgres: registry %s/%s: %w", r.Addr, r.Namespace, inventory.ErrConflict)
	}
	if err != nil {
		return inventory.Registry{}, fmt.Errorf("postgres: create registry: %w", err)
	}
	return s.GetRegistry(ctx, r.ProjectID, id)
}

// GetRegistry returns one connection of a project.
func (s *Store) GetRegistry(ctx context.Context, projectID string, id int64) (inventory.Registry, error) {
	r, err := sqlq.ScanRegistry(s.pool.QueryRow(ctx, `SELECT `+sqlq.RegistryCols+` FROM registries r WHERE r.id = $1 AND r.project_id = $2`, id, projectID))
	if err != nil {
		return r, notFound(err, fmt.Sprintf("registry %d", id))
	}
	return r, nil
}

// ListRegistries returns a page of a project's connections, by id, and the
// count of all matching.
func (s *Store) ListRegistries(ctx context.Context, f inventory.RegistryFilter) ([]inventory.Registry, int64, error) {
	if f.EnterpriseProjects != nil && len(f.EnterpriseProjects) == 0 {
		return []inventory.Registry{}, 0, nil // granted no enterprise project: nothing to see
	}
	for _, v := range append([]string{f.Name, string(f.Type), f.Addr, f.Status}, f.EnterpriseProjects...) {
		if !storable(v) {
			return []inventory.Registry{}, 0, nil // matches no stored string
		}
	}
	b := sqlq.Registries(sqlq.Postgres, f)
	where := b.SQL()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list registries: %w", err)
	}
	defer tx.Rollback(ctx)
	var total int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM registries r WHERE `+where, b.Args()...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: count registries: %w", err)
	}
	var limit *int // NULL: no limit
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := tx.Query(ctx, `SELECT `+sqlq.RegistryCols+` FROM registries r WHERE `+where+` ORDER BY r.id LIMIT `+
		b.Arg(limit)+`::int8 OFFSET `+b.Arg(max(f.Offset, 0)), b.Args()...)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list registries: %w", err)
	}
	out, err := collectRegistries(rows)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list registries: %w", err)
	}
	return out, total, nil
}

func collectRegistries(rows pgx.Rows) ([]inventory.Registry, error) {
	defer rows.Close()
	out := []inventory.Registry{}
	for rows.Next() {
		r, err := sqlq.ScanRegistry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RegistriesByImageType returns the project's connections whose rows have
// image type t.
func (s *Store) RegistriesByImageType(ctx context.Context, projectID string, t inventory.ImageType) ([]inventory.Registry, error) {
	types := sqlq.RegistryTypes(t)
	if len(types) == 0 {
		return []inventory.Registry{}, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sqlq.RegistryCols+` FROM registries r WHERE r.project_id = $1 AND r.type = ANY($2)
		ORDER BY r.id`, projectID, types)
	if err != nil {
		return nil, fmt.Errorf("postgres: registries by type: %w", err)
	}
	out, err := collectRegistries(rows)
	if err != nil {
		return nil, fmt.Errorf("postgres: registries by type: %w", err)
	}
	return out, nil
}

// UpdateRegistry replaces a connection's settings (not its status, sync time
// or creation time) and copies the fields rows carry onto its rows. A nil
// PasswordSealed keeps the stored password (passwords are write-only).
// Changing the type to one of another image type is refused (ErrConflict).
func (s *Store) UpdateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error) {
	if r.EnterpriseProjectID == "" {
		r.EnterpriseProjectID = inventory.DefaultEnterpriseProject
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := lockRegistry(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		if old.projectID != r.ProjectID {
			return fmt.Errorf("postgres: registry %d: %w", r.ID, inventory.ErrNotFound)
		}
		if r.Type == "" {
			r.Type = old.typ
		}
		if r.Type.ImageType() != old.typ.ImageType() {
			return fmt.Errorf("postgres: registry %d: type %s → %s changes image type: %w", r.ID, old.typ, r.Type, inventory.ErrConflict)
		}
		_, err = tx.Exec(ctx, `UPDATE registries SET enterprise_project_id = $1, name = $2, type = $3, api_version = $4,
			protocol = $5, addr = $6, username = $7, password_sealed = coalesce($8, password_sealed), namespace = $9,
			connect_cluster_id = $10, get_scan_image_channel = $11, domain_name = $12, shared_expires = $13, instance_id = $14,
			instance_name = $15, instance_url = $16 WHERE id = $17`,
			r.EnterpriseProjectID, r.Name, string(r.Type), r.APIVersion, r.Protocol, r.Addr, r.Username, r.PasswordSealed,
			r.Namespace, r.ConnectClusterID, r.GetScanImageChannel, r.DomainName, r.SharedExpires, r.InstanceID,
			r.InstanceName, r.InstanceURL, r.ID)
		if isUnique(err) {
			return fmt.Errorf("postgres: registry %s/%s: %w", r.Addr, r.Namespace, inventory.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("postgres: update registry %d: %w", r.ID, err)
		}
		_, err = tx.Exec(ctx, `UPDATE images SET enterprise_project_id = $1, domain_name = $2, shared_expires = $3,
			instance_id = $4, instance_name = $5, instance_url = $6
			WHERE registry_id = $7 AND project_id = $8
				AND (enterprise_project_id, domain_name, shared_expires, instance_id, instance_name, instance_url)
				IS DISTINCT FROM ($1, $2, $3, $4, $5, $6)`,
			r.EnterpriseProjectID, r.DomainName, r.SharedExpires, r.InstanceID, r.InstanceName, r.InstanceURL, r.ID, r.ProjectID)
		if err != nil {
			return fmt.Errorf("postgres: update rows of registry %d: %w", r.ID, err)
		}
		return nil
	})
	if err != nil {
		return inventory.Registry{}, err
	}
	return s.GetRegistry(ctx, r.ProjectID, r.ID)
}

// DeleteRegistry removes the connection and every row synced from it.
func (s *Store) DeleteRegistry(ctx context.Context, projectID string, id int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM registries WHERE id = $1 AND project_id = $2`, id, projectID)
		if err != nil {
			return fmt.Errorf("postgres: delete registry %d: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("postgres: registry %d: %w", id, inventory.ErrNotFound)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM images WHERE registry_id = $1 AND project_id = $2`, id, projectID); err != nil {
			return fmt.Errorf("postgres: delete rows of registry %d: %w", id, err)
		}
		return nil
	})
}

// SetRegistryStatus records a sync's outcome on the connection.
func (s *Store) SetRegistryStatus(ctx context.Context, id int64, status, failReason string, syncedAt int64) error {
	tag, err := s.pool.Exec(ctx, `UPDATE registries SET status = $1, fail_reason = $2,
		latest_sync_time = CASE WHEN $3::int8 > 0 THEN $3::int8 ELSE latest_sync_time END WHERE id = $4`,
		status, failReason, syncedAt, id)
	if err != nil {
		return fmt.Errorf("postgres: registry %d status: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: registry %d: %w", id, inventory.ErrNotFound)
	}
	return nil
}
