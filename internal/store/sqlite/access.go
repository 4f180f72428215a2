package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

func grantCols(g inventory.Grant) (int, string) {
	ids := g.IDs
	if ids == nil {
		ids = []string{}
	}
	b, _ := json.Marshal(ids) // a []string always marshals
	return b2i(g.All), string(b)
}

func parseGrant(all int, ids string) (inventory.Grant, error) {
	g := inventory.Grant{All: all != 0}
	if err := json.Unmarshal([]byte(ids), &g.IDs); err != nil {
		return g, fmt.Errorf("grant: %w", err)
	}
	if len(g.IDs) == 0 {
		g.IDs = nil
	}
	return g, nil
}

// EnsureProject creates the project unless it exists, and returns the stored
// one.
func (s *Store) EnsureProject(ctx context.Context, p inventory.Project) (inventory.Project, error) {
	if p.ID == "" {
		return p, fmt.Errorf("sqlite: project needs an id")
	}
	if p.CreatedAt == 0 {
		p.CreatedAt = time.Now().UnixMilli()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO projects (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			p.ID, p.Name, p.CreatedAt)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("sqlite: ensure project %s: %w", p.ID, err)
	}
	return s.GetProject(ctx, p.ID)
}

// GetProject returns a project by id.
func (s *Store) GetProject(ctx context.Context, id string) (inventory.Project, error) {
	var p inventory.Project
	err := s.reads.queryRow(ctx, `SELECT id, name, created_at FROM projects WHERE id = ?`, id).Scan(&p.ID, &p.Name, &p.CreatedAt)
	if err != nil {
		return p, notFound(err, "project "+id)
	}
	return p, nil
}

// CreateCredential stores an AK/SK pair; ErrConflict when the access key
// exists.
func (s *Store) CreateCredential(ctx context.Context, c inventory.Credential) error {
	all, ids := grantCols(c.Grant)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO credentials (access_key, project_id, secret_sealed, grant_all, grant_ids,
			description, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			c.AccessKey, c.ProjectID, c.SecretSealed, all, ids, c.Description, c.CreatedAt, c.RevokedAt)
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: credential %s: %w", c.AccessKey, inventory.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create credential: %w", err)
	}
	return nil
}

const credentialCols = `access_key, project_id, secret_sealed, grant_all, grant_ids, description, created_at, revoked_at`

func scanCredential(r rowScanner) (inventory.Credential, error) {
	var (
		c   inventory.Credential
		all int
		ids string
	)
	if err := r.Scan(&c.AccessKey, &c.ProjectID, &c.SecretSealed, &all, &ids, &c.Description, &c.CreatedAt, &c.RevokedAt); err != nil {
		return c, err
	}
	g, err := parseGrant(all, ids)
	c.Grant = g
	return c, err
}

// GetCredential returns a credential by access key, revoked or not.
func (s *Store) GetCredential(ctx context.Context, accessKey string) (inventory.Credential, error) {
	c, err := scanCredential(s.reads.queryRow(ctx, `SELECT `+credentialCols+` FROM credentials WHERE access_key = ?`, accessKey))
	if err != nil {
		return c, notFound(err, "credential "+accessKey)
	}
	return c, nil
}

// ListCredentials returns the credentials of a project ("" for all), oldest
// first.
func (s *Store) ListCredentials(ctx context.Context, projectID string) ([]inventory.Credential, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+credentialCols+` FROM credentials
		WHERE ?1 = '' OR project_id = ?1 ORDER BY created_at, access_key`, projectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list credentials: %w", err)
	}
	defer rows.Close()
	out := []inventory.Credential{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list credentials: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RevokeCredential marks a credential revoked at the given time (the first
// revocation time is kept).
func (s *Store) RevokeCredential(ctx context.Context, accessKey string, at int64) error {
	return s.revoke(ctx, `UPDATE credentials SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE access_key = ?`, at, accessKey, "credential")
}

func (s *Store) revoke(ctx context.Context, query string, at int64, key, what string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, at, key)
		if err != nil {
			return fmt.Errorf("sqlite: revoke %s: %w", what, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("sqlite: %s: %w", what, inventory.ErrNotFound)
		}
		return nil
	})
}

// CreateUser stores a user; ErrConflict on the same project and name.
func (s *Store) CreateUser(ctx context.Context, u inventory.User) (inventory.User, error) {
	if u.CreatedAt == 0 {
		u.CreatedAt = time.Now().UnixMilli()
	}
	all, ids := grantCols(u.Grant)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO users (project_id, name, password_hash, grant_all, grant_ids, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, u.ProjectID, u.Name, u.PasswordHash, all, ids, u.CreatedAt).Scan(&u.ID)
	})
	if isUnique(err) {
		return inventory.User{}, fmt.Errorf("sqlite: user %s: %w", u.Name, inventory.ErrConflict)
	}
	if err != nil {
		return inventory.User{}, fmt.Errorf("sqlite: create user: %w", err)
	}
	return u, nil
}

const userCols = `id, project_id, name, password_hash, grant_all, grant_ids, created_at`

func scanUser(r rowScanner) (inventory.User, error) {
	var (
		u   inventory.User
		all int
		ids string
	)
	if err := r.Scan(&u.ID, &u.ProjectID, &u.Name, &u.PasswordHash, &all, &ids, &u.CreatedAt); err != nil {
		return u, err
	}
	g, err := parseGrant(all, ids)
	u.Grant = g
	return u, err
}

// GetUserByName returns a project's user by name.
func (s *Store) GetUserByName(ctx context.Context, projectID, name string) (inventory.User, error) {
	u, err := scanUser(s.reads.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE project_id = ? AND name = ?`, projectID, name))
	if err != nil {
		return u, notFound(err, "user "+name)
	}
	return u, nil
}

// FindUsersByName returns the users of that name in every project, by id.
func (s *Store) FindUsersByName(ctx context.Context, name string) ([]inventory.User, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ? ORDER BY id`, name)
	if err != nil {
		return nil, fmt.Errorf("sqlite: find users: %w", err)
	}
	defer rows.Close()
	out := []inventory.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: find users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateToken stores an issued token by its hash.
func (s *Store) CreateToken(ctx context.Context, t inventory.Token) error {
	all, ids := grantCols(t.Grant)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, user_id, project_id, grant_all, grant_ids, created_at, expires_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, t.Hash, t.UserID, t.ProjectID, all, ids, t.CreatedAt, t.ExpiresAt, t.RevokedAt)
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: token: %w", inventory.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create token: %w", err)
	}
	return nil
}

// GetToken returns a token by hash, expired or revoked or not. Rows are
// cached for up to tokenCacheTTL (see tokenCache).
func (s *Store) GetToken(ctx context.Context, hash string) (inventory.Token, error) {
	if t, ok := s.tokens.get(hash); ok {
		return t, nil
	}
	epoch := s.tokens.begin()
	var (
		t   inventory.Token
		all int
		ids string
	)
	err := s.reads.queryRow(ctx, `SELECT hash, user_id, project_id, grant_all, grant_ids, created_at, expires_at, revoked_at
		FROM tokens WHERE hash = ?`, hash).Scan(&t.Hash, &t.UserID, &t.ProjectID, &all, &ids, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt)
	if err != nil {
		return t, notFound(err, "token")
	}
	t.Grant, err = parseGrant(all, ids)
	if err != nil {
		return t, fmt.Errorf("sqlite: token: %w", err)
	}
	s.tokens.put(epoch, t)
	return t, nil
}

// RevokeToken marks a token revoked (the first revocation time is kept).
func (s *Store) RevokeToken(ctx context.Context, hash string, at int64) error {
	// Forget the cached row after the commit, whatever the outcome: a
	// lookup that read the row before the commit must not store it.
	defer s.tokens.revoked(hash)
	return s.revoke(ctx, `UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN ? ELSE revoked_at END WHERE hash = ?`, at, hash, "token")
}

// PurgeExpiredTokens deletes the tokens that expired before the given time
// (ms) and returns how many. Revoked ones go the same way once expired.
func (s *Store) PurgeExpiredTokens(ctx context.Context, before int64) (int64, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, before)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: purge expired tokens: %w", err)
	}
	return n, nil
}

// AnySealedSecret returns one stored sealed value (an AK/SK secret key or a
// registry password), or nil when the database holds none.
func (s *Store) AnySealedSecret(ctx context.Context) ([]byte, error) {
	var v []byte
	err := s.read.QueryRowContext(ctx, `SELECT v FROM (
			SELECT secret_sealed AS v FROM credentials WHERE length(secret_sealed) > 0
			UNION ALL
			SELECT password_sealed FROM registries WHERE length(password_sealed) > 0
		) LIMIT 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read a sealed secret: %w", err)
	}
	return v, nil
}
