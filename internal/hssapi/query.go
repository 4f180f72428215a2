package hssapi

import (
	"net/url"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/registryquery"
)

// Bounds of the list parameters (docs/api.md, Query parameters): those of
// imagequery, which every reader of the image list shares.
const (
	maxLimit        = imagequery.MaxLimit
	maxFilterLen    = imagequery.MaxFilterLen
	maxEnterpriseID = imagequery.MaxEnterpriseID
	maxInt64        = imagequery.MaxInt64
)

// listQuery is a parsed GET /v5/{project_id}/image/swr-repository query
// (imagequery.List).
type listQuery = imagequery.List

// paramError is the 400 HSS.0001 answer of a refused parameter.
func paramError(e *imagequery.ParamError) *apiError {
	return invalidParam(e.Name, "%s", e.Reason)
}

// parseListQuery validates the query of the image list (imagequery.ParseList).
func parseListQuery(v url.Values) (listQuery, *apiError) {
	lq, perr := imagequery.ParseList(v)
	if perr != nil {
		return listQuery{}, paramError(perr)
	}
	return lq, nil
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
