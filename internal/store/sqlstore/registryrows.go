package sqlstore

import "github.com/openhss/openhss/internal/inventory"

// RegistryCols are the columns of registries (aliased r) ScanRegistry reads.
const RegistryCols = `r.id, r.project_id, r.enterprise_project_id, r.name, r.type, r.api_version, r.protocol, r.addr,
	r.username, r.password_sealed, r.namespace, r.connect_cluster_id, r.get_scan_image_channel, r.domain_name,
	r.shared_expires, r.instance_id, r.instance_name, r.instance_url, r.status, r.fail_reason, r.latest_sync_time,
	r.created_at, r.images_num`

// rowScanner is a row of either store's driver (*sql.Row, *sql.Rows, pgx.Row,
// pgx.Rows).
type rowScanner interface{ Scan(dest ...any) error }

// ScanRegistry reads a row of RegistryCols.
func ScanRegistry(row rowScanner) (inventory.Registry, error) {
	var r inventory.Registry
	var typ string
	err := row.Scan(&r.ID, &r.ProjectID, &r.EnterpriseProjectID, &r.Name, &typ, &r.APIVersion, &r.Protocol, &r.Addr,
		&r.Username, &r.PasswordSealed, &r.Namespace, &r.ConnectClusterID, &r.GetScanImageChannel, &r.DomainName,
		&r.SharedExpires, &r.InstanceID, &r.InstanceName, &r.InstanceURL, &r.Status, &r.FailReason, &r.LatestSyncTime,
		&r.CreatedAt, &r.ImagesNum)
	r.Type = inventory.RegistryType(typ)
	return r, err
}

// Registries translates f into conditions over registries aliased r (the
// caller has already answered a filter granting no enterprise project).
func Registries(d Dialect, f inventory.RegistryFilter) *builder {
	b := newScoped(d, "r.", f.ProjectID, f.EnterpriseProjects)
	if f.Name != "" {
		b.Contains("r.name", f.Name)
	}
	if f.ID != 0 {
		b.Eq("r.id", f.ID)
	}
	if f.Type != "" {
		b.Eq("r.type", string(f.Type))
	}
	if f.Addr != "" {
		b.Contains("r.addr", f.Addr)
	}
	if f.Status != "" {
		b.Eq("r.status", f.Status)
	}
	if f.Statuses != nil {
		b.In("r.status", f.Statuses)
	}
	return b
}

// RegistryTypes are the connection types whose rows have image type t.
func RegistryTypes(t inventory.ImageType) []string {
	var types []string
	for _, rt := range []inventory.RegistryType{inventory.SwrPrivate, inventory.SwrShared, inventory.SwrEnterprise,
		inventory.Harbor, inventory.Jfrog, inventory.OtherRegistry} {
		if rt.ImageType() == t {
			types = append(types, string(rt))
		}
	}
	return types
}
