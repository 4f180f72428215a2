package hssapi

import (
	"net/url"
	"strconv"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
)

// Bounds of the list parameters (docs/api.md, Query parameters): those of
// imagequery, which every reader of the image list shares.
const (
	maxOffset       = imagequery.MaxOffset
	maxLimit        = imagequery.MaxLimit
	defaultLimit    = imagequery.DefaultLimit
	maxFilterLen    = imagequery.MaxFilterLen
	maxEnterpriseID = imagequery.MaxEnterpriseID
	maxInt64        = imagequery.MaxInt64
)

// listQuery is a parsed GET /v5/{project_id}/image/swr-repository query
// (imagequery.List).
type listQuery = imagequery.List

// queryReader reads single-valued parameters strictly, as
// imagequery.Reader does, and keeps the first error as the API's answer:
// the handlers' own checks record theirs with fail.
type queryReader struct {
	v   url.Values
	err *apiError
}

// read runs one imagequery.Reader read unless an error is recorded, and
// records its error.
func read[T any](q *queryReader, f func(r *imagequery.Reader) T) T {
	var zero T
	if q.err != nil {
		return zero
	}
	r := &imagequery.Reader{V: q.v}
	out := f(r)
	if r.Err != nil {
		q.err = paramError(r.Err)
		return zero
	}
	return out
}

// paramError is the 400 HSS.0001 answer of a refused parameter.
func paramError(e *imagequery.ParamError) *apiError {
	return invalidParam(e.Name, "%s", e.Reason)
}

type rawValue struct {
	s  string
	ok bool
}

func (q *queryReader) raw(name string) (string, bool) {
	v := read(q, func(r *imagequery.Reader) rawValue { s, ok := r.Raw(name); return rawValue{s, ok} })
	return v.s, v.ok
}

func (q *queryReader) text(name string, max int) string {
	return read(q, func(r *imagequery.Reader) string { return r.Text(name, max) })
}

func (q *queryReader) boolean(name string) *bool {
	return read(q, func(r *imagequery.Reader) *bool { return r.Boolean(name) })
}

func (q *queryReader) integer(name string, min, max int64) *int64 {
	return read(q, func(r *imagequery.Reader) *int64 { return r.Integer(name, min, max) })
}

// parseListQuery validates the query of the image list (imagequery.ParseList).
func parseListQuery(v url.Values) (listQuery, *apiError) {
	lq, perr := imagequery.ParseList(v)
	if perr != nil {
		return listQuery{}, paramError(perr)
	}
	return lq, nil
}

// readImageFilters reads the filters and paging the seed list and
// ListRegistryImages share (imagequery.ReadFilters); it returns q's first
// error.
func readImageFilters(q *queryReader, f *inventory.Filter, maxSize int64) *apiError {
	if q.err != nil {
		return q.err
	}
	if perr := imagequery.ReadFilters(&imagequery.Reader{V: q.v}, f, maxSize); perr != nil {
		q.err = paramError(perr)
	}
	return q.err
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
