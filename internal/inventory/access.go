package inventory

import "slices"

// Grant is the set of enterprise projects a credential or user may see.
type Grant struct {
	All bool     // every enterprise project of the project
	IDs []string // otherwise exactly these
}

// Allows reports whether ep is inside the grant.
func (g Grant) Allows(ep string) bool {
	return g.All || slices.Contains(g.IDs, ep)
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
	CreatedAt    int64
}

// Token is an issued X-Auth-Token, stored by the SHA-256 of its value only.
type Token struct {
	Hash      string
	UserID    int64
	ProjectID string
	Grant     Grant
	CreatedAt int64
	ExpiresAt int64
	RevokedAt int64
}
