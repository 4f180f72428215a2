package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// grantIDs is a grant's ids as the JSON text bound for the grant_ids
// column (see Dialect.StringsFromJSON): never null.
func grantIDs(g inventory.Grant) string {
	b, _ := json.Marshal(nonNil(g.IDs)) // a []string always marshals
	return string(b)
}

// storedGrant is a grant's columns as a row holds them: grant_all, and
// grant_ids as Dialect.StringsToJSON reads them.
type storedGrant struct {
	all bool
	ids string
}

// grant turns the stored columns back into a Grant; no ids read as nil.
func (sg storedGrant) grant() (inventory.Grant, error) {
	g := inventory.Grant{All: sg.all}
	if err := json.Unmarshal([]byte(sg.ids), &g.IDs); err != nil {
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
		return p, s.errf("project needs an id")
	}
	p.CreatedAt = cmp.Or(p.CreatedAt, time.Now().UnixMilli())
	_, err := s.write.ExecContext(ctx, `INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		p.ID, p.Name, p.CreatedAt)
	if err != nil {
		return p, s.errf("ensure project %s: %w", p.ID, err)
	}
	return s.GetProject(ctx, p.ID)
}

// GetProject returns a project by id.
func (s *Store) GetProject(ctx context.Context, id string) (inventory.Project, error) {
	var p inventory.Project
	if !s.storable(id) {
		return p, s.errf("project: %w", inventory.ErrNotFound)
	}
	err := s.queryRow(ctx, `SELECT id, name, created_at FROM projects WHERE id = $1`, id).Scan(&p.ID, &p.Name, &p.CreatedAt)
	return p, s.notFound(err, "project "+id)
}

// CreateCredential stores an AK/SK pair; ErrConflict when the access key
// exists.
func (s *Store) CreateCredential(ctx context.Context, c inventory.Credential) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO credentials (access_key, project_id, secret_sealed, grant_all, grant_ids,
		description, created_at, revoked_at) VALUES ($1, $2, $3, $4, `+s.d.StringsFromJSON("$5")+`, $6, $7, $8)`,
		c.AccessKey, c.ProjectID, c.SecretSealed, c.Grant.All, grantIDs(c.Grant), c.Description, c.CreatedAt, c.RevokedAt)
	return s.conflict(err, "credential "+c.AccessKey, "create credential")
}

func (s *Store) credentialCols() string {
	return `access_key, project_id, secret_sealed, grant_all, ` + s.d.StringsToJSON("grant_ids") + `, description, created_at, revoked_at`
}

func scanCredential(r rowScanner) (c inventory.Credential, err error) {
	var g storedGrant
	if err := r.Scan(&c.AccessKey, &c.ProjectID, &c.SecretSealed, &g.all, &g.ids, &c.Description, &c.CreatedAt, &c.RevokedAt); err != nil {
		return c, err
	}
	c.Grant, err = g.grant()
	return c, err
}

// GetCredential returns a credential by access key, revoked or not.
func (s *Store) GetCredential(ctx context.Context, accessKey string) (inventory.Credential, error) {
	if !s.storable(accessKey) {
		return inventory.Credential{}, s.errf("credential: %w", inventory.ErrNotFound)
	}
	c, err := scanCredential(s.queryRow(ctx, `SELECT `+s.credentialCols()+` FROM credentials WHERE access_key = $1`, accessKey))
	return c, s.notFound(err, "credential "+accessKey)
}

// ListCredentials returns the credentials of a project ("" for all), oldest
// first.
func (s *Store) ListCredentials(ctx context.Context, projectID string) ([]inventory.Credential, error) {
	if !s.storable(projectID) {
		return []inventory.Credential{}, nil
	}
	return readAll(ctx, s, s.read, "list credentials", scanCredential, `SELECT `+s.credentialCols()+` FROM credentials
		WHERE $1 = '' OR project_id = $1 ORDER BY created_at, access_key`, projectID)
}

// RevokeCredential marks a credential revoked at the given time (the first
// revocation time is kept).
func (s *Store) RevokeCredential(ctx context.Context, accessKey string, at int64) error {
	return s.revoke(ctx, `UPDATE credentials SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END WHERE access_key = $2`, at, accessKey, "credential")
}

func (s *Store) revoke(ctx context.Context, query string, at int64, key, what string) error {
	if !s.storable(key) {
		return s.errf("%s: %w", what, inventory.ErrNotFound)
	}
	return s.execFound(ctx, s.write, what, "revoke "+what, query, at, key)
}

// CreateUser stores a user; ErrConflict on the same project and name. A
// zero Role is refused as an unknown one is (inventory.User).
func (s *Store) CreateUser(ctx context.Context, u inventory.User) (inventory.User, error) {
	u.CreatedAt = cmp.Or(u.CreatedAt, time.Now().UnixMilli())
	if _, ok := inventory.ParseRole(string(u.Role)); !ok {
		return inventory.User{}, s.errf("create user %s: unknown role %q", u.Name, u.Role)
	}
	err := s.write.QueryRowContext(ctx, `INSERT INTO users (project_id, name, password_hash, grant_all, grant_ids, role, created_at)
		VALUES ($1, $2, $3, $4, `+s.d.StringsFromJSON("$5")+`, $6, $7) RETURNING id`,
		u.ProjectID, u.Name, u.PasswordHash, u.Grant.All, grantIDs(u.Grant), string(u.Role), u.CreatedAt).Scan(&u.ID)
	if err := s.conflict(err, "user "+u.Name, "create user"); err != nil {
		return inventory.User{}, err
	}
	return u, nil
}

func (s *Store) userCols() string {
	return `id, project_id, name, password_hash, grant_all, ` + s.d.StringsToJSON("grant_ids") + `, role, created_at`
}

func scanUser(r rowScanner) (u inventory.User, err error) {
	var g storedGrant
	if err := r.Scan(&u.ID, &u.ProjectID, &u.Name, &u.PasswordHash, &g.all, &g.ids, &u.Role, &u.CreatedAt); err != nil {
		return u, err
	}
	u.Grant, err = g.grant()
	return u, err
}

// GetUserByName returns a project's user by name.
func (s *Store) GetUserByName(ctx context.Context, projectID, name string) (inventory.User, error) {
	if !s.storable(projectID, name) {
		return inventory.User{}, s.errf("user: %w", inventory.ErrNotFound)
	}
	u, err := scanUser(s.queryRow(ctx, `SELECT `+s.userCols()+` FROM users WHERE project_id = $1 AND name = $2`, projectID, name))
	return u, s.notFound(err, "user "+name)
}

// FindUsersByName returns the users of that name in every project, by id.
func (s *Store) FindUsersByName(ctx context.Context, name string) ([]inventory.User, error) {
	if !s.storable(name) {
		return []inventory.User{}, nil
	}
	return readAll(ctx, s, s.read, "find users", scanUser, `SELECT `+s.userCols()+` FROM users WHERE name = $1 ORDER BY id`, name)
}

// ListUsers returns a project's users, by name.
func (s *Store) ListUsers(ctx context.Context, projectID string) ([]inventory.User, error) {
	if !s.storable(projectID) {
		return []inventory.User{}, nil
	}
	return readAll(ctx, s, s.read, "list users", scanUser, `SELECT `+s.userCols()+` FROM users WHERE project_id = $1 ORDER BY name, id`, projectID)
}

// DeleteUser deletes a project's user and revokes its tokens (at, ms) in
// one transaction, so no session or token of a deleted user outlives it;
// ErrNotFound when the project has no user of that id, ErrLastAdmin when
// it is the project's last admin.
func (s *Store) DeleteUser(ctx context.Context, projectID string, id, at int64) error {
	// Forget every cached token after the commit: the user's hashes are
	// not known here, and a lookup racing with the revocation must not
	// store what it read.
	defer s.tokens.revokedAll()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.keepAnAdmin(ctx, tx, projectID, id, ""); err != nil {
			return err
		}
		if err := s.execFound(ctx, tx, fmt.Sprintf("user %d", id), fmt.Sprintf("delete user %d", id),
			`DELETE FROM users WHERE id = $1 AND project_id = $2`, id, projectID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0`, at, id)
		return s.wrap(err, fmt.Sprintf("revoke tokens of user %d", id))
	})
}

// SetUserRole changes a project's user's role; ErrNotFound when the
// project has no user of that id, ErrLastAdmin, changing nothing, when it
// would demote the project's last admin. The token cache is emptied after
// the commit, as by DeleteUser: this process's next GetToken of the user's
// tokens reads the new role, another process's within tokenCacheTTL.
func (s *Store) SetUserRole(ctx context.Context, projectID string, id int64, role inventory.Role) error {
	if _, ok := inventory.ParseRole(string(role)); !ok {
		return s.errf("set role of user %d: unknown role %q", id, role)
	}
	defer s.tokens.revokedAll()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.keepAnAdmin(ctx, tx, projectID, id, role); err != nil {
			return err
		}
		return s.execFound(ctx, tx, fmt.Sprintf("user %d", id), fmt.Sprintf("set role of user %d", id),
			`UPDATE users SET role = $1 WHERE id = $2 AND project_id = $3`, string(role), id, projectID)
	})
}

// SetUserPassword replaces a project's user's password hash and revokes
// every token of the user (at, ms) in one transaction, so no session or
// token issued under the old password outlives the change; ErrNotFound,
// changing nothing, when the project has no user of that id. The token
// cache is emptied after the commit, as by DeleteUser: this process stops
// serving the revoked tokens at once, another process within
// tokenCacheTTL.
func (s *Store) SetUserPassword(ctx context.Context, projectID string, id int64, hash string, at int64) error {
	if hash == "" {
		return s.errf("set password of user %d: empty hash", id)
	}
	if !s.storable(projectID) {
		return s.errf("user %d: %w", id, inventory.ErrNotFound)
	}
	defer s.tokens.revokedAll()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFound(ctx, tx, fmt.Sprintf("user %d", id), fmt.Sprintf("set password of user %d", id),
			`UPDATE users SET password_hash = $1 WHERE id = $2 AND project_id = $3`, hash, id, projectID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0`, at, id)
		return s.wrap(err, fmt.Sprintf("revoke tokens of user %d", id))
	})
}

// keepAnAdmin returns ErrLastAdmin when the project's user id is an admin,
// no other user of the project is, and the change gives them the role to
// ("" for a deletion) other than admin (a user it does not find is the
// change's own not-found). It locks the project's user rows (FOR UPDATE on
// PostgreSQL; SQLite's write transactions run one at a time), so two admins
// demoting each other at once cannot both pass: the second re-reads the
// first's change. Making someone admin demotes nobody: nothing to check.
func (s *Store) keepAnAdmin(ctx context.Context, tx *sql.Tx, projectID string, id int64, to inventory.Role) error {
	if to == inventory.RoleAdmin {
		return nil
	}
	if !s.storable(projectID) {
		return s.errf("user %d: %w", id, inventory.ErrNotFound)
	}
	type row struct {
		id   int64
		role inventory.Role
	}
	rows, err := queryAll(ctx, tx, func(r rowScanner) (x row, err error) { return x, r.Scan(&x.id, &x.role) },
		`SELECT id, role FROM users WHERE project_id = $1 ORDER BY id`+s.d.forUpdate(), projectID)
	if err != nil {
		return s.errf("read users of %s: %w", projectID, err)
	}
	demoted, others := false, 0
	for _, u := range rows {
		switch {
		case u.id == id:
			demoted = u.role == inventory.RoleAdmin
		case u.role == inventory.RoleAdmin:
			others++
		}
	}
	if demoted && others == 0 {
		return s.errf("user %d: %w", id, inventory.ErrLastAdmin)
	}
	return nil
}

// CreateToken stores an issued token by its hash.
func (s *Store) CreateToken(ctx context.Context, t inventory.Token) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO tokens (hash, user_id, project_id, grant_all, grant_ids, created_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, `+s.d.StringsFromJSON("$5")+`, $6, $7, $8)`,
		t.Hash, t.UserID, t.ProjectID, t.Grant.All, grantIDs(t.Grant), t.CreatedAt, t.ExpiresAt, t.RevokedAt)
	return s.conflict(err, "token", "create token")
}

// GetToken returns a token by hash, expired or revoked or not. Rows are
// cached for up to tokenCacheTTL (see tokenCache).
func (s *Store) GetToken(ctx context.Context, hash string) (inventory.Token, error) {
	if t, ok := s.tokens.get(hash); ok {
		return t, nil
	}
	var (
		t inventory.Token
		g storedGrant
	)
	if !s.storable(hash) {
		return t, s.errf("token: %w", inventory.ErrNotFound)
	}
	epoch := s.tokens.begin()
	// The role is the user's, read with the token: a role change applies
	// to tokens already issued (SetUserRole). A deleted user's tokens are
	// revoked; their role reads as "", which iam refuses (a token stored
	// by a sign-in racing the deletion).
	err := s.queryRow(ctx, `SELECT t.hash, t.user_id, t.project_id, t.grant_all, `+s.d.StringsToJSON("t.grant_ids")+`,
		t.created_at, t.expires_at, t.revoked_at, coalesce(u.role, '')
		FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.hash = $1`, hash).Scan(&t.Hash, &t.UserID, &t.ProjectID,
		&g.all, &g.ids, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.Role)
	if err != nil {
		return t, s.notFound(err, "token")
	}
	if t.Grant, err = g.grant(); err != nil {
		return t, s.errf("token: %w", err)
	}
	s.tokens.put(epoch, t)
	return t, nil
}

// RevokeToken marks a token revoked (the first revocation time is kept).
func (s *Store) RevokeToken(ctx context.Context, hash string, at int64) error {
	// Forget the cached row after the commit, whatever the outcome: a
	// lookup that read the row before the commit must not store it.
	defer s.tokens.revoked(hash)
	return s.revoke(ctx, `UPDATE tokens SET revoked_at = CASE WHEN revoked_at = 0 THEN $1 ELSE revoked_at END WHERE hash = $2`, at, hash, "token")
}

// PurgeExpiredTokens deletes the tokens that expired before the given time
// (ms) and returns how many. Revoked ones go the same way once expired.
func (s *Store) PurgeExpiredTokens(ctx context.Context, before int64) (int64, error) {
	n, err := execCount(ctx, s.write, `DELETE FROM tokens WHERE expires_at < $1`, before)
	if err != nil {
		return 0, s.errf("purge expired tokens: %w", err)
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
		) AS sealed LIMIT 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.errf("read a sealed secret: %w", err)
	}
	return v, nil
}
