package hssapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/taskquery"
)

// maxBatchDelete is how many ids one BatchDeleteRegistry may name: the
// SDK sets no bound, and ListRegistry's largest page is this size, so a
// client can delete every connection it was shown in one call.
const maxBatchDelete = maxLimit

// batchDeleteRegistryBody is the SDK's BatchDeleteRegistryRequestBody. ids
// is decoded in a second step so that a wrong type is reported as a bad
// ids parameter, like every other fault of the list.
type batchDeleteRegistryBody struct {
	IDs json.RawMessage `json:"ids"`
}

// registryStatistics is the SDK's ListRegistryStatisticsResponse.
type registryStatistics struct {
	FailNum    int32 `json:"fail_num"`
	SuccessNum int32 `json:"success_num"`
}

// batchDeleteRegistries deletes every named connection of the caller's
// project, or none: docs/api.md ("BatchDeleteRegistry").
func (s *server) batchDeleteRegistries(w http.ResponseWriter, r *http.Request, c *call) error {
	eps, err := s.requestEnterpriseProjects(r, c.Principal)
	if err != nil {
		return err
	}
	var b batchDeleteRegistryBody
	if aerr := decodeJSON(r, c.Body, &b); aerr != nil {
		return aerr
	}
	ids, aerr := parseRegistryIDs(b.IDs)
	if aerr != nil {
		return aerr
	}
	if err := s.cfg.Store.DeleteRegistries(r.Context(), c.ProjectID, eps, ids); err != nil {
		if errors.Is(err, inventory.ErrNotFound) {
			return errRegistryMissing
		}
		return fmt.Errorf("delete %d registries: %w", len(ids), err)
	}
	s.writeJSON(w, http.StatusOK, emptyObject{})
	return nil
}

// parseRegistryIDs reads BatchDeleteRegistry's ids: 1 to maxBatchDelete
// distinct registry ids, each as the decimal string RegistryInfo.id gives.
// A duplicate is refused rather than folded: it is most likely a client
// bug, and "deleted n" should mean the n ids the client sent.
func parseRegistryIDs(raw json.RawMessage) ([]int64, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, invalidParam("ids", "is required")
	}
	var texts []string
	if err := json.Unmarshal(raw, &texts); err != nil {
		return nil, invalidParam("ids", "must be a list of registry ids, each a string such as \"12\"")
	}
	if len(texts) == 0 {
		return nil, invalidParam("ids", "must name at least one registry")
	}
	if len(texts) > maxBatchDelete {
		return nil, invalidParam("ids", "names %d registries, more than %d", len(texts), maxBatchDelete)
	}
	ids := make([]int64, 0, len(texts))
	seen := make(map[int64]bool, len(texts))
	for i, t := range texts {
		id, ok := imagequery.ParseID(t)
		if !ok {
			return nil, invalidParam("ids", "entry %d must be a registry id (a positive integer)", i)
		}
		if seen[id] {
			return nil, invalidParam("ids", "registry %d is named twice", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, nil
}

// listRegistryStatistics counts the project's connections that last synced
// (success_num) and that failed (fail_num); those still accessing are in
// neither.
func (s *server) listRegistryStatistics(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	ep := q.Text("enterprise_project_id", maxEnterpriseID)
	typesText := q.Text("registry_type", taskquery.MaxRegistryTypes)
	if q.Err != nil {
		return paramError(q.Err)
	}
	types, perr := taskquery.RegistryTypes(typesText)
	if perr != nil {
		return paramError(perr)
	}
	f := inventory.RegistryStatsFilter{ProjectID: c.ProjectID}
	for _, t := range types {
		f.Types = append(f.Types, inventory.RegistryType(t))
	}
	eps, err := s.enterpriseProjects(c.Principal, ep)
	if err != nil {
		return err
	}
	f.EnterpriseProjects = eps
	counts, err := s.cfg.Store.CountRegistriesByStatus(r.Context(), f)
	if err != nil {
		return fmt.Errorf("count registries: %w", err)
	}
	s.writeJSON(w, http.StatusOK, registryStatistics{
		FailNum:    clampInt32(counts[inventory.RegistryFailed]),
		SuccessNum: clampInt32(counts[inventory.RegistryOK]),
	})
	return nil
}

func clampInt32(n int64) int32 {
	if n > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(n)
}
