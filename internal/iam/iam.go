// Package iam authenticates HSS API callers the way Huawei Cloud's IAM and API
// gateway do: AK/SK requests signed with SDK-HMAC-SHA256, and X-Auth-Token
// tokens issued by a Keystone-v3-shaped POST /v3/auth/tokens. It also scopes a
// caller to its project and enterprise projects.
package iam

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/secret"
)

// Errors returned by Authenticate and friends. The HTTP layer maps
// ErrUnauthenticated to 401 APIGW.0301, ErrForbidden to 403 HSS.0013,
// ErrBadEnterpriseProject to 400 HSS.0001 and ErrBadRequest to 400 HSS.0002.
// Every error wrapping one of them carries a reason meant for logs; none
// contains a secret, a token or an expected signature.
var (
	ErrUnauthenticated      = errors.New("incorrect IAM authentication information")
	ErrForbidden            = errors.New("insufficient permissions")
	ErrBadEnterpriseProject = errors.New("invalid enterprise_project_id")
	ErrBadRequest           = errors.New("malformed request")
	// ErrInvalid rejects bad input to the management calls (CreateCredential,
	// CreateUser): a project id, name, password or grant out of bounds.
	ErrInvalid = errors.New("invalid argument")
	// ErrNameNotAvailable refuses a user name some user already has, in
	// any project (CreateUniqueUser); it never says which project.
	ErrNameNotAvailable = errors.New("name not available")
	// ErrSelf refuses a user's deletion of their own account, a change of
	// their own role, and an admin's reset of their own password (they
	// change it with their current one: ChangePassword).
	ErrSelf = errors.New("a user cannot delete themself, change their own role or reset their own password")
	// ErrWrongPassword refuses a password change whose current password
	// is wrong (ChangePassword); it counts as a failed sign-in of the
	// user's name.
	ErrWrongPassword = errors.New("the current password is wrong")
)

// AllGrantedEPs is the enterprise_project_id value that selects every
// enterprise project the caller is granted.
const AllGrantedEPs = "all_granted_eps"

// DefaultRegion names the region, and so every project, when Options.Region
// is unset (docs/api.md, Conventions: `serve --region`).
const DefaultRegion = "local-1"

// Principal is an authenticated caller.
type Principal struct {
	ProjectID string
	Grant     inventory.Grant
	AccessKey string // set for AK/SK callers
	UserID    int64  // set for token callers
	// Role is a token caller's role, read with the token from the user's
	// row (a change applies to the next request, docs/security.md, Web
	// console); "" for AK/SK callers, whom Allows lets do what an
	// operator does.
	Role inventory.Role
	// SignedProjectID is the X-Project-Id header when the caller signed it;
	// CheckProject then also requires it to equal the path's project.
	SignedProjectID string
}

// Options configure a Service. Store and Box are required.
type Options struct {
	// Store holds credentials, users and tokens.
	Store inventory.Access
	// Box seals and opens secret keys.
	Box *secret.Box
	// MaxClockSkew is how far X-Sdk-Date may be from the server clock (15 min).
	MaxClockSkew time.Duration
	// TokenTTL is the lifetime of issued tokens (24 h).
	TokenTTL time.Duration
	// Now returns the current time (tests set it).
	Now func() time.Time
	// Region is the server's region (default "local-1"). As on Huawei Cloud,
	// a project is named after its region: GET /v3/projects?name=<region>
	// and Keystone scopes by project name use it.
	Region string

	// PasswordChecks bounds the bcrypt comparisons running at once, across
	// every sign-in (default DefaultPasswordChecks). A sign-in that finds
	// no free check within PasswordWait (default DefaultPasswordWait) is
	// refused with ErrThrottled.
	PasswordChecks int
	PasswordWait   time.Duration
	// SignInFailures failed sign-ins per user name are allowed per
	// SignInWindow, from any address; past that the name is refused with
	// ErrThrottled, without a password check, until the window refills. A
	// success resets the count. Defaults DefaultSignInFailures and
	// DefaultSignInWindow. The count is kept in Store: every server on
	// one database draws on it.
	SignInFailures int
	SignInWindow   time.Duration
	// ComparePassword checks a password against its bcrypt hash; default
	// bcrypt.CompareHashAndPassword (tests count calls through it).
	ComparePassword func(hash, password []byte) error
}

// Service authenticates requests and manages credentials, users and tokens.
type Service struct {
	store inventory.Access
	box   *secret.Box
	opts  Options

	// dummyHash is compared against when a token request names an unknown
	// user, so that case costs the same bcrypt time as a wrong password.
	dummyOnce sync.Once
	dummyHash []byte

	signIn *signInGuard
}

// New returns a Service over opts.Store, sealing secret keys with opts.Box.
func New(opts Options) (*Service, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("iam: Options.Store is required")
	case opts.Box == nil:
		return nil, errors.New("iam: Options.Box is required")
	}
	if opts.MaxClockSkew == 0 {
		opts.MaxClockSkew = DefaultMaxClockSkew
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = 24 * time.Hour
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Region == "" {
		opts.Region = DefaultRegion
	}
	if opts.PasswordChecks <= 0 {
		opts.PasswordChecks = DefaultPasswordChecks()
	}
	if opts.PasswordWait <= 0 {
		opts.PasswordWait = DefaultPasswordWait
	}
	if opts.SignInFailures <= 0 {
		opts.SignInFailures = DefaultSignInFailures
	}
	if opts.SignInWindow <= 0 {
		opts.SignInWindow = DefaultSignInWindow
	}
	if opts.ComparePassword == nil {
		opts.ComparePassword = bcrypt.CompareHashAndPassword
	}
	return &Service{store: opts.Store, box: opts.Box, opts: opts, signIn: newSignInGuard(opts)}, nil
}

// Bounds on what Authenticate reads from headers.
const maxTokenLen = 8192

// Authenticate identifies the caller of r, whose raw body is body (already
// read by the caller, so the body hash can be checked). It accepts an
// X-Auth-Token or an SDK-HMAC-SHA256 Authorization header, not both. It does
// not check the project of the path: see Principal.CheckProject.
//
// Rejections wrap ErrUnauthenticated; any other error is the server's fault
// (store down, master key cannot open a secret) and maps to 500.
func (s *Service) Authenticate(ctx context.Context, r *http.Request, body []byte) (Principal, error) {
	tokens := r.Header.Values("X-Auth-Token")
	auths := r.Header.Values("Authorization")
	switch {
	case len(tokens) > 0 && len(auths) > 0:
		return Principal{}, unauthenticated("send X-Auth-Token or Authorization, not both")
	case len(tokens) > 1 || len(auths) > 1:
		return Principal{}, unauthenticated("repeated credential header")
	case len(tokens) == 1:
		return s.authenticateToken(ctx, tokens[0])
	case len(auths) == 1:
		return s.authenticateSignature(ctx, r, body, auths[0])
	}
	return Principal{}, unauthenticated("no credentials: sign the request or send X-Auth-Token")
}

func (s *Service) authenticateSignature(ctx context.Context, r *http.Request, body []byte, header string) (Principal, error) {
	a, err := ParseAuthorization(header)
	if err != nil {
		return Principal{}, err
	}
	cred, err := s.store.GetCredential(ctx, a.AccessKey)
	if errors.Is(err, inventory.ErrNotFound) {
		return Principal{}, unauthenticated("unknown access key " + a.AccessKey)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("iam: look up access key: %w", err)
	}
	if cred.RevokedAt != 0 {
		return Principal{}, unauthenticated("access key " + a.AccessKey + " is revoked")
	}
	sk, err := s.box.Open(cred.SecretSealed)
	if err != nil {
		return Principal{}, fmt.Errorf("iam: open secret key of %s: %w", a.AccessKey, err)
	}
	if err := Verify(r, body, a, sk, s.opts.Now(), s.opts.MaxClockSkew); err != nil {
		return Principal{}, err
	}
	p := Principal{ProjectID: cred.ProjectID, Grant: cred.Grant, AccessKey: cred.AccessKey}
	if a.Signs(headerProjectID) {
		p.SignedProjectID = strings.TrimSpace(r.Header.Get(headerProjectID))
		if p.SignedProjectID == "" {
			return Principal{}, unauthenticated("signed X-Project-Id is empty")
		}
	}
	return p, nil
}

// AuthenticateToken is the caller a token names: the X-Auth-Token check of
// Authenticate, which the web console's session cookie goes through too.
// Rejections wrap ErrUnauthenticated.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (Principal, error) {
	return s.authenticateToken(ctx, token)
}

func (s *Service) authenticateToken(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > maxTokenLen {
		return Principal{}, unauthenticated("malformed X-Auth-Token")
	}
	t, err := s.store.GetToken(ctx, sha256Hex([]byte(token)))
	if errors.Is(err, inventory.ErrNotFound) {
		return Principal{}, unauthenticated("unknown token")
	}
	if err != nil {
		return Principal{}, fmt.Errorf("iam: look up token: %w", err)
	}
	if t.RevokedAt != 0 {
		return Principal{}, unauthenticated("token is revoked")
	}
	if s.opts.Now().UnixMilli() >= t.ExpiresAt {
		return Principal{}, unauthenticated("token is expired")
	}
	// No role: the token's user is gone. Deleting a user revokes its
	// tokens, but a sign-in racing the deletion can store one after that.
	if t.Role == "" {
		return Principal{}, unauthenticated("token's user no longer exists")
	}
	return Principal{ProjectID: t.ProjectID, Grant: t.Grant, UserID: t.UserID, Role: t.Role}, nil
}

// Allows reports whether p's role allows what need does. AK/SK callers
// (no user) are allowed what an operator is: a credential is made by an
// admin for automation, and manages no users or credentials.
func (p Principal) Allows(need inventory.Role) bool {
	if p.UserID == 0 && p.AccessKey != "" {
		return inventory.RoleOperator.Allows(need)
	}
	return p.Role.Allows(need)
}

// CheckProject returns ErrForbidden unless p may act on projectID: the
// credential's own project and, when the caller signed X-Project-Id, that
// project too.
func (p Principal) CheckProject(projectID string) error {
	if p.ProjectID != projectID {
		return fmt.Errorf("%w: the credential is not for project %q", ErrForbidden, projectID)
	}
	if p.SignedProjectID != "" && p.SignedProjectID != projectID {
		return fmt.Errorf("%w: X-Project-Id does not match the path's project", ErrForbidden)
	}
	return nil
}

// EnterpriseProjects resolves an enterprise_project_id parameter for p:
//   - "" or "0": the default enterprise project, []string{"0"}, if the grant
//     allows "0" (or is All), else ErrForbidden: a caller granted only other
//     enterprise projects must name one, as on HSS;
//   - "all_granted_eps": every granted one, nil when the grant is All (no
//     restriction), ErrForbidden when the grant is empty;
//   - any other id: that one if granted, else ErrForbidden.
//
// A malformed id wraps ErrBadEnterpriseProject (400).
func (p Principal) EnterpriseProjects(param string) ([]string, error) {
	switch param {
	case "", inventory.DefaultEnterpriseProject:
		if !p.Grant.Allows(inventory.DefaultEnterpriseProject) {
			return nil, fmt.Errorf("%w: the default enterprise project is not granted; pass enterprise_project_id", ErrForbidden)
		}
		return []string{inventory.DefaultEnterpriseProject}, nil
	case AllGrantedEPs:
		if p.Grant.All {
			return nil, nil
		}
		if len(p.Grant.IDs) == 0 {
			return nil, fmt.Errorf("%w: no enterprise project is granted", ErrForbidden)
		}
		return slices.Clone(p.Grant.IDs), nil
	}
	if !ValidEnterpriseProjectID(param) {
		return nil, fmt.Errorf("%w: at most 64 letters, digits, '-' or '_'", ErrBadEnterpriseProject)
	}
	if !p.Grant.Allows(param) {
		return nil, fmt.Errorf("%w: enterprise project %q is not granted", ErrForbidden, param)
	}
	return []string{param}, nil
}

// ValidEnterpriseProjectID reports whether id can name an enterprise project:
// 1 to 64 letters, digits, '-' or '_' (HSS uses "0" and UUIDs).
func ValidEnterpriseProjectID(id string) bool { return validID(id) }

// ValidProjectID reports whether id can name a project: 1 to 64 letters,
// digits, '-' or '_' (Huawei project ids are 32 hex digits).
func ValidProjectID(id string) bool { return validID(id) }

func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func unauthenticated(reason string) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
}
