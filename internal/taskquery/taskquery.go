// Package taskquery reads the task list's query parameters
// (ListImageScanTask, GET /v5/{project_id}/image/tasks) into a tasks.Filter.
// It is outside the HTTP layer so that the API and the web console's Tasks
// page parse the same parameters with the same bounds and so ask the store
// the same question (docs/api.md, Tasks; docs/console.md).
package taskquery

import (
	"net/url"
	"strings"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/tasks"
)

// Bounds of the task list parameters.
const (
	MaxFilterLen = 256 // task_name and task_id
	// MaxTime bounds create_time and end_time (ms): year 2099.
	MaxTime      = 4_070_880_000_000
	MaxScanScope = 0x7fffffff
)

// ScanScope is a scan_scope value of a task with its name.
type ScanScope struct {
	Value int32
	Label string
}

// ScanScopes are the scan_scope values a task is made with by name: every
// part (the default of a scan task and of the deprecated batch-scan) and
// each part alone, its whole group of bits as the SDK numbers it. The
// console's Tasks form offers them; the filter is exact, so a task made
// with another mask (two parts, or one bit of a group) is found by its
// own value, which the URL takes (any value Parse accepts).
var ScanScopes = []ScanScope{
	{int32(scanresult.ScopeAll), "every part"},
	{int32(scanresult.ScopeVulnerabilities), "vulnerabilities"},
	{int32(scanresult.ScopeBaseline), "baseline"},
	{int32(scanresult.ScopeMalware), "malware"},
	{int32(scanresult.ScopeSecrets), "sensitive information"},
	{int32(scanresult.ScopeCompliance), "software compliance"},
}

// List is a parsed task list query: the store filter without the project,
// plus the raw enterprise_project_id that IAM checks.
type List struct {
	Filter            tasks.Filter
	EnterpriseProject string
}

// Parse validates the query of the task list. It is pure: the caller
// checks EnterpriseProject and fills ProjectID.
func Parse(v url.Values) (List, *imagequery.ParamError) {
	q := &imagequery.Reader{V: v}
	var l List
	f := &l.Filter
	l.EnterpriseProject = q.Text("enterprise_project_id", imagequery.MaxEnterpriseID)
	typ, ok := q.Raw("type")
	if q.Err != nil {
		return List{}, q.Err
	}
	if !ok || typ == "" {
		return List{}, imagequery.Invalid("type", "is required (image_sync or image_scan)")
	}
	f.Type = tasks.Type(typ)
	if !f.Type.Valid() {
		return List{}, imagequery.Invalid("type", "must be image_sync or image_scan")
	}
	if k, ok := q.Raw("task_type"); ok && k != "" {
		f.Kind = tasks.Kind(k)
		if !f.Kind.ValidFor(f.Type) {
			if f.Type == tasks.Sync {
				return List{}, imagequery.Invalid("task_type", "must be manualSync or autoSync for type image_sync")
			}
			return List{}, imagequery.Invalid("task_type", "must be manual or cycle for type image_scan")
		}
	}
	if g, ok := q.Raw("global_image_type"); ok && g != "" {
		switch g {
		case "registry":
			f.ImageType = "registry"
		case "local", "local_image":
			f.ImageType = "local"
		default:
			return List{}, imagequery.Invalid("global_image_type", "must be local or registry")
		}
	}
	f.Name = q.Text("task_name", MaxFilterLen)
	f.TaskID = q.Text("task_id", MaxFilterLen)
	if st, ok := q.Raw("task_status"); ok && st != "" {
		ended := st == "finished"
		if st != "finished" && st != "scanning" {
			return List{}, imagequery.Invalid("task_status", "must be scanning or finished")
		}
		f.Ended = &ended
	}
	if n := q.Integer("scan_scope", 0, MaxScanScope); n != nil {
		v := int32(*n)
		f.ScanScope = &v
	}
	if n := q.Integer("create_time", 0, MaxTime); n != nil {
		f.CreatedFrom = *n
	}
	if n := q.Integer("end_time", 0, MaxTime); n != nil {
		f.EndedBy = *n
	}
	f.Offset, f.Limit = q.Page()
	if q.Err != nil {
		return List{}, q.Err
	}
	return l, nil
}

// Bounds of the filters of a sync task's connections
// (ListAssociateRegistries; MaxRegistryTypes also ListRegistryStatistics').
const (
	MaxRegistryName = registry.MaxNameLen // registry_name, as long as a connection's name
	// MaxRegistryTypes bounds registry_type: every type once, with
	// commas, fits well inside it.
	MaxRegistryTypes = 256
)

// RegistryTypes reads a registry_type parameter, a comma-separated list of
// connection types (ListAssociateRegistries', ListRegistryStatistics'),
// into the types it names (any of them; none for ""). The API and the
// console's task page read it here so that both refuse the same values in
// the same words.
func RegistryTypes(text string) ([]string, *imagequery.ParamError) {
	if text == "" {
		return nil, nil
	}
	var out []string
	for _, t := range strings.Split(text, ",") {
		rt := inventory.RegistryType(strings.TrimSpace(t))
		if !rt.Valid() {
			return nil, imagequery.Invalid("registry_type", "must be a comma-separated list of SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
		}
		out = append(out, string(rt))
	}
	return out, nil
}

// SyncItems is the filter of a sync task's connections
// (ListAssociateRegistries) without the project, task and page, plus the
// raw registry_type and sync_status, which a form shows back.
type SyncItems struct {
	Filter        tasks.ItemFilter
	Types, Status string
}

// ReadSyncItems reads registry_name (a substring), registry_type
// (RegistryTypes) and sync_status (tasks.SyncStatusStates; none: every
// state), for the API and the console's task page alike.
func ReadSyncItems(q *imagequery.Reader) SyncItems {
	var s SyncItems
	s.Filter.RegistryName = q.Text("registry_name", MaxRegistryName)
	s.Types = q.Text("registry_type", MaxRegistryTypes)
	s.Status = q.Text("sync_status", 16)
	if q.Err != nil {
		return s
	}
	if s.Filter.RegistryTypes, q.Err = RegistryTypes(s.Types); q.Err != nil {
		return s
	}
	if s.Status != "" {
		states, ok := tasks.SyncStatusStates(s.Status)
		if !ok {
			q.Err = imagequery.Invalid("sync_status", "must be finished, running or failed")
			return s
		}
		s.Filter.States = states
	}
	return s
}
