package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO registries (project_id, enterprise_project_id, name, type, api_version,
			protocol, addr, username, password_sealed, namespace, connect_cluster_id, get_scan_image_channel, domain_name,
			shared_expires, instance_id, instance_name, instance_url, status, fail_reason, latest_sync_time, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.ProjectID, r.EnterpriseProjectID, r.Name, string(r.Type), r.APIVersion, r.Protocol, r.Addr, r.Username,
			r.PasswordSealed, r.Namespace, r.ConnectClusterID, r.GetScanImageChannel, r.DomainName, r.SharedExpires,
			r.InstanceID, r.InstanceName, r.InstanceURL, r.Status, r.FailReason, r.LatestSyncTime, r.CreatedAt).Scan(&id)
	})
	if isUnique(err) {
		return inventory.Registry{}, fmt.Errorf("sqlite: registry %s/%s: %w", r.Addr, r.Namespace, inventory.ErrConflict)
	}
	if err != nil {
		return inventory.Registry{}, fmt.Errorf("sqlite: create registry: %w", err)
	}
	return s.GetRegistry(ctx, r.ProjectID, id)
}

// GetRegistry returns one connection of a project.
func (s *Store) GetRegistry(ctx context.Context, projectID string, id int64) (inventory.Registry, error) {
	r, err := sqlq.ScanRegistry(s.read.QueryRowContext(ctx, `SELECT `+sqlq.RegistryCols+` FROM registries r WHERE r.id = ? AND r.project_id = ?`, id, projectID))
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
	b := sqlq.Registries(sqlq.SQLite, f)
	where, args := b.SQL(), b.Args()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list registries: %w", err)
	}
	defer tx.Rollback()
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM registries r WHERE `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: count registries: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+sqlq.RegistryCols+` FROM registries r WHERE `+where+` ORDER BY r.id LIMIT ? OFFSET ?`,
		append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list registries: %w", err)
	}
	defer rows.Close()
	out := []inventory.Registry{}
	for rows.Next() {
		r, err := sqlq.ScanRegistry(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("sqlite: list registries: %w", err)
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// RegistriesByImageType returns the project's connections whose rows have
// image type t.
func (s *Store) RegistriesByImageType(ctx context.Context, projectID string, t inventory.ImageType) ([]inventory.Registry, error) {
	types := sqlq.RegistryTypes(t)
	if len(types) == 0 {
		return []inventory.Registry{}, nil
	}
	b := sqlq.New(sqlq.SQLite)
	b.Eq("r.project_id", projectID)
	b.In("r.type", types)
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlq.RegistryCols+` FROM registries r WHERE `+b.SQL()+` ORDER BY r.id`, b.Args()...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: registries by type: %w", err)
	}
	defer rows.Close()
	out := []inventory.Registry{}
	for rows.Next() {
		r, err := sqlq.ScanRegistry(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: registries by type: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateRegistry replaces a connection's settings (not its status, sync time
// or creation time) and copies the fields rows carry onto its rows. A nil
// PasswordSealed keeps the stored password (passwords are write-only).
// Changing the type to one of another image type is refused (ErrConflict):
// rows would change list, which a sync, not an edit, should decide.
func (s *Store) UpdateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error) {
	if r.EnterpriseProjectID == "" {
		r.EnterpriseProjectID = inventory.DefaultEnterpriseProject
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := loadRegistryRow(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		if old.projectID != r.ProjectID {
			return fmt.Errorf("sqlite: registry %d: %w", r.ID, inventory.ErrNotFound)
		}
		if r.Type == "" {
			r.Type = old.typ
		}
		if r.Type.ImageType() != old.typ.ImageType() {
			return fmt.Errorf("sqlite: registry %d: type %s → %s changes image type: %w", r.ID, old.typ, r.Type, inventory.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `UPDATE registries SET enterprise_project_id = ?, name = ?, type = ?, api_version = ?,
			protocol = ?, addr = ?, username = ?, password_sealed = coalesce(?, password_sealed), namespace = ?,
			connect_cluster_id = ?, get_scan_image_channel = ?, domain_name = ?, shared_expires = ?, instance_id = ?,
			instance_name = ?, instance_url = ? WHERE id = ?`,
			r.EnterpriseProjectID, r.Name, string(r.Type), r.APIVersion, r.Protocol, r.Addr, r.Username, r.PasswordSealed,
			r.Namespace, r.ConnectClusterID, r.GetScanImageChannel, r.DomainName, r.SharedExpires, r.InstanceID,
			r.InstanceName, r.InstanceURL, r.ID)
		if isUnique(err) {
			return fmt.Errorf("sqlite: registry %s/%s: %w", r.Addr, r.Namespace, inventory.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: update registry %d: %w", r.ID, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE images SET enterprise_project_id = ?, domain_name = ?, shared_expires = ?,
			instance_id = ?, instance_name = ?, instance_url = ?
			WHERE registry_id = ? AND project_id = ? AND (enterprise_project_id, domain_name, shared_expires, instance_id, instance_name, instance_url)
				IS NOT (?, ?, ?, ?, ?, ?)`,
			r.EnterpriseProjectID, r.DomainName, r.SharedExpires, r.InstanceID, r.InstanceName, r.InstanceURL, r.ID, r.ProjectID,
			r.EnterpriseProjectID, r.DomainName, r.SharedExpires, r.InstanceID, r.InstanceName, r.InstanceURL)
		if err != nil {
			return fmt.Errorf("sqlite: update rows of registry %d: %w", r.ID, err)
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
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM registries WHERE id = ? AND project_id = ?`, id, projectID)
		if err != nil {
			return fmt.Errorf("sqlite: delete registry %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sqlite: registry %d: %w", id, inventory.ErrNotFound)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM images WHERE registry_id = ? AND project_id = ?`, id, projectID); err != nil {
			return fmt.Errorf("sqlite: delete rows of registry %d: %w", id, err)
		}
		return nil
	})
}

// SetRegistryStatus records a sync's outcome on the connection.
func (s *Store) SetRegistryStatus(ctx context.Context, id int64, status, failReason string, syncedAt int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE registries SET status = ?, fail_reason = ?,
			latest_sync_time = CASE WHEN ? > 0 THEN ? ELSE latest_sync_time END WHERE id = ?`,
			status, failReason, syncedAt, syncedAt, id)
		if err != nil {
			return fmt.Errorf("sqlite: registry %d status: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sqlite: registry %d: %w", id, inventory.ErrNotFound)
		}
		return nil
	})
}
