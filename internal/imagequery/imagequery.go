// Package imagequery reads the image list's query parameters (the seed
// list, GET /v5/{project_id}/image/swr-repository) into an inventory.Filter.
// It is outside the HTTP layer so that every reader of the list — the API,
// the CLI and the web console — parses the same parameters with the same
// bounds and so asks the store the same question (docs/api.md, Query
// parameters; docs/console.md).
package imagequery

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/openhss/openhss/internal/inventory"
)

// Bounds of the list parameters (docs/api.md, Query parameters).
const (
	MaxOffset       = 2_000_000
	MaxLimit        = 200
	DefaultLimit    = 10
	MaxFilterLen    = 256 // bytes, every free-text filter
	MaxEnterpriseID = 256 // bytes, as the SDK documents enterprise_project_id
	MaxInt64        = int64(^uint64(0) >> 1)
)

// ParamError is a refused parameter: its name and why. The API answers it
// as 400 HSS.0001 with Error() as the message.
type ParamError struct {
	Name   string
	Reason string
}

func (e *ParamError) Error() string { return "invalid parameter " + e.Name + ": " + e.Reason }

// Invalid is a ParamError for name.
func Invalid(name, format string, args ...any) *ParamError {
	return &ParamError{Name: name, Reason: fmt.Sprintf(format, args...)}
}

// Reader reads single-valued parameters strictly and keeps the first error.
// A parameter given twice is an error rather than "first wins": a signature
// covers every value, and a proxy and this server picking different ones
// would let a request mean two things.
type Reader struct {
	V   url.Values
	Err *ParamError
}

// Fail records a caller's own refusal of a value it read, unless an
// error is already recorded: the first error in the order of reading is
// the answer, whichever check found it.
func (q *Reader) Fail(name, format string, args ...any) {
	if q.Err == nil {
		q.Err = Invalid(name, format, args...)
	}
}

// Raw is the parameter's one value and whether it is present.
func (q *Reader) Raw(name string) (string, bool) {
	if q.Err != nil {
		return "", false
	}
	vals, ok := q.V[name]
	if !ok {
		return "", false
	}
	if len(vals) > 1 {
		q.Err = Invalid(name, "given more than once")
		return "", false
	}
	return vals[0], true
}

// Text reads a free-text parameter. Empty means absent. Invalid UTF-8 and
// NUL are refused: no stored value contains them, and some databases reject
// them in a query with an error that would surface as a 500.
func (q *Reader) Text(name string, max int) string {
	s, ok := q.Raw(name)
	if !ok {
		return ""
	}
	if len(s) > max {
		q.Err = Invalid(name, "longer than %d bytes", max)
		return ""
	}
	if !utf8.ValidString(s) {
		q.Err = Invalid(name, "not valid UTF-8")
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			q.Err = Invalid(name, "contains a NUL character")
			return ""
		}
	}
	return s
}

// Boolean reads "true" or "false", exactly.
func (q *Reader) Boolean(name string) *bool {
	s, ok := q.Raw(name)
	if !ok {
		return nil
	}
	var b bool
	switch s {
	case "true":
		b = true
	case "false":
	default:
		q.Err = Invalid(name, "must be true or false")
		return nil
	}
	return &b
}

// Integer reads a decimal integer in [min, max]: digits only, so no sign,
// space, or exponent slips through a lenient parser.
func (q *Reader) Integer(name string, min, max int64) *int64 {
	s, ok := q.Raw(name)
	if !ok {
		return nil
	}
	n, ok := ParseInteger(s, min, max)
	if !ok {
		q.Err = Invalid(name, "must be an integer between %d and %d", min, max)
		return nil
	}
	return &n
}

// ParseID is a row id (a registry's, an image's) as a path or form gives
// it: positive decimal digits with no sign, space or leading zero, the
// only spelling of an id this server hands out.
func ParseID(s string) (int64, bool) {
	if strings.HasPrefix(s, "0") {
		return 0, false
	}
	return ParseInteger(s, 1, MaxInt64)
}

// ParseInteger is Integer's check of one value: a decimal integer in
// [min, max], digits only.
func ParseInteger(s string, min, max int64) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < min || n > max {
		return 0, false
	}
	return n, true
}

// Offset reads the paging offset of every list: 0 unless given.
func (q *Reader) Offset() int {
	if n := q.Integer("offset", 0, MaxOffset); n != nil {
		return int(*n)
	}
	return 0
}

// Page reads the paging of every list: offset (Offset) and limit,
// DefaultLimit unless given.
func (q *Reader) Page() (offset, limit int) {
	offset, limit = q.Offset(), DefaultLimit
	if n := q.Integer("limit", 1, MaxLimit); n != nil {
		limit = int(*n)
	}
	return offset, limit
}

// List is a parsed image list query: the store filter without the
// caller-dependent parts (project and enterprise projects), plus the raw
// enterprise_project_id that IAM resolves.
type List struct {
	Filter            inventory.Filter
	EnterpriseProject string
}

// ParseList validates the query of the image list. It is pure: the caller
// resolves EnterpriseProject and fills ProjectID.
func ParseList(v url.Values) (List, *ParamError) {
	q := &Reader{V: v}
	var lq List
	f := &lq.Filter

	typ, ok := q.Raw("image_type")
	if q.Err != nil {
		return List{}, q.Err
	}
	if !ok || typ == "" {
		return List{}, Invalid("image_type", "is required (private_image, shared_image, local_image or instance_image)")
	}
	if !inventory.ImageType(typ).Valid() {
		return List{}, Invalid("image_type", "must be private_image, shared_image, local_image or instance_image")
	}
	f.Type = inventory.ImageType(typ)

	lq.EnterpriseProject = q.Text("enterprise_project_id", MaxEnterpriseID)
	f.Namespace = q.Text("namespace", MaxFilterLen)
	f.ImageName = q.Text("image_name", MaxFilterLen)
	f.ImageVersion = q.Text("image_version", MaxFilterLen)
	f.InstanceName = q.Text("instance_name", MaxFilterLen)
	f.InstanceID = q.Text("instance_id", MaxFilterLen)

	if s, ok := q.Raw("scan_status"); ok {
		if !inventory.ScanStatus(s).Valid() {
			return List{}, Invalid("scan_status", "must be one of unscan, waiting_for_scan, scanning, success, failed, download_failed, image_oversized")
		}
		f.ScanStatus = inventory.ScanStatus(s)
	}
	if perr := ReadFilters(q, f, MaxInt64); perr != nil {
		return List{}, perr
	}
	return lq, nil
}

// ReadFilters reads the filters and paging the seed list and
// ListRegistryImages share, then checks every time range f holds
// (ListRegistryImages reads its sync-time range before calling). maxSize
// bounds image_size. It returns q's first error.
func ReadFilters(q *Reader, f *inventory.Filter, maxSize int64) *ParamError {
	if b := q.Boolean("latest_version"); b != nil {
		f.LatestVersionOnly = *b
	}
	f.MaxImageSize = q.Integer("image_size", 0, maxSize)
	f.StartLatestUpdateTime = q.Integer("start_latest_update_time", 0, MaxInt64)
	f.EndLatestUpdateTime = q.Integer("end_latest_update_time", 0, MaxInt64)
	f.StartLatestScanTime = q.Integer("start_latest_scan_time", 0, MaxInt64)
	f.EndLatestScanTime = q.Integer("end_latest_scan_time", 0, MaxInt64)
	f.HasVul = q.Boolean("has_vul")
	f.HasUnsafeSetting = q.Boolean("has_unsafe_setting")
	f.HasMaliciousFile = q.Boolean("has_malicious_file")

	f.Offset, f.Limit = q.Page()
	if q.Err != nil {
		return q.Err
	}
	return CheckRanges(f)
}

// CheckRanges refuses a time range of f whose start is after its end: it
// selects nothing, which is a mistake to say, not an empty answer (the
// lists, and the scans of all the rows a filter selects).
func CheckRanges(f *inventory.Filter) *ParamError {
	for _, r := range []struct {
		name       string
		start, end *int64
	}{
		{"latest_update_time", f.StartLatestUpdateTime, f.EndLatestUpdateTime},
		{"latest_scan_time", f.StartLatestScanTime, f.EndLatestScanTime},
		{"latest_sync_time", f.StartLatestSyncTime, f.EndLatestSyncTime},
	} {
		if r.start != nil && r.end != nil && *r.start > *r.end {
			return Invalid("start_"+r.name, "is after end_%s", r.name)
		}
	}
	return nil
}
