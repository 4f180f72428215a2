package hssapi

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
)

type projectsResponse struct {
	Projects []iam.ProjectRef `json:"projects"`
}

// listProjects answers the IAM lookup the SDK makes when given a region but
// no project id: the caller's project, named after the region as on Huawei
// Cloud. A name filter for another region matches nothing.
func (s *server) listProjects(w http.ResponseWriter, r *http.Request, c *call) error {
	q := &imagequery.Reader{V: r.URL.Query()}
	name := q.Text("name", maxFilterLen)
	if q.Err != nil {
		return paramError(q.Err)
	}
	s.writeJSON(w, http.StatusOK, projectsResponse{Projects: s.cfg.IAM.ProjectsForCaller(c.Principal, name)})
	return nil
}

// issueToken is Keystone's POST /v3/auth/tokens: 201, the token in
// X-Subject-Token, the token's description in the body.
func (s *server) issueToken(w http.ResponseWriter, r *http.Request, c *call) error {
	// Password guessing is limited per client address: there is no
	// credential yet to key the bucket on.
	if s.limiter != nil {
		if ok, wait := s.limiter.allow("addr:" + clientHost(r)); !ok {
			return &throttled{after: wait}
		}
	}
	token, tok, user, err := s.cfg.IAM.IssueToken(r.Context(), c.Body)
	if err != nil {
		// Busy password checks, or a user name past its failures: 429
		// without a password check (internal/iam/signin.go).
		if wait, ok := iam.RetryAfter(err); ok {
			if st := stateOf(r.Context()); st != nil {
				st.reason = err.Error()
			}
			return &throttled{after: wait}
		}
		if ae := iamError(err); ae != nil {
			// Logged with the access line, which is sampled (refusal.go).
			if st := stateOf(r.Context()); st != nil {
				st.reason = err.Error()
			}
			return ae
		}
		return fmt.Errorf("issue token: %w", err)
	}
	body, err := s.cfg.IAM.TokenBody(tok, user)
	if err != nil {
		return fmt.Errorf("render token: %w", err)
	}
	w.Header().Set("X-Subject-Token", token)
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write(body)
	return nil
}

// revokeToken is Keystone's DELETE /v3/auth/tokens: an authenticated caller
// revokes the token named by X-Subject-Token; 204 on success.
func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, c *call) error {
	subject := r.Header.Get("X-Subject-Token")
	if subject == "" {
		return invalidParam("X-Subject-Token", "is required")
	}
	if err := s.cfg.IAM.RevokeToken(r.Context(), subject); err != nil {
		if errors.Is(err, inventory.ErrNotFound) {
			return &apiError{http.StatusNotFound, codeNotFound, "token not found"}
		}
		return fmt.Errorf("revoke token: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// clientHost is the client's address as the limits key it: the IP, or for
// IPv6 its /64, since one host commonly holds a whole /64 and could
// otherwise take a fresh budget per address.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64) // cannot fail for an IPv6 address and 64
		return p.String()
	}
	return ip.String()
}
