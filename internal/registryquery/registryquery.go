// Package registryquery reads the registry list's query parameters
// (ListRegistry, GET /v5/{project_id}/image/registries) into an
// inventory.RegistryFilter. It is outside the HTTP layer so that the API and
// the web console's Registries page parse the same parameters with the same
// bounds and so ask the store the same question (docs/console.md).
package registryquery

import (
	"net/url"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
)

// List is a parsed registry list query: the store filter without the
// caller-dependent parts (project and enterprise projects), plus the raw
// enterprise_project_id that IAM resolves.
type List struct {
	Filter            inventory.RegistryFilter
	EnterpriseProject string
}

// Parse validates the query of the registry list. It is pure: the caller
// resolves EnterpriseProject and fills ProjectID.
func Parse(v url.Values) (List, *imagequery.ParamError) {
	q := &imagequery.Reader{V: v}
	var l List
	f := &l.Filter
	l.EnterpriseProject = q.Text("enterprise_project_id", imagequery.MaxEnterpriseID)
	f.Name = q.Text("registry_name", registry.MaxNameLen)
	f.Addr = q.Text("registry_addr", registry.MaxAddrLen)
	if s, ok := q.Raw("registry_id"); ok && s != "" {
		id, ok := imagequery.ParseID(s)
		if !ok {
			return List{}, imagequery.Invalid("registry_id", "must be a positive integer")
		}
		f.ID = id
	}
	if s, ok := q.Raw("registry_type"); ok && s != "" {
		if !inventory.RegistryType(s).Valid() {
			return List{}, imagequery.Invalid("registry_type", "must be one of SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
		}
		f.Type = inventory.RegistryType(s)
	}
	if s, ok := q.Raw("status"); ok && s != "" {
		// The SDK's values; accessing stands for the stored pending and
		// syncing (inventory.APIRegistryStatus).
		f.Statuses = inventory.StoredRegistryStatuses(s)
		if f.Statuses == nil {
			return List{}, imagequery.Invalid("status", "must be one of success, fail, accessing")
		}
	}
	f.Offset, f.Limit = q.Page()
	if q.Err != nil {
		return List{}, q.Err
	}
	return l, nil
}
