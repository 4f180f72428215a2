package hssapi

import (
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/openhss/openhss/internal/inventory"
)

// Bounds of the list parameters (docs/api.md, Query parameters).
const (
	maxOffset       = 2_000_000
	maxLimit        = 200
	defaultLimit    = 10
	maxFilterLen    = 256 // bytes, every free-text filter
	maxEnterpriseID = 256 // bytes, as the SDK documents enterprise_project_id
)

// listQuery is a parsed GET /v5/{project_id}/image/swr-repository query: the
// store filter without the caller-dependent parts (project and enterprise
// projects), plus the raw enterprise_project_id that IAM resolves.
type listQuery struct {
	Filter            inventory.Filter
	EnterpriseProject string
}

// queryReader reads single-valued parameters strictly. A parameter given
// twice is an error rather than "first wins": the signature covers every
// value, and a proxy and this server picking different ones would let a
// request mean two things.
type queryReader struct {
	v   url.Values
	err *apiError
}

func (q *queryReader) raw(name string) (string, bool) {
	if q.err != nil {
		return "", false
	}
	vals, ok := q.v[name]
	if !ok {
		return "", false
	}
	if len(vals) > 1 {
		q.err = invalidParam(name, "given more than once")
		return "", false
	}
	return vals[0], true
}

// text reads a free-text parameter. Empty means absent. Invalid UTF-8 and
// NUL are refused: no stored value contains them, and some databases reject
// them in a query with an error that would surface as a 500.
func (q *queryReader) text(name string, max int) string {
	s, ok := q.raw(name)
	if !ok {
		return ""
	}
	if len(s) > max {
		q.err = invalidParam(name, "longer than %d bytes", max)
		return ""
	}
	if !utf8.ValidString(s) {
		q.err = invalidParam(name, "not valid UTF-8")
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			q.err = invalidParam(name, "contains a NUL character")
			return ""
		}
	}
	return s
}

// boolean reads "true" or "false", exactly.
func (q *queryReader) boolean(name string) *bool {
	s, ok := q.raw(name)
	if !ok {
		return nil
	}
	var b bool
	switch s {
	case "true":
		b = true
	case "false":
	default:
		q.err = invalidParam(name, "must be true or false")
		return nil
	}
	return &b
}

// integer reads a decimal integer in [min, max]: digits only, so no sign,
// space, or exponent slips through a lenient parser.
func (q *queryReader) integer(name string, min, max int64) *int64 {
	s, ok := q.raw(name)
	if !ok {
		return nil
	}
	if s == "" || len(s) > 19 {
		q.err = invalidParam(name, "must be an integer between %d and %d", min, max)
		return nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			q.err = invalidParam(name, "must be an integer between %d and %d", min, max)
			return nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		q.err = invalidParam(name, "must be an integer between %d and %d", min, max)
		return nil
	}
	return &n
}

const maxInt64 = int64(^uint64(0) >> 1)

// parseListQuery validates the query of the image list. It is pure: the
// caller resolves EnterpriseProject and fills ProjectID.
func parseListQuery(v url.Values) (listQuery, *apiError) {
	q := &queryReader{v: v}
	var lq listQuery
	f := &lq.Filter

	typ, ok := q.raw("image_type")
	if q.err != nil {
		return listQuery{}, q.err
	}
	if !ok || typ == "" {
		return listQuery{}, invalidParam("image_type", "is required (private_image, shared_image, local_image or instance_image)")
	}
	if !inventory.ImageType(typ).Valid() {
		return listQuery{}, invalidParam("image_type", "must be private_image, shared_image, local_image or instance_image")
	}
	f.Type = inventory.ImageType(typ)

	lq.EnterpriseProject = q.text("enterprise_project_id", maxEnterpriseID)
	f.Namespace = q.text("namespace", maxFilterLen)
	f.ImageName = q.text("image_name", maxFilterLen)
	f.ImageVersion = q.text("image_version", maxFilterLen)
	f.InstanceName = q.text("instance_name", maxFilterLen)
	f.InstanceID = q.text("instance_id", maxFilterLen)

	if s, ok := q.raw("scan_status"); ok {
		if !inventory.ScanStatus(s).Valid() {
			return listQuery{}, invalidParam("scan_status", "must be one of unscan, waiting_for_scan, scanning, success, failed, download_failed, image_oversized")
		}
		f.ScanStatus = inventory.ScanStatus(s)
	}
	if aerr := readImageFilters(q, f, maxInt64); aerr != nil {
		return listQuery{}, aerr
	}
	return lq, nil
}

// readImageFilters reads the filters and paging the seed list and
// ListRegistryImages share, then checks every time range f holds
// (ListRegistryImages reads its sync-time range before calling).
// maxSize bounds image_size.
func readImageFilters(q *queryReader, f *inventory.Filter, maxSize int64) *apiError {
	if b := q.boolean("latest_version"); b != nil {
		f.LatestVersionOnly = *b
	}
	f.MaxImageSize = q.integer("image_size", 0, maxSize)
	f.StartLatestUpdateTime = q.integer("start_latest_update_time", 0, maxInt64)
	f.EndLatestUpdateTime = q.integer("end_latest_update_time", 0, maxInt64)
	f.StartLatestScanTime = q.integer("start_latest_scan_time", 0, maxInt64)
	f.EndLatestScanTime = q.integer("end_latest_scan_time", 0, maxInt64)
	f.HasVul = q.boolean("has_vul")
	f.HasUnsafeSetting = q.boolean("has_unsafe_setting")
	f.HasMaliciousFile = q.boolean("has_malicious_file")

	f.Offset = 0
	if n := q.integer("offset", 0, maxOffset); n != nil {
		f.Offset = int(*n)
	}
	f.Limit = defaultLimit
	if n := q.integer("limit", 1, maxLimit); n != nil {
		f.Limit = int(*n)
	}
	if q.err != nil {
		return q.err
	}
	for _, r := range []struct {
		name       string
		start, end *int64
	}{
		{"latest_update_time", f.StartLatestUpdateTime, f.EndLatestUpdateTime},
		{"latest_scan_time", f.StartLatestScanTime, f.EndLatestScanTime},
		{"latest_sync_time", f.StartLatestSyncTime, f.EndLatestSyncTime},
	} {
		if after(r.start, r.end) {
			return invalidParam("start_"+r.name, "is after end_%s", r.name)
		}
	}
	return nil
}

func after(start, end *int64) bool {
	return start != nil && end != nil && *start > *end
}

// registryQuery is a parsed GET /v5/{project_id}/image/registries query.
type registryQuery struct {
	Filter            inventory.RegistryFilter
	EnterpriseProject string
}

func parseRegistryQuery(v url.Values) (registryQuery, *apiError) {
	q := &queryReader{v: v}
	var rq registryQuery
	f := &rq.Filter

	rq.EnterpriseProject = q.text("enterprise_project_id", maxEnterpriseID)
	f.Name = q.text("registry_name", maxNameLen)
	f.Addr = q.text("registry_addr", maxAddrLen)
	if s, ok := q.raw("registry_id"); ok && s != "" {
		if !validID(s) {
			return registryQuery{}, invalidParam("registry_id", "must be a positive integer")
		}
		f.ID, _ = strconv.ParseInt(s, 10, 64)
	}
	if s, ok := q.raw("registry_type"); ok && s != "" {
		if !inventory.RegistryType(s).Valid() {
			return registryQuery{}, invalidParam("registry_type", "must be one of SwrPrivate, SwrShared, SwrEnterprise, Harbor, Jfrog, Other")
		}
		f.Type = inventory.RegistryType(s)
	}
	if s, ok := q.raw("status"); ok && s != "" {
		// The SDK's values; accessing stands for the stored pending and
		// syncing (inventory.APIRegistryStatus).
		f.Statuses = inventory.StoredRegistryStatuses(s)
		if f.Statuses == nil {
			return registryQuery{}, invalidParam("status", "must be one of success, fail, accessing")
		}
	}
	if n := q.integer("offset", 0, maxOffset); n != nil {
		f.Offset = int(*n)
	}
	f.Limit = defaultLimit
	if n := q.integer("limit", 1, maxLimit); n != nil {
		f.Limit = int(*n)
	}
	if q.err != nil {
		return registryQuery{}, q.err
	}
	return rq, nil
}

// validID reports whether s is a positive decimal int64 with no sign or
// leading zero, the only spelling of a registry id this server hands out.
func validID(s string) bool {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}
