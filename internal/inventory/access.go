package inventory

import (
	"errors"
	"slices"
)

// Grant is the set of enterprise projects a credential or user may see.
type Grant struct {
	All bool     // every enterprise project of the project
	IDs []string // otherwise exactly these
}

// Allows reports whether ep is inside the grant.
func (g Grant) Allows(ep string) bool {
	return g.All || slices.Contains(g.IDs, ep)
}

// Covers reports whether every enterprise project o allows is inside g:
// who holds g may manage a user or credential of grant o without reaching
// beyond their own (docs/security.md, Web console).
func (g Grant) Covers(o Grant) bool {
	if g.All {
		return true
	}
	if o.All {
		return false
	}
	for _, ep := range o.IDs {
		if !slices.Contains(g.IDs, ep) {
			return false
		}
	}
	return true
}

// Project is an HSS project (a tenant). Every image, registry and credential
// belongs to exactly one.
type Project struct {
	ID        string
	Name      string
	CreatedAt int64
}

// Credential is an AK/SK pair. The secret key is kept sealed with the server's
// master key: signature checks need the plain key, so it cannot be hashed.
type Credential struct {
	AccessKey    string
	ProjectID    string
	SecretSealed []byte
	Grant        Grant
	Description  string
	CreatedAt    int64
	RevokedAt    int64 // 0 while active
}

// User is a name and password that can obtain tokens (POST /v3/auth/tokens).
type User struct {
	ID           int64
	ProjectID    string
	Name         string
	PasswordHash string // bcrypt
	Grant        Grant
	// Role is what the user may do in the web console and with their
	// tokens (docs/security.md, Web console). CreateUser refuses the zero
	// Role: a caller that forgot it must not make an admin. (Users stored
	// before roles became admins: the 01040 migrations.)
	Role      Role
	CreatedAt int64
}

// Role is a project user's role. Each one allows what the one below it
// does, and more (docs/console.md, Roles).
type Role string

const (
	// RoleAdmin does everything, including managing the project's users
	// and credentials.
	RoleAdmin Role = "admin"
	// RoleOperator changes the inventory and its scans: registries, syncs,
	// scans, tasks, the sensitive-path whitelist, the vulnerability data
	// update; not users or credentials.
	RoleOperator Role = "operator"
	// RoleViewer reads every page and changes nothing.
	RoleViewer Role = "viewer"
)

// Roles lists the roles, most powerful first (the console's select shows
// them in this order).
func Roles() []Role { return []Role{RoleAdmin, RoleOperator, RoleViewer} }

// ParseRole returns the role named s; false for any other string.
func ParseRole(s string) (Role, bool) {
	r := Role(s)
	return r, r.rank() > 0
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleOperator:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Allows reports whether r may do what need may. An unknown or empty role
// allows nothing, not even reading.
func (r Role) Allows(need Role) bool {
	return r.rank() > 0 && r.rank() >= need.rank()
}

// ErrLastAdmin refuses a change that would leave a project with users but
// no admin: demoting or deleting its last admin.
var ErrLastAdmin = errors.New("the project's last admin cannot be demoted or deleted")

// Token is an issued X-Auth-Token, stored by the SHA-256 of its value only.
type Token struct {
	Hash      string
	UserID    int64
	ProjectID string
	Grant     Grant
	CreatedAt int64
	ExpiresAt int64
	RevokedAt int64
	// Role is the user's role when the token was read (GetToken reads it
	// from the user's row, not from the token), so a role change applies to
	// the tokens the user already has.
	Role Role
}
