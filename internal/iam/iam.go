// Package iam authenticates HSS API callers the way Huawei Cloud's IAM and API
// gateway do: AK/SK requests signed with SDK-HMAC-SHA256, and X-Auth-Token
// tokens issued by a Keystone-v3-shaped POST /v3/auth/tokens. It also scopes a
// caller to its project and enterprise projects.
package iam

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/secret"
)

// Errors returned by Authenticate and friends. The HTTP layer maps
// ErrUnauthenticated to 401 APIGW.0301 and ErrForbidden to 403 HSS.0013.
var (
	ErrUnauthenticated = errors.New("incorrect IAM authentication information")
	ErrForbidden       = errors.New("insufficient permissions")
)

// Principal is an authenticated caller.
type Principal struct {
	ProjectID string
	Grant     inventory.Grant
	AccessKey string // set for AK/SK callers
	UserID    int64  // set for token callers
}

// Options tune a Service.
type Options struct {
	// MaxClockSkew is how far X-Sdk-Date may be from the server clock (15 min).
	MaxClockSkew time.Duration
	// TokenTTL is the lifetime of issued tokens (24 h).
	TokenTTL time.Duration
	// Now returns the current time (tests set it).
	Now func() time.Time
}

// Service authenticates requests and manages credentials, users and tokens.
type Service struct {
	store inventory.Access
	box   *secret.Box
	opts  Options
}

// New returns a Service over store, sealing secret keys with box.
func New(store inventory.Access, box *secret.Box, opts Options) *Service {
	if opts.MaxClockSkew == 0 {
		opts.MaxClockSkew = 15 * time.Minute
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, box: box, opts: opts}
}

// Authenticate identifies the caller of r, whose raw body is body (already
// read by the caller, so the body hash can be checked). It accepts an
// X-Auth-Token or an SDK-HMAC-SHA256 Authorization header. It does not check
// the project of the path: see Principal.Project.
func (s *Service) Authenticate(ctx context.Context, r *http.Request, body []byte) (Principal, error) {
	return Principal{}, errors.New("iam: not implemented")
}

// CheckProject returns ErrForbidden unless p may act on projectID.
func (p Principal) CheckProject(projectID string) error {
	if p.ProjectID != projectID {
		return ErrForbidden
	}
	return nil
}

// EnterpriseProjects resolves an enterprise_project_id parameter for p:
// "" or "0" is the default enterprise project, "all_granted_eps" every granted
// one (nil when the grant is All, meaning no restriction), any other id that
// one if granted, else ErrForbidden.
func (p Principal) EnterpriseProjects(param string) ([]string, error) {
	return nil, errors.New("iam: not implemented")
}
