// Package store opens the database a URL names: the embedded SQLite default
// or, for the scale-out mode, PostgreSQL.
package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/policy"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/trend"
	"github.com/openhss/openhss/internal/vulndb"
)

// Store is everything openhss persists: the union the binary opens. Its
// consumers each declare the narrow role they use, in their own package
// (hssapi.Store, scanjob.ScanStore, registry.SyncStore, ...);
// cmd/openhss/roles.go checks at compile time that Store satisfies every
// one, since this package must not import its consumers.
type Store interface {
	inventory.Store
	jobs.Store
	vulndb.Store
	scanresult.Store
	scanresult.AnalysisStore
	scanresult.PathWhitelistStore
	scanresult.FindingsAggregator
	scanresult.ScanHistoryStore
	tasks.Store
	policy.Store
	Scans
	Schedules
	// The Overview's daily snapshots (internal/trend).
	trend.Store
	trend.Reader
	// Ping checks that the database answers, within ctx (GET /healthz).
	Ping(ctx context.Context) error
	// LatestJob is the newest job of kind in any state
	// (inventory.ErrNotFound when there is none): the console's
	// vulnerability data update state (vulnupdate.Queue).
	LatestJob(ctx context.Context, kind string) (jobs.Job, error)
}

// Scans is what the scan service and the scan APIs need of the store
// beyond the stored results themselves (the roles of scanjob, and
// hssapi.ScanReader).
type Scans interface {
	SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error
	SetScanStatus(ctx context.Context, projectID, digest string, status inventory.ScanStatus) error
	RestoreScanStatus(ctx context.Context, projectID, digest string) error
	QueueScans(ctx context.Context, projectID string, js []jobs.Job, digests []string) ([]jobs.Job, []bool, error)
	SetScannable(ctx context.Context, projectID, digest string, scannable bool) error
	ImagesByDigest(ctx context.Context, projectID, digest string) ([]inventory.Image, error)
	ImagesByRef(ctx context.Context, projectID string, t inventory.ImageType, namespace, name, tag string) ([]inventory.Image, error)
	SetLocalSource(ctx context.Context, imageID int64, path, ref string) error
	LocalSource(ctx context.Context, imageID int64) (path, ref string, err error)
	OrphanedScans(ctx context.Context, kind string) ([]inventory.ScanRequest, error)
	AdoptSharedScope(ctx context.Context, projectID, digest string, since int64, scope scanresult.Scope) (bool, error)
	ScanMeta(ctx context.Context, key string) (int64, error)
	SetScanMeta(ctx context.Context, key string, value int64) error
}

// Schedules is what the scheduler (package schedule) claims due runs
// with: the due scan policies and periodic syncs, and the claims that
// queue their jobs in the same transaction.
type Schedules interface {
	DueScanPolicies(ctx context.Context, now int64, limit int) ([]policy.Policy, error)
	ClaimScanRun(ctx context.Context, projectID string, due, next int64, j jobs.Job) (bool, error)
	DueSyncs(ctx context.Context, now, first int64, limit int) (map[string]int64, error)
	ClaimSync(ctx context.Context, projectID string, due, next int64, j jobs.Job) (bool, error)
}

var (
	_ Store = (*sqlite.Store)(nil)
	_ Store = (*postgres.Store)(nil)
)

// Open opens the store at url: "sqlite://PATH" (or a bare path) for the
// embedded default, "postgres://..." or "postgresql://..." for the
// scale-out mode. A PostgreSQL URL is handed to pgx whole: its query
// parameters set pool options (pool_max_conns; pool_acquire_timeout, how
// long a call waits for a free connection before failing with "database
// pool exhausted", default 10s) and session parameters (search_path=SCHEMA
// puts openhss's tables in that schema, which must exist).
func Open(ctx context.Context, url string) (Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		return opened(sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite://")))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return opened(postgres.Open(ctx, url))
	case strings.Contains(url, "://"):
		return nil, fmt.Errorf("store: unknown database URL scheme in %q (want sqlite:// or postgres://)", redact(url))
	default:
		return opened(sqlite.Open(ctx, url))
	}
}

// opened returns a nil Store, not a Store holding a nil pointer, on error.
func opened[S Store](s S, err error) (Store, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}

// redact hides a password in a database URL for error messages.
func redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	return url[:scheme+3] + "***" + url[at:]
}
