package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// CreateRegistry adds a connection; ErrConflict when the project already has
// one with the same address and namespace.
func (s *Store) CreateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error) {
	r.EnterpriseProjectID = cmp.Or(r.EnterpriseProjectID, inventory.DefaultEnterpriseProject)
	r.Status = cmp.Or(r.Status, inventory.RegistryPending)
	r.CreatedAt = cmp.Or(r.CreatedAt, time.Now().UnixMilli())
	var id int64
	err := s.write.QueryRowContext(ctx, `INSERT INTO registries (project_id, enterprise_project_id, name, type, api_version,
		protocol, addr, username, password_sealed, namespace, connect_cluster_id, get_scan_image_channel, domain_name,
		shared_expires, instance_id, instance_name, instance_url, status, fail_reason, latest_sync_time, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id`,
		r.ProjectID, r.EnterpriseProjectID, r.Name, string(r.Type), r.APIVersion, r.Protocol, r.Addr, r.Username,
		r.PasswordSealed, r.Namespace, r.ConnectClusterID, r.GetScanImageChannel, r.DomainName, r.SharedExpires,
		r.InstanceID, r.InstanceName, r.InstanceURL, r.Status, r.FailReason, r.LatestSyncTime, r.CreatedAt).Scan(&id)
	if err := s.conflict(err, "registry "+r.Addr+"/"+r.Namespace, "create registry"); err != nil {
		return inventory.Registry{}, err
	}
	return s.GetRegistry(ctx, r.ProjectID, id)
}

// GetRegistry returns one connection of a project.
func (s *Store) GetRegistry(ctx context.Context, projectID string, id int64) (inventory.Registry, error) {
	r, err := ScanRegistry(s.read.QueryRowContext(ctx, `SELECT `+RegistryCols+` FROM registries r
		WHERE r.id = $1 AND r.project_id = $2`, id, projectID))
	return r, s.notFound(err, fmt.Sprintf("registry %d", id))
}

// ListRegistries returns a page of a project's connections, by id, and the
// count of all matching, both from one snapshot.
func (s *Store) ListRegistries(ctx context.Context, f inventory.RegistryFilter) ([]inventory.Registry, int64, error) {
	if !s.scopeCanMatch(f.ProjectID, f.EnterpriseProjects) || !s.storable(f.Name, string(f.Type), f.Addr, f.Status) {
		return []inventory.Registry{}, 0, nil // granted no enterprise project, or matches no stored string
	}
	b := Registries(s.d, f)
	total, out, err := pageOf(ctx, s, "list registries", b, RegistryCols, `FROM registries r WHERE `+b.SQL(), "r.id",
		f.Offset, f.Limit, ScanRegistry)
	return out, total, err
}

// RegistriesByImageType returns the project's connections whose rows have
// image type t.
func (s *Store) RegistriesByImageType(ctx context.Context, projectID string, t inventory.ImageType) ([]inventory.Registry, error) {
	types := RegistryTypes(t)
	if len(types) == 0 {
		return []inventory.Registry{}, nil
	}
	b := newBuilder(s.d)
	b.Eq("r.project_id", projectID)
	b.In("r.type", types)
	return readAll(ctx, s, s.read, "registries by type", ScanRegistry, `SELECT `+RegistryCols+` FROM registries r WHERE `+b.SQL()+` ORDER BY r.id`, b.Args()...)
}

// registryRow is what rows copy from their registry connection.
type registryRow struct {
	projectID, enterpriseProjectID string
	typ                            inventory.RegistryType
	domainName                     string
	sharedExpires                  int64
	instanceID, instanceName       string
	instanceURL                    string
}

// lockRegistry reads a connection in tx and, where writers run
// concurrently, holds its row lock until tx ends: every writer of a
// connection's rows takes it first, so the counters the triggers keep per
// connection never see two writers at once.
func (s *Store) lockRegistry(ctx context.Context, tx *sql.Tx, id int64) (registryRow, error) {
	var r registryRow
	err := tx.QueryRowContext(ctx, `SELECT project_id, enterprise_project_id, type, domain_name, shared_expires,
		instance_id, instance_name, instance_url FROM registries WHERE id = $1`+s.d.forUpdate(), id).
		Scan(&r.projectID, &r.enterpriseProjectID, &r.typ, &r.domainName, &r.sharedExpires, &r.instanceID, &r.instanceName, &r.instanceURL)
	return r, s.notFound(err, fmt.Sprintf("registry %d", id))
}

// UpdateRegistry replaces a connection's settings (not its status, sync time
// or creation time) and copies the fields rows carry onto its rows. A nil
// PasswordSealed keeps the stored password (passwords are write-only).
// Changing the type to one of another image type is refused (ErrConflict):
// rows would change list, which a sync, not an edit, should decide.
func (s *Store) UpdateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error) {
	r.EnterpriseProjectID = cmp.Or(r.EnterpriseProjectID, inventory.DefaultEnterpriseProject)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.lockRegistry(ctx, tx, r.ID)
		if err != nil {
			return err
		}
		if old.projectID != r.ProjectID {
			return s.errf("registry %d: %w", r.ID, inventory.ErrNotFound)
		}
		r.Type = cmp.Or(r.Type, old.typ)
		if r.Type.ImageType() != old.typ.ImageType() {
			return s.errf("registry %d: type %s → %s changes image type: %w", r.ID, old.typ, r.Type, inventory.ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `UPDATE registries SET enterprise_project_id = $1, name = $2, type = $3, api_version = $4,
			protocol = $5, addr = $6, username = $7, password_sealed = coalesce($8, password_sealed), namespace = $9,
			connect_cluster_id = $10, get_scan_image_channel = $11, domain_name = $12, shared_expires = $13, instance_id = $14,
			instance_name = $15, instance_url = $16 WHERE id = $17`,
			r.EnterpriseProjectID, r.Name, string(r.Type), r.APIVersion, r.Protocol, r.Addr, r.Username, r.PasswordSealed,
			r.Namespace, r.ConnectClusterID, r.GetScanImageChannel, r.DomainName, r.SharedExpires, r.InstanceID,
			r.InstanceName, r.InstanceURL, r.ID)
		if err := s.conflict(err, "registry "+r.Addr+"/"+r.Namespace, fmt.Sprintf("update registry %d", r.ID)); err != nil {
			return err
		}
		// Only rows that differ: an unchanged edit writes nothing, and so
		// moves no list generation.
		_, err = tx.ExecContext(ctx, `UPDATE images SET enterprise_project_id = $1, domain_name = $2, shared_expires = $3,
			instance_id = $4, instance_name = $5, instance_url = $6
			WHERE registry_id = $7 AND project_id = $8
				AND (enterprise_project_id, domain_name, shared_expires, instance_id, instance_name, instance_url)
				IS DISTINCT FROM ($1, $2, $3, $4, $5, $6)`,
			r.EnterpriseProjectID, r.DomainName, r.SharedExpires, r.InstanceID, r.InstanceName, r.InstanceURL, r.ID, r.ProjectID)
		return s.wrap(err, fmt.Sprintf("update rows of registry %d", r.ID))
	})
	if err != nil {
		return inventory.Registry{}, err
	}
	return s.GetRegistry(ctx, r.ProjectID, r.ID)
}

// DeleteRegistry removes the connection and every row synced from it: a
// DeleteRegistries of one id.
func (s *Store) DeleteRegistry(ctx context.Context, projectID string, id int64) error {
	return s.DeleteRegistries(ctx, projectID, nil, []int64{id})
}

// SetRegistryStatus records a sync's outcome on the connection; syncedAt
// (ms) 0 keeps the last sync time.
func (s *Store) SetRegistryStatus(ctx context.Context, id int64, status, failReason string, syncedAt int64) error {
	return s.execFound(ctx, s.write, fmt.Sprintf("registry %d", id), fmt.Sprintf("registry %d status", id),
		`UPDATE registries SET status = $1, fail_reason = $2,
		latest_sync_time = CASE WHEN CAST($3 AS BIGINT) > 0 THEN CAST($3 AS BIGINT) ELSE latest_sync_time END WHERE id = $4`,
		status, failReason, syncedAt, id)
}
