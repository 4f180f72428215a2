package hssapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/pathallow"
)

// maxWhitelistFilter bounds file_path of the GET, as the SDK documents.
const maxWhitelistFilter = 65535

// filePathWhitelist is the SDK's ShowFilePathWhiteListsResponse (and the
// deprecated ShowFilePathWhiteDetailResponse).
type filePathWhitelist struct {
	DefaultPath    []string `json:"default_path"`
	CustomizedPath []string `json:"customized_path"`
}

// changeFilePathWhitelist is the SDK's ChangeFilePathWhiteDetailRequestInfo,
// the body of both POSTs. A pointer, so that a body without the field (an
// ambiguous "replace with what?") is refused rather than clearing the list.
type changeFilePathWhitelist struct {
	CustomizedPath *[]string `json:"customized_path"`
}

// showFilePathWhitelist is ShowFilePathWhiteLists (and the deprecated
// ShowFilePathWhiteDetail): the server-wide default list and the project's
// own. file_path keeps the entries containing it, in both lists.
func (s *server) showFilePathWhitelist(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	ep := q.Text("enterprise_project_id", maxEnterpriseID)
	filter := q.Text("file_path", maxWhitelistFilter)
	if q.Err != nil {
		return paramError(q.Err)
	}
	if _, err := s.enterpriseProjects(c.Principal, ep); err != nil {
		return err
	}
	custom, err := s.cfg.Whitelists.SensitivePathWhitelist(r.Context(), c.ProjectID)
	if err != nil {
		return fmt.Errorf("sensitive path whitelist: %w", err)
	}
	keep := func(list []string) []string {
		out := []string{}
		for _, p := range list {
			if strings.Contains(p, filter) {
				out = append(out, p)
			}
		}
		return out
	}
	s.writeJSON(w, http.StatusOK, filePathWhitelist{DefaultPath: keep(s.cfg.SensitiveDefault), CustomizedPath: keep(custom)})
	return nil
}

// changeFilePathWhitelist is ChangeFilePathWhiteLists (and the deprecated
// ChangeFilePathWhiteDetail): customized_path replaces the project's list
// whole; [] clears it. Every entry is checked before anything is stored.
func (s *server) changeFilePathWhitelist(w http.ResponseWriter, r *http.Request, c *call) error {
	if _, err := s.requestEnterpriseProjects(r, c.Principal); err != nil {
		return err
	}
	var req changeFilePathWhitelist
	if aerr := decodeJSON(r, c.Body, &req); aerr != nil {
		return aerr
	}
	if req.CustomizedPath == nil {
		return invalidParam("customized_path", "is required (send [] to clear the list)")
	}
	paths, aerr := checkWhitelist(*req.CustomizedPath)
	if aerr != nil {
		return aerr
	}
	if err := s.cfg.Whitelists.SetSensitivePathWhitelist(r.Context(), c.ProjectID, paths); err != nil {
		return fmt.Errorf("set sensitive path whitelist: %w", err)
	}
	s.writeJSON(w, http.StatusOK, struct{}{})
	return nil
}

// checkWhitelist validates a customized_path list with the console's
// check (pathallow.CheckCustom) and answers a refusal as HSS.0001.
func checkWhitelist(list []string) ([]string, *apiError) {
	out, ferr := pathallow.CheckCustom(list)
	if ferr != nil {
		return nil, invalidParam(ferr.Field, "%s", ferr.Reason)
	}
	return out, nil
}

// sensitiveFilter returns the matcher of the paths whose secret findings
// the project does not see: the server default plus the project's own list,
// read now, so that a change made through any process applies to the
// project's next read. The default was also skipped by the scan itself;
// applying it again hides findings stored before it was configured.
func (s *server) sensitiveFilter(r *http.Request, projectID string) (pathallow.List, error) {
	return pathallow.ForProject(r.Context(), s.cfg.Whitelists, s.cfg.SensitiveDefault, projectID)
}
