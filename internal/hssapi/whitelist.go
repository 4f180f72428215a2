package hssapi

import (
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openhss/openhss/internal/pathallow"
)

// Limits of a project's sensitive path whitelist (docs/api.md, Sensitive
// path whitelist). The SDK documents up to 20,000 entries per list; the
// count here is lower because every entry is matched against every
// sensitive finding the project reads.
const (
	maxWhitelistEntries = 1000
	maxWhitelistPathLen = 1024
	maxWhitelistFilter  = 65535 // file_path of the GET, as the SDK documents
)

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
	q := &queryReader{v: r.URL.Query()}
	ep := q.text("enterprise_project_id", maxEnterpriseID)
	filter := q.text("file_path", maxWhitelistFilter)
	if q.err != nil {
		return q.err
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

// checkWhitelist validates a customized_path list and returns it without
// repeated entries (first occurrence kept). An entry is an absolute,
// clean path ("/etc/ssl/private": that file or everything under it) or a
// path.Match glob of one ("/opt/*/keys", "/srv/*.pem": matching a path or
// one of its parent directories); see pathallow.
func checkWhitelist(list []string) ([]string, *apiError) {
	if len(list) > maxWhitelistEntries {
		return nil, invalidParam("customized_path", "has %d entries; at most %d are allowed", len(list), maxWhitelistEntries)
	}
	out := make([]string, 0, len(list))
	for i, p := range list {
		bad := func(format string, args ...any) *apiError {
			return invalidParam(fmt.Sprintf("customized_path[%d]", i), format, args...)
		}
		switch {
		case p == "":
			return nil, bad("is empty")
		case len(p) > maxWhitelistPathLen:
			return nil, bad("is longer than %d bytes", maxWhitelistPathLen)
		case !utf8.ValidString(p):
			return nil, bad("is not valid UTF-8")
		case strings.ContainsFunc(p, unicode.IsControl):
			return nil, bad("contains a control character")
		case !strings.HasPrefix(p, "/"):
			return nil, bad("must be an absolute path (starting with /)")
		case path.Clean(p) != p:
			return nil, bad("must be a clean path (no trailing /, //, . or .. elements): %q", path.Clean(p))
		case strings.Trim(p, "/*") == "":
			return nil, bad("covers the whole image")
		}
		if _, err := pathallow.New([]string{p}); err != nil {
			return nil, bad("is not a valid glob (path.Match syntax)")
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
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
