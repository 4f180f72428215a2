package hssapi

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/policy"
	"github.com/openhss/openhss/internal/taskrun"
)

// maxPolicyRegistries bounds registry_info of ModifyImageScanPolicy.
const maxPolicyRegistries = 1000

// scanPolicyRegistry is a registry_list entry of ListImageScanPolicy.
type scanPolicyRegistry struct {
	IsSelected   bool   `json:"is_selected"`
	RegistryName string `json:"registry_name"`
	RegistryID   string `json:"registry_id"`
	RegistryType string `json:"registry_type"`
}

// scanPolicyInfo is the SDK's ListImageScanPolicyResponse.
type scanPolicyInfo struct {
	IsAll            bool                 `json:"is_all"`
	Enabled          bool                 `json:"enabled"`
	ScanCycle        int32                `json:"scan_cycle"`
	ScanScope        int32                `json:"scan_scope"`
	RateLimit        int32                `json:"rate_limit"`
	TimeScope        int32                `json:"time_scope"`
	TotalRegistryNum int32                `json:"total_registry_num"`
	RegistryList     []scanPolicyRegistry `json:"registry_list"`
}

// modifyScanPolicyBody is the SDK's CycleImageScanPolicyReqInfo: every
// field is required, so each is a pointer and an absent one is refused.
type modifyScanPolicyBody struct {
	Enabled   *bool  `json:"enabled"`
	ScanCycle *int64 `json:"scan_cycle"`
	ScanScope *int64 `json:"scan_scope"`
	RateLimit *int64 `json:"rate_limit"`
	TimeScope *int64 `json:"time_scope"`
	// RegistryInfo is read in two steps: absent is refused, while null
	// (what the SDK sends for a nil slice) selects no connection, as [].
	RegistryInfo json.RawMessage `json:"registry_info"`
}

// policyRegistryInfo is a registry_info entry.
type policyRegistryInfo struct {
	RegistryID   *string `json:"registry_id"`
	RegistryName *string `json:"registry_name"`
	RegistryType *string `json:"registry_type"`
}

// policyRegistries lists the project's connections the caller's enterprise
// projects (eps, nil for all) see, by id.
func (s *server) policyRegistries(r *http.Request, projectID string, eps []string) ([]inventory.Registry, error) {
	var out []inventory.Registry
	for _, t := range taskrun.SyncImageTypes {
		regs, err := s.cfg.Tasks.RegistriesByImageType(r.Context(), projectID, t)
		if err != nil {
			return nil, fmt.Errorf("registries of project %s: %w", projectID, err)
		}
		for _, reg := range regs {
			if eps == nil || slices.Contains(eps, reg.EnterpriseProjectID) {
				out = append(out, reg)
			}
		}
	}
	slices.SortFunc(out, func(a, b inventory.Registry) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// listScanPolicy is ListImageScanPolicy: the project's one policy (the
// default when none was set) with every connection the caller sees and
// whether the policy selects it (docs/api.md, "Scan policies").
func (s *server) listScanPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	ep := q.Text("enterprise_project_id", maxEnterpriseID)
	typ, ok := q.Raw("type")
	global := q.Text("global_image_type", 32)
	if q.Err != nil {
		return paramError(q.Err)
	}
	if !ok || typ == "" {
		return invalidParam("type", "is required (cycle or manual)")
	}
	if typ != "cycle" && typ != "manual" {
		return invalidParam("type", "must be cycle or manual")
	}
	switch global {
	case "", "registry", "local", "local_image":
	default:
		return invalidParam("global_image_type", "must be registry or local")
	}
	eps, err := s.enterpriseProjects(c.Principal, ep)
	if err != nil {
		return err
	}
	p, _, err := s.cfg.Policies.ScanPolicy(r.Context(), c.ProjectID)
	if err != nil {
		return fmt.Errorf("scan policy of %s: %w", c.ProjectID, err)
	}
	out := scanPolicyInfo{Enabled: p.Enabled, ScanCycle: p.ScanCycle, ScanScope: p.ScanScope, RateLimit: p.RateLimit,
		TimeScope: p.TimeScope, RegistryList: []scanPolicyRegistry{}}
	if global == "local" || global == "local_image" {
		// Node images are not served: nothing is scheduled for them.
		out = scanPolicyInfo{ScanCycle: policy.Default("").ScanCycle, ScanScope: policy.ScanScopeAll,
			RegistryList: []scanPolicyRegistry{}}
		s.writeJSON(w, http.StatusOK, out)
		return nil
	}
	regs, err := s.policyRegistries(r, c.ProjectID, eps)
	if err != nil {
		return err
	}
	selected := 0
	for _, reg := range regs {
		sel := slices.Contains(p.RegistryIDs, reg.ID)
		if sel {
			selected++
		}
		out.RegistryList = append(out.RegistryList, scanPolicyRegistry{IsSelected: sel, RegistryName: reg.Name,
			RegistryID: strconv.FormatInt(reg.ID, 10), RegistryType: string(reg.Type)})
	}
	out.TotalRegistryNum = clampInt32(int64(len(regs)))
	out.IsAll = len(regs) > 0 && selected == len(regs)
	s.writeJSON(w, http.StatusOK, out)
	return nil
}

// modifyScanPolicy is ModifyImageScanPolicy: it replaces the project's
// policy. Every field is checked, and every named connection looked up,
// before anything is stored.
func (s *server) modifyScanPolicy(w http.ResponseWriter, r *http.Request, c *call) error {
	eps, err := s.requestEnterpriseProjects(r, c.Principal)
	if err != nil {
		return err
	}
	var b modifyScanPolicyBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	switch {
	case b.Enabled == nil:
		return invalidParam("enabled", "is required (true or false)")
	case b.ScanCycle == nil:
		return invalidParam("scan_cycle", "is required (3, 7 or 14)")
	case b.ScanScope == nil:
		return invalidParam("scan_scope", "is required (a bitmask between 1 and %d)", policy.ScanScopeAll)
	case b.RateLimit == nil:
		return invalidParam("rate_limit", "is required (0 to %d images per hour, 0: no limit)", policy.MaxRateLimit)
	case b.TimeScope == nil:
		return invalidParam("time_scope", "is required (0, 1, 3 or 7 days)")
	case len(b.RegistryInfo) == 0:
		return invalidParam("registry_info", "is required (send [] to select no registry)")
	}
	var infos []policyRegistryInfo
	if err := json.Unmarshal(b.RegistryInfo, &infos); err != nil {
		return badRequest("registry_info must be an array of {registry_id, registry_name, registry_type}")
	}
	if !policy.ValidCycle(*b.ScanCycle) {
		return invalidParam("scan_cycle", "must be 3, 7 or 14 (days)")
	}
	if *b.ScanScope < 1 || *b.ScanScope > policy.ScanScopeAll {
		return invalidParam("scan_scope", "must be a bitmask between 1 and %d", policy.ScanScopeAll)
	}
	if *b.RateLimit < 0 || *b.RateLimit > policy.MaxRateLimit {
		return invalidParam("rate_limit", "must be between 0 and %d", policy.MaxRateLimit)
	}
	if !policy.ValidTimeScope(*b.TimeScope) {
		return invalidParam("time_scope", "must be 0 (all images), 1, 3 or 7 (days)")
	}
	if len(infos) > maxPolicyRegistries {
		return invalidParam("registry_info", "names %d registries, more than %d", len(infos), maxPolicyRegistries)
	}
	ctx := r.Context()
	regs, err := s.policyRegistries(r, c.ProjectID, eps)
	if err != nil {
		return err
	}
	var (
		ids     []int64
		missing []string
	)
	for i, ri := range infos {
		field := func(name string) string { return fmt.Sprintf("registry_info[%d].%s", i, name) }
		switch {
		case ri.RegistryID == nil:
			return invalidParam(field("registry_id"), "is required")
		case ri.RegistryName == nil || *ri.RegistryName == "":
			return invalidParam(field("registry_name"), "is required")
		case ri.RegistryType == nil || *ri.RegistryType == "":
			return invalidParam(field("registry_type"), "is required")
		}
		id, ok := imagequery.ParseID(*ri.RegistryID)
		switch {
		case !ok:
			return invalidParam(field("registry_id"), "must be a registry id (a positive integer)")
		case !inventory.RegistryType(*ri.RegistryType).Valid():
			return invalidParam(field("registry_type"), "must be one of SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
		}
		if slices.Contains(ids, id) {
			return invalidParam("registry_info", "registry %d is named twice", id)
		}
		k := slices.IndexFunc(regs, func(reg inventory.Registry) bool { return reg.ID == id })
		if k < 0 {
			missing = append(missing, *ri.RegistryID)
			continue
		}
		if string(regs[k].Type) != *ri.RegistryType {
			return invalidParam(field("registry_type"), "is %s, not %s", regs[k].Type, *ri.RegistryType)
		}
		ids = append(ids, id)
	}
	if len(missing) > 0 {
		return &apiError{http.StatusNotFound, codeNotFound, "registries not found: " + strings.Join(missing, ", ")}
	}
	old, _, err := s.cfg.Policies.ScanPolicy(ctx, c.ProjectID)
	if err != nil {
		return fmt.Errorf("scan policy of %s: %w", c.ProjectID, err)
	}
	// The caller replaces the selection among the connections it sees;
	// those of enterprise projects it was not granted stay as they were.
	for _, id := range old.RegistryIDs {
		if !slices.ContainsFunc(regs, func(reg inventory.Registry) bool { return reg.ID == id }) && eps != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	p := policy.Policy{ProjectID: c.ProjectID, Enabled: *b.Enabled, ScanCycle: int32(*b.ScanCycle),
		ScanScope: int32(*b.ScanScope), RateLimit: int32(*b.RateLimit), TimeScope: int32(*b.TimeScope), RegistryIDs: ids}
	if p.RegistryIDs == nil {
		p.RegistryIDs = []int64{}
	}
	if err := s.cfg.Policies.SetScanPolicy(ctx, p, inventory.Millis(s.cfg.Now())); err != nil {
		return fmt.Errorf("set scan policy of %s: %w", c.ProjectID, err)
	}
	s.writeJSON(w, http.StatusOK, struct{}{})
	return nil
}
