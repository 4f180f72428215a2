package hssapi

import (
	"net/url"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registryquery"
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

// registryQuery is a parsed GET /v5/{project_id}/image/registries query
// (registryquery.Parse, which the web console's Registries page parses
// with too).
type registryQuery = registryquery.List

func parseRegistryQuery(v url.Values) (registryQuery, *apiError) {
	l, perr := registryquery.Parse(v)
	if perr != nil {
		return registryQuery{}, paramError(perr)
	}
	return l, nil
}
