package iam

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/openhss/openhss/internal/inventory"
)

// Formats of generated keys: Huawei's AKs are 20 uppercase letters and
// digits and its SKs 40 letters and digits; clients and scripts that check
// those shapes keep working.
const (
	AccessKeyLen = 20
	SecretKeyLen = 40

	akAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	skAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// Bounds on what the management calls accept.
const (
	maxDescriptionLen = 255
	maxUserNameLen    = 64
	// MinPasswordLen and MaxPasswordLen bound user passwords; 72 bytes is
	// all bcrypt looks at, so longer would silently be truncated.
	MinPasswordLen = 8
	MaxPasswordLen = 72
	maxGrantIDs    = 256
)

// CreateCredential makes an AK/SK pair for projectID (created if new) with
// the given enterprise-project grant. The secret key is returned this once and
// kept only sealed with the master key.
func (s *Service) CreateCredential(ctx context.Context, projectID string, grant inventory.Grant, description string) (accessKey, secretKey string, err error) {
	if !ValidProjectID(projectID) {
		return "", "", fmt.Errorf("%w: project id must be 1 to 64 letters, digits, '-' or '_'", ErrInvalid)
	}
	grant, err = normalizeGrant(grant)
	if err != nil {
		return "", "", err
	}
	if len(description) > maxDescriptionLen || !utf8.ValidString(description) {
		return "", "", fmt.Errorf("%w: description must be valid UTF-8 of at most %d bytes", ErrInvalid, maxDescriptionLen)
	}
	now := s.opts.Now()
	if err := s.ensureProject(ctx, projectID); err != nil {
		return "", "", err
	}
	secretKey, err = randomString(skAlphabet, SecretKeyLen)
	if err != nil {
		return "", "", err
	}
	sealed, err := s.box.Seal(secretKey)
	if err != nil {
		return "", "", fmt.Errorf("iam: seal secret key: %w", err)
	}
	// 36^20 keys make a collision all but impossible; retrying a few times
	// turns "all but" into "never" without a loop that could spin.
	for range 3 {
		accessKey, err = randomString(akAlphabet, AccessKeyLen)
		if err != nil {
			return "", "", err
		}
		err = s.store.CreateCredential(ctx, inventory.Credential{
			AccessKey:    accessKey,
			ProjectID:    projectID,
			SecretSealed: sealed,
			Grant:        grant,
			Description:  description,
			CreatedAt:    inventory.Millis(now),
		})
		if !errors.Is(err, inventory.ErrConflict) {
			break
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("iam: create credential: %w", err)
	}
	return accessKey, secretKey, nil
}

// ListCredentials lists the credentials of projectID ("" for every project).
// They carry only the sealed secret.
func (s *Service) ListCredentials(ctx context.Context, projectID string) ([]inventory.Credential, error) {
	creds, err := s.store.ListCredentials(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("iam: list credentials: %w", err)
	}
	return creds, nil
}

// RevokeCredential revokes an access key; requests signed with it fail from
// then on. An unknown key wraps inventory.ErrNotFound.
func (s *Service) RevokeCredential(ctx context.Context, accessKey string) error {
	if err := s.store.RevokeCredential(ctx, accessKey, inventory.Millis(s.opts.Now())); err != nil {
		return fmt.Errorf("iam: revoke credential %s: %w", accessKey, err)
	}
	return nil
}

// CreateUser adds an admin that can obtain tokens for projectID (created if
// new): CreateUserWithRole with inventory.RoleAdmin, what every user was
// before roles.
func (s *Service) CreateUser(ctx context.Context, projectID, name, password string, grant inventory.Grant) (inventory.User, error) {
	return s.CreateUserWithRole(ctx, projectID, name, password, grant, inventory.RoleAdmin)
}

// CreateUserWithRole adds a user of the given role that can obtain tokens
// for projectID (created if new). The password is kept as a bcrypt hash. A
// user of the same name in the project wraps inventory.ErrConflict; an
// unknown role, or a project's first user not an admin, wraps ErrInvalid.
func (s *Service) CreateUserWithRole(ctx context.Context, projectID, name, password string, grant inventory.Grant, role inventory.Role) (inventory.User, error) {
	if _, ok := inventory.ParseRole(string(role)); !ok {
		return inventory.User{}, fmt.Errorf("%w: role must be admin, operator or viewer", ErrInvalid)
	}
	if !ValidProjectID(projectID) {
		return inventory.User{}, fmt.Errorf("%w: project id must be 1 to 64 letters, digits, '-' or '_'", ErrInvalid)
	}
	if !validUserName(name) {
		return inventory.User{}, fmt.Errorf("%w: user name must be 1 to %d letters, digits, '.', '-' or '_'", ErrInvalid, maxUserNameLen)
	}
	if err := checkPassword(password); err != nil {
		return inventory.User{}, err
	}
	grant, err := normalizeGrant(grant)
	if err != nil {
		return inventory.User{}, err
	}
	if role != inventory.RoleAdmin {
		// A project's first user is its admin: a project of operators and
		// viewers alone could never manage its users in the console, and
		// from then on it keeps one (inventory.ErrLastAdmin).
		users, err := s.store.ListUsers(ctx, projectID)
		if err != nil {
			return inventory.User{}, fmt.Errorf("iam: users of %s: %w", projectID, err)
		}
		if !slices.ContainsFunc(users, func(u inventory.User) bool { return u.Role == inventory.RoleAdmin }) {
			return inventory.User{}, fmt.Errorf("%w: the first user of project %s must be an admin", ErrInvalid, projectID)
		}
	}
	hash, err := hashPassword(password)
	if err != nil {
		return inventory.User{}, err
	}
	if err := s.ensureProject(ctx, projectID); err != nil {
		return inventory.User{}, err
	}
	u, err := s.store.CreateUser(ctx, inventory.User{
		ProjectID:    projectID,
		Name:         name,
		PasswordHash: string(hash),
		Grant:        grant,
		Role:         role,
		CreatedAt:    inventory.Millis(s.opts.Now()),
	})
	if err != nil {
		return inventory.User{}, fmt.Errorf("iam: create user %s: %w", name, err)
	}
	return u, nil
}

// CreateUniqueUser is CreateUserWithRole for a name no user has in any project
// (the console's Users): a user signs in to the console by name alone, so a
// name in two projects could not sign in there. A taken name wraps
// ErrNameNotAvailable, whichever project has it, and says nothing more.
// Two concurrent creates of one new name in two projects can both succeed
// (the store's uniqueness is per project); such a name then cannot sign in
// to the console until one is deleted.
func (s *Service) CreateUniqueUser(ctx context.Context, projectID, name, password string, grant inventory.Grant, role inventory.Role) (inventory.User, error) {
	if !validUserName(name) {
		return inventory.User{}, fmt.Errorf("%w: user name must be 1 to %d letters, digits, '.', '-' or '_'", ErrInvalid, maxUserNameLen)
	}
	same, err := s.store.FindUsersByName(ctx, name)
	if err != nil {
		return inventory.User{}, fmt.Errorf("iam: find users named %s: %w", name, err)
	}
	if len(same) > 0 {
		return inventory.User{}, fmt.Errorf("iam: create user: %w", ErrNameNotAvailable)
	}
	u, err := s.CreateUserWithRole(ctx, projectID, name, password, grant, role)
	if errors.Is(err, inventory.ErrConflict) {
		return inventory.User{}, fmt.Errorf("iam: create user: %w", ErrNameNotAvailable)
	}
	return u, err
}

// ListUsers returns a project's users, by name (password hashes included:
// callers show names only).
func (s *Service) ListUsers(ctx context.Context, projectID string) ([]inventory.User, error) {
	us, err := s.store.ListUsers(ctx, projectID)
	if err != nil {
		return nil, fmt.Errorf("iam: list users of %s: %w", projectID, err)
	}
	return us, nil
}

// DeleteUser deletes the user id of projectID on behalf of the user by
// (ErrSelf when it is the same one: nobody locks themself out) and revokes
// its tokens, so its sessions end on every server. A user of another
// project, or none, wraps inventory.ErrNotFound.
func (s *Service) DeleteUser(ctx context.Context, projectID string, id, by int64) error {
	if id == by {
		return fmt.Errorf("iam: delete user %d: %w", id, ErrSelf)
	}
	if err := s.store.DeleteUser(ctx, projectID, id, inventory.Millis(s.opts.Now())); err != nil {
		return fmt.Errorf("iam: delete user %d: %w", id, err)
	}
	return nil
}

// SetUserRole gives the user id of projectID the role, on behalf of the
// user by (ErrSelf when it is the same one: nobody raises, or drops, their
// own role; by 0 is the CLI, acting for the operator of the server). A
// user of another project, or none, wraps inventory.ErrNotFound; demoting
// the project's last admin wraps inventory.ErrLastAdmin and changes
// nothing. The user's sessions and tokens carry the new role from their
// next request on this server and within 2 s on the others (the store's
// token cache).
func (s *Service) SetUserRole(ctx context.Context, projectID string, id, by int64, role inventory.Role) error {
	if _, ok := inventory.ParseRole(string(role)); !ok {
		return fmt.Errorf("%w: role must be admin, operator or viewer", ErrInvalid)
	}
	if id == by {
		return fmt.Errorf("iam: set role of user %d: %w", id, ErrSelf)
	}
	if err := s.store.SetUserRole(ctx, projectID, id, role); err != nil {
		return fmt.Errorf("iam: set role of user %d: %w", id, err)
	}
	return nil
}

func (s *Service) ensureProject(ctx context.Context, projectID string) error {
	_, err := s.store.EnsureProject(ctx, inventory.Project{
		ID:        projectID,
		Name:      s.opts.Region,
		CreatedAt: inventory.Millis(s.opts.Now()),
	})
	if err != nil {
		return fmt.Errorf("iam: ensure project %s: %w", projectID, err)
	}
	return nil
}

// normalizeGrant checks the ids of a grant and drops duplicates. A grant must
// allow something: All, or at least one id.
func normalizeGrant(g inventory.Grant) (inventory.Grant, error) {
	if g.All {
		return inventory.Grant{All: true}, nil
	}
	if len(g.IDs) == 0 || len(g.IDs) > maxGrantIDs {
		return inventory.Grant{}, fmt.Errorf("%w: grant 1 to %d enterprise projects, or all", ErrInvalid, maxGrantIDs)
	}
	ids := make([]string, 0, len(g.IDs))
	for _, id := range g.IDs {
		if !ValidEnterpriseProjectID(id) {
			return inventory.Grant{}, fmt.Errorf("%w: enterprise project id %q: at most 64 letters, digits, '-' or '_'", ErrInvalid, id)
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return inventory.Grant{IDs: ids}, nil
}

func validUserName(s string) bool {
	if s == "" || len(s) > maxUserNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// randomString draws n characters uniformly from alphabet with crypto/rand,
// rejecting bytes past the largest multiple of len(alphabet) to avoid bias.
func randomString(alphabet string, n int) (string, error) {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, 2*n)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("iam: random: %w", err)
		}
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}
