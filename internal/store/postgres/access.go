package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/inventory"
)

// grantIDs is the stored form of a grant's ids: never NULL.
func grantIDs(g inventory.Grant) []string {
	if g.IDs == nil {
		return []string{}
	}
	return g.IDs
}

// readGrant turns the stored columns back into a Grant; no ids read as nil,
// as in the SQLite store.
func readGrant(all bool, ids []string) inventory.Grant {
	if len(ids) == 0 {
		ids = nil
	}
	return inventory.Grant{All: all, IDs: ids}
}

// EnsureProject creates the project unless it exists, and returns the stored
// one.
func (s *Store) EnsureProject(ctx context.Context, p inventory.Project) (inventory.Project, error) {
	if p.ID == "" {
		return p, fmt.Errorf("postgres: project needs an id")
	}
	if p.CreatedAt == 0 {
		p.CreatedAt = time.Now().UnixMilli()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Name, p.CreatedAt)
	if err != nil {
		return p, fmt.Errorf("postgres: ensure project %s: %w", p.ID, err)
	}
	return s.GetProject(ctx, p.ID)
}

// GetProject returns a project by id.
func (s *Store) GetProject(ctx context.Context, id string) (inventory.Project, error) {
	var p inventory.Project
	if !storable(id) {
		return p, fmt.Errorf("postgres: project: %w", inventory.ErrNotFound)
	}
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at FROM projects WHERE id = $1`, id).Scan(&p.ID, &p.Name, &p.CreatedAt)
	if err != nil {
		return p, notFound(err, "project "+id)
	}
	return p, nil
}

// CreateCredential stores an AK/SK pair; ErrConflict when the access key
// exists.
func (s *Store) CreateCredential(ctx context.Context, c inventory.Credential) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO credentials (access_key, project_id, secret_sealed, grant_all, grant_ids,
		description, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.AccessKey, c.ProjectID, c.SecretSealed, c.Grant.All, grantIDs(c.Grant), c.Description, c.CreatedAt, c.RevokedAt)
	if isUnique(err) {
		return fmt.Errorf("postgres: credential %s: %w", c.AccessKey, inventory.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create credential: %w", err)
	}
	return nil
}

const credentialCols = `access_key, project_id, secret_sealed, grant_all, grant_ids, description, created_at, revoked_at`

func scanCredential(r pgx.Row) (inventory.Credential, error) {
	var (
		c   inventory.Credential
		all bool
		ids []string
	)
	if err := r.Scan(&c.AccessKey, &c.ProjectID, &c.SecretSealed, &all, &ids, &c.Description, &c.CreatedAt, &c.RevokedAt); err != nil {
		return c, err
	}
	c.Grant = readGrant(all, ids)
	return c, nil
}

// GetCredential returns a credential by access key, revoked or not.
func (s *Store) GetCredential(ctx context.Context, accessKey string) (inventory.Credential, error) {
	if !storable(accessKey) {
		return inventory.Credential{}, fmt.Errorf("postgres: credential: %w", inventory.ErrNotFound)
	}
	c, err := scanCredential(s.pool.QueryRow(ctx, `SELECT `+credentialCols+` FROM credentials WHERE access_key = $1`, accessKey))
	if err != nil {
		return c, notFound(err, "credential "+accessKey)
	}
	return c, nil
}

// ListCredentials returns the credentials of a project ("" for all), oldest
// first.
func (s *Store) ListCredentials(ctx context.Context, projectID string) ([]inventory.Credential, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+credentialCols+` FROM credentials
		WHERE $1 = '' OR project_id = $1 ORDER BY created_at, access_key`, projectID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list credentials: %w", err)
	}
	defer rows.Close()
	out := []inventory.Credential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: list credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeCredential marks a credential revoked at the given time (the first
// revocation time is kept).
func (s *Store) RevokeCredential(ctx context.Context, accessKey string, at int64) error {
	return s.revoke(ctx, `UPDATE credentials SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END WHERE access_key = $2`, at, accessKey, "credential")
}

func (s *Store) revoke(ctx context.Context, sql string, at int64, key, what string) error {
	if !storable(key) {
		return fmt.Errorf("postgres: %s: %w", what, inventory.ErrNotFound)
	}
	tag, err := s.pool.Exec(ctx, sql, at, key)
	if err != nil {
		return fmt.Errorf("postgres: revoke %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s: %w", what, inventory.ErrNotFound)
	}
	return nil
}

// CreateUser stores a user; ErrConflict on the same project and name.
func (s *Store) CreateUser(ctx context.Context, u inventory.User) (inventory.User, error) {
	if u.CreatedAt == 0 {
		u.CreatedAt = time.Now().UnixMilli()
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO users (project_id, name, password_hash, grant_all, grant_ids, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, u.ProjectID, u.Name, u.PasswordHash, u.Grant.All, grantIDs(u.Grant), u.CreatedAt).Scan(&u.ID)
	if isUnique(err) {
		return inventory.User{}, fmt.Errorf("postgres: user %s: %w", u.Name, inventory.ErrConflict)
	}
	if err != nil {
		return inventory.User{}, fmt.Errorf("postgres: create user: %w", err)
	}
	return u, nil
}

const userCols = `id, project_id, name, password_hash, grant_all, grant_ids, created_at`

func scanUser(r pgx.Row) (inventory.User, error) {
	var (
		u   inventory.User
		all bool
		ids []string
	)
	if err := r.Scan(&u.ID, &u.ProjectID, &u.Name, &u.PasswordHash, &all, &ids, &u.CreatedAt); err != nil {
		return u, err
	}
	u.Grant = readGrant(all, ids)
	return u, nil
}

// GetUserByName returns a project's user by name.
func (s *Store) GetUserByName(ctx context.Context, projectID, name string) (inventory.User, error) {
	if !storable(projectID) || !storable(name) {
		return inventory.User{}, fmt.Errorf("postgres: user: %w", inventory.ErrNotFound)
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE project_id = $1 AND name = $2`, projectID, name))
	if err != nil {
		return u, notFound(err, "user "+name)
	}
	return u, nil
}

// FindUsersByName returns the users of that name in every project, by id.
func (s *Store) FindUsersByName(ctx context.Context, name string) ([]inventory.User, error) {
	out := []inventory.User{}
	if !storable(name) {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users WHERE name = $1 ORDER BY id`, name)
	if err != nil {
		return nil, fmt.Errorf("postgres: find users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: find users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateToken stores an issued token by its hash.
func (s *Store) CreateToken(ctx context.Context, t inventory.Token) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (hash, user_id, project_id, grant_all, grant_ids, created_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.Hash, t.UserID, t.ProjectID, t.Grant.All, grantIDs(t.Grant), t.CreatedAt, t.ExpiresAt, t.RevokedAt)
	if isUnique(err) {
		return fmt.Errorf("postgres: token: %w", inventory.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create token: %w", err)
	}
	return nil
}

// GetToken returns a token by hash, expired or revoked or not.
func (s *Store) GetToken(ctx context.Context, hash string) (inventory.Token, error) {
	var (
		t   inventory.Token
		all bool
		ids []string
	)
	if !storable(hash) {
		return t, fmt.Errorf("postgres: token: %w", inventory.ErrNotFound)
	}
	err := s.pool.QueryRow(ctx, `SELECT hash, user_id, project_id, grant_all, grant_ids, created_at, expires_at, revoked_at
		FROM tokens WHERE hash = $1`, hash).Scan(&t.Hash, &t.UserID, &t.ProjectID, &all, &ids, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt)
	if err != nil {
		return t, notFound(err, "token")
	}
	t.Grant = readGrant(all, ids)
	return t, nil
}

// RevokeToken marks a token revoked (the first revocation time is kept).
func (s *Store) RevokeToken(ctx context.Context, hash string, at int64) error {
	return s.revoke(ctx, `UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END WHERE hash = $2`, at, hash, "token")
}

// PurgeExpiredTokens deletes the tokens that expired before the given time
// (ms) and returns how many. Revoked ones go the same way once expired.
func (s *Store) PurgeExpiredTokens(ctx context.Context, before int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE expires_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("postgres: purge expired tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// AnySealedSecret returns one stored sealed value (an AK/SK secret key or a
// registry password), or nil when the database holds none.
func (s *Store) AnySealedSecret(ctx context.Context) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT v FROM (
			SELECT secret_sealed AS v FROM credentials WHERE length(secret_sealed) > 0
			UNION ALL
			SELECT password_sealed FROM registries WHERE length(password_sealed) > 0
		) AS sealed LIMIT 1`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: read a sealed secret: %w", err)
	}
	return v, nil
}
