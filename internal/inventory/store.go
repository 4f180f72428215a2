package inventory

import (
	"context"
	"math"
	"time"
)

// Images reads and writes the rows of the image list.
type Images interface {
	// ListImages returns one page of rows matching f, ordered by
	// latest_update_time descending then id descending, and the total count.
	ListImages(ctx context.Context, f Filter) (Page, error)
	// GetImage returns one row of a project.
	GetImage(ctx context.Context, projectID string, id int64) (Image, error)
	// ApplySync makes the rows of s.RegistryID match the snapshot, in one
	// transaction, and recomputes latest_version for the touched repositories.
	ApplySync(ctx context.Context, s Snapshot) (SyncResult, error)
	// StoredTags returns the rows of a registry connection as ApplySync
	// compares them with a snapshot.
	StoredTags(ctx context.Context, projectID string, registryID int64) (StoredTags, error)
	// PutLocalImage adds or replaces a local_image row and its manifests.
	PutLocalImage(ctx context.Context, img Image, manifests []Manifest) (Image, error)
}

// Registries persists registry connections.
type Registries interface {
	CreateRegistry(ctx context.Context, r Registry) (Registry, error) // ErrConflict on same project+addr+namespace
	GetRegistry(ctx context.Context, projectID string, id int64) (Registry, error)
	ListRegistries(ctx context.Context, f RegistryFilter) ([]Registry, int64, error)
	// RegistriesByImageType returns every connection of a project whose rows
	// have image type t: what one synchronize request covers.
	RegistriesByImageType(ctx context.Context, projectID string, t ImageType) ([]Registry, error)
	UpdateRegistry(ctx context.Context, r Registry) (Registry, error)
	// DeleteRegistry removes the connection and every row synced from it.
	DeleteRegistry(ctx context.Context, projectID string, id int64) error
	// DeleteRegistries removes the connections and their rows in one
	// transaction, all or none: ErrNotFound, deleting nothing, when any id
	// is not a connection of the project in enterpriseProjects (nil: any).
	DeleteRegistries(ctx context.Context, projectID string, enterpriseProjects []string, ids []int64) error
	// CountRegistriesByStatus counts the matching connections per stored
	// status.
	CountRegistriesByStatus(ctx context.Context, f RegistryStatsFilter) (map[string]int64, error)
	// SetRegistryStatus records a sync's outcome on the connection.
	SetRegistryStatus(ctx context.Context, id int64, status, failReason string, syncedAt int64) error
}

// Access persists projects, credentials, users and tokens.
type Access interface {
	EnsureProject(ctx context.Context, p Project) (Project, error)
	GetProject(ctx context.Context, id string) (Project, error)

	CreateCredential(ctx context.Context, c Credential) error
	GetCredential(ctx context.Context, accessKey string) (Credential, error)
	ListCredentials(ctx context.Context, projectID string) ([]Credential, error) // "" for all projects
	RevokeCredential(ctx context.Context, accessKey string, at int64) error

	CreateUser(ctx context.Context, u User) (User, error) // ErrConflict on same project+name
	GetUserByName(ctx context.Context, projectID, name string) (User, error)
	// FindUsersByName returns users of that name in any project (a Keystone
	// request may scope the project by name or id).
	FindUsersByName(ctx context.Context, name string) ([]User, error)
	// ListUsers returns a project's users, by name.
	ListUsers(ctx context.Context, projectID string) ([]User, error)
	// DeleteUser deletes a project's user and revokes its tokens (at,
	// ms); ErrNotFound when the project has no user of that id,
	// ErrLastAdmin, deleting nothing, when it is the project's last admin.
	DeleteUser(ctx context.Context, projectID string, id, at int64) error
	// SetUserRole changes a project's user's role; ErrNotFound when the
	// project has no user of that id, ErrLastAdmin, changing nothing, when
	// it would demote the project's last admin. Tokens read after it
	// return carry the new role (Token.Role).
	SetUserRole(ctx context.Context, projectID string, id int64, role Role) error
	// SetUserPassword replaces a project's user's password hash and
	// revokes every token of the user (at, ms), in one transaction;
	// ErrNotFound, changing nothing, when the project has no user of that
	// id. Tokens read after it returns are revoked.
	SetUserPassword(ctx context.Context, projectID string, id int64, hash string, at int64) error

	CreateToken(ctx context.Context, t Token) error
	GetToken(ctx context.Context, hash string) (Token, error)
	RevokeToken(ctx context.Context, hash string, at int64) error
	// PurgeExpiredTokens deletes the tokens with expires_at before the
	// given time (ms) and returns how many it deleted.
	PurgeExpiredTokens(ctx context.Context, before int64) (int64, error)

	// AnySealedSecret returns one stored sealed value (a credential's
	// secret key or a registry password), or nil when there is none: the
	// master key is checked against it at start.
	AnySealedSecret(ctx context.Context) ([]byte, error)

	// The failed sign-in budget of a user name (docs/security.md, Password
	// guessing per user), one count for every server on the store; key is
	// the name's hash, now the caller's clock in ms.
	//
	// TakeSignInFailure reserves one failure of key's budget, atomically
	// across servers: of two takes of the last one, one gets it. It
	// returns 0 when it took one, else how long until one will be there,
	// taking nothing.
	TakeSignInFailure(ctx context.Context, key string, b SignInBudget, now int64) (wait time.Duration, err error)
	// RefundSignInFailure gives back a failure taken for an attempt that
	// ended in neither success nor a wrong password.
	RefundSignInFailure(ctx context.Context, key string, b SignInBudget) error
	// ForgetSignInFailures refills key's budget (a success).
	ForgetSignInFailures(ctx context.Context, key string) error
}

// SignInBudget is a user name's budget of failed sign-ins, a token bucket:
// Burst failures at once, refilled at Burst per Window.
type SignInBudget struct {
	Burst  int
	Window time.Duration
}

// Valid reports whether the budget has tokens and a window to refill them
// in (a whole millisecond at least: the stores keep ms).
func (b SignInBudget) Valid() bool { return b.Burst > 0 && b.Window.Milliseconds() > 0 }

// Take is one take from a bucket that held tokens when last taken from at
// at (ms), made at now (ms): the bucket refilled by the time since at,
// then one token taken. It returns what the bucket then holds and when it
// was last taken from; under one token it takes nothing, leaves both as
// they are, and says how long until a token will be there (rounded up to
// the ms, so never 0). A clock behind at (another server's) refills
// nothing and waits until it reaches at too.
func (b SignInBudget) Take(tokens float64, at, now int64) (left float64, last int64, wait time.Duration) {
	// Refills multiply before they divide, so that a whole share of the
	// window refills whole tokens, exactly.
	burst, windowMs := float64(b.Burst), float64(b.Window.Milliseconds())
	behind := max(0, at-now)
	if now > at {
		tokens, at = min(burst, tokens+float64(now-at)*burst/windowMs), now
	}
	if tokens < 1 {
		return tokens, at, time.Duration(behind+int64(math.Ceil((1-tokens)*windowMs/burst))) * time.Millisecond
	}
	return tokens - 1, at, 0
}

// Store is everything the inventory persists. A database engine implements
// it once; the rest of openhss depends only on the narrow interfaces above.
type Store interface {
	Images
	Registries
	Access
	Close() error
}
