// Package hssapi is the HTTP layer of openhss: the routes of the Huawei Cloud
// HSS v5 image API (and the two IAM calls its SDK makes), request parsing and
// validation, the HSS error envelope and the JSON shapes of the SDK models.
//
// A handler parses and validates, calls one store or domain function, and
// writes JSON. Authentication, rate limiting, request ids, access logs and
// metrics are middleware shared by every route.
package hssapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/policy"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/taskrun"
)

// SyncRequester starts (or joins the running) synchronization of every
// registry connection of image type t in a project. joined reports that an
// equivalent sync was already queued or running.
type SyncRequester interface {
	Request(ctx context.Context, projectID string, t inventory.ImageType) (job jobs.Job, joined bool, err error)
}

// ImageLister reads the image list (GET swr-repository, and the CLI's
// `openhss images` through ListImagesJSON).
type ImageLister interface {
	ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error)
}

// Store is what the API needs of the inventory: the image list and the
// registry connections' CRUD. Syncs write rows through the SyncRequester,
// never through the API.
type Store interface {
	ImageLister
	ListRegistries(ctx context.Context, f inventory.RegistryFilter) ([]inventory.Registry, int64, error)
	GetRegistry(ctx context.Context, projectID string, id int64) (inventory.Registry, error)
	CreateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error)
	UpdateRegistry(ctx context.Context, r inventory.Registry) (inventory.Registry, error)
	DeleteRegistry(ctx context.Context, projectID string, id int64) error
	DeleteRegistries(ctx context.Context, projectID string, enterpriseProjects []string, ids []int64) error
	CountRegistriesByStatus(ctx context.Context, f inventory.RegistryStatsFilter) (map[string]int64, error)
}

// Config is what the API needs. Store, IAM, Box, Sync, Scans, ScanResults
// and Findings are required: New refuses a Config without one, so that a
// server never starts with a route that can only answer 500.
type Config struct {
	Store Store
	IAM   *iam.Service
	Box   *secret.Box // seals registry passwords
	// Sync starts syncs (POST /image/synchronize).
	Sync SyncRequester
	// Scans queues scans (POST /image/batch-scan) and ScanResults reads
	// what they stored (the per-image detail APIs).
	Scans       ScanRequester
	ScanResults ScanReader
	// Findings reads the analyzers' findings (baseline, weak passwords,
	// malware, sensitive information).
	Findings FindingReader
	// Whitelists stores each project's sensitive path whitelist
	// (/image/sensitive/filepath-whitelist); Store when it is one.
	// SensitiveDefault is the server-wide default list
	// (--sensitive-allowlist), shown as default_path and applied with the
	// project's own list to the sensitive findings a project reads.
	Whitelists       scanresult.PathWhitelistStore
	SensitiveDefault []string
	// Tasks stores the sync and scan tasks (/image/tasks and the task
	// routes; the deprecated synchronize and batch-scan create tasks
	// too). Default: Store, when it is a TaskStore; required.
	Tasks TaskStore
	// Policies stores each project's scan policy (/image/scanner-policies;
	// docs/api.md, "Scan policies"). Default: Store, when it is one;
	// required.
	Policies policy.Store
	// Health is the store check of GET /healthz, which answers 503 when
	// it fails or takes longer than HealthTimeout (default
	// DefaultHealthTimeout). Nil: Store, when it is a Pinger.
	Health        Pinger
	HealthTimeout time.Duration

	// Region is the only value the optional "region" header may carry.
	// Default "local-1". Give IAM the same (iam.Options.Region): it names
	// projects after the region in GET /v3/projects and token scopes.
	Region string
	// NetPolicy is the network policy the server's registry connections
	// run under (the one given to registry.NewTransport): a registry_addr
	// that is an IP literal it denies is refused with 400 at add and
	// update. Default netpolicy.Default().
	NetPolicy *netpolicy.Policy

	Logger *slog.Logger // default: discard
	// Registerer receives the HTTP metrics. When it is also a
	// prometheus.Gatherer (a *prometheus.Registry is), GET /metrics serves
	// it; nil means a private registry served at /metrics.
	Registerer prometheus.Registerer
	// Now is the clock of the rate limiter and of registry created_at.
	// Default time.Now.
	Now func() time.Time
	// RateLimit is the number of calls per minute one credential may make
	// (token bucket, burst of the same size). Default 600; negative
	// disables the limit.
	RateLimit int
	// RefusalLimit is the number of refusals (error answers to requests
	// that have not authenticated: no or bad credentials, wrong
	// passwords, unknown routes) one client address may get per minute;
	// past it the address is answered 429 before any work. RefusalBudget
	// is the same for all addresses together: past it refusals are
	// answered 429. RefusalLogLimit is the number of refusals logged per
	// minute; the rest are counted in one "suppressed refusals" line.
	// Defaults DefaultRefusalLimit, DefaultRefusalBudget and
	// DefaultRefusalLogLimit; negative disables each.
	RefusalLimit    int
	RefusalBudget   int
	RefusalLogLimit int
}

// Defaults of the refusal bounds (Config).
const (
	DefaultRefusalLimit    = 120
	DefaultRefusalBudget   = 1200
	DefaultRefusalLogLimit = 60
)

func (c *Config) setDefaults() {
	if c.Region == "" {
		c.Region = "local-1"
	}
	if c.NetPolicy == nil {
		c.NetPolicy = netpolicy.Default()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RateLimit == 0 {
		c.RateLimit = 600
	}
	if c.RefusalLimit == 0 {
		c.RefusalLimit = DefaultRefusalLimit
	}
	if c.RefusalBudget == 0 {
		c.RefusalBudget = DefaultRefusalBudget
	}
	if c.RefusalLogLimit == 0 {
		c.RefusalLogLimit = DefaultRefusalLogLimit
	}
	if c.Health == nil {
		c.Health, _ = c.Store.(Pinger)
	}
	if c.HealthTimeout <= 0 {
		c.HealthTimeout = DefaultHealthTimeout
	}
}

// server holds the handlers' shared state.
type server struct {
	cfg      Config
	log      *slog.Logger
	limiter  *limiter
	refusals *refusalGuard
	metrics  *httpMetrics
	health   *health
	// starter starts tasks (package taskrun).
	starter *taskrun.Starter
}

// check refuses a Config without one of its dependencies.
func (c *Config) check() error {
	for _, d := range []struct {
		name    string
		missing bool
	}{
		{"Store", c.Store == nil}, {"IAM", c.IAM == nil}, {"Box", c.Box == nil}, {"Sync", c.Sync == nil},
		{"Scans", c.Scans == nil}, {"ScanResults", c.ScanResults == nil}, {"Findings", c.Findings == nil},
		{"Tasks", c.Tasks == nil}, {"Whitelists", c.Whitelists == nil}, {"Policies", c.Policies == nil},
	} {
		if d.missing {
			return fmt.Errorf("hssapi: Config.%s is required", d.name)
		}
	}
	return nil
}

// New returns the HTTP handler of the API.
func New(cfg Config) (http.Handler, error) {
	if cfg.Tasks == nil {
		cfg.Tasks, _ = cfg.Store.(TaskStore)
	}
	if cfg.Whitelists == nil {
		cfg.Whitelists, _ = cfg.Store.(scanresult.PathWhitelistStore)
	}
	if cfg.Policies == nil {
		cfg.Policies, _ = cfg.Store.(policy.Store)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &server{
		cfg:      cfg,
		log:      cfg.Logger,
		metrics:  newHTTPMetrics(cfg.Registerer),
		refusals: newRefusalGuard(cfg),
		health:   &health{ping: cfg.Health, timeout: cfg.HealthTimeout},
	}
	if cfg.RateLimit > 0 {
		s.limiter = newLimiter(cfg.RateLimit, time.Minute, cfg.Now)
	}

	// Tasks start as the scheduler's do (package taskrun).
	var err error
	if s.starter, err = taskrun.New(taskrun.Options{Tasks: cfg.Tasks, Sync: cfg.Sync, Scans: cfg.Scans, Now: cfg.Now}); err != nil {
		return nil, err
	}

	r := newRouter(s)

	r.handle("GET", "/v5/{project_id}/image/swr-repository", s.v5(s.listImages))
	r.handle("GET", "/v5/{project_id}/image/registries", s.v5(s.listRegistries))
	r.handle("POST", "/v5/{project_id}/image/registries", s.v5(s.addRegistry))
	r.handle("GET", "/v5/{project_id}/image/registries/images", s.v5(s.listRegistryImages))
	r.handle("GET", "/v5/{project_id}/image/registries/statistics", s.v5(s.listRegistryStatistics))
	r.handle("POST", "/v5/{project_id}/image/registries/batch-delete", s.v5(s.batchDeleteRegistries))
	r.handle("PUT", "/v5/{project_id}/image/registries/{id}", s.v5(s.updateRegistry))
	r.handle("DELETE", "/v5/{project_id}/image/registries/{id}", s.v5(s.deleteRegistry))
	r.handle("POST", "/v5/{project_id}/image/synchronize", s.v5(s.synchronize))
	r.handle("POST", "/v5/{project_id}/image/batch-scan", s.v5(s.batchScan))
	r.handle("GET", "/v5/{project_id}/image/tasks", s.v5(s.listTasks))
	r.handle("POST", "/v5/{project_id}/image/image-sync/tasks", s.v5(s.createSyncTask))
	r.handle("GET", "/v5/{project_id}/image/image-sync/tasks/{task_id}/registries", s.v5(s.listAssociateRegistries))
	r.handle("POST", "/v5/{project_id}/image/image-scan/tasks", s.v5(s.createScanTask))
	r.handle("PUT", "/v5/{project_id}/image/image-scan/tasks/{task_id}/stop", s.v5(s.stopScanTask))
	r.handle("GET", "/v5/{project_id}/image/scanner-policies", s.v5(s.listScanPolicy))
	r.handle("PUT", "/v5/{project_id}/image/scanner-policies", s.v5(s.modifyScanPolicy))
	r.handle("GET", "/v5/{project_id}/image/{image_id}/vulnerabilities", s.v5(s.listImageVulns))
	r.handle("GET", "/v5/{project_id}/image/{image_id}/apps", s.v5(s.listImageApps))
	r.handle("GET", "/v5/{project_id}/image/{image_id}/sbom", s.v5(s.imageSBOM))
	r.handle("GET", "/v5/{project_id}/image/{image_id}/malwares", s.v5(s.listImageMalware))
	r.handle("GET", "/v5/{project_id}/image/{image_id}/sensitive", s.v5(s.listImageSensitive))
	r.handle("GET", "/v5/{project_id}/image/baseline/risk-configs", s.v5(s.listImageRiskConfigs))
	r.handle("GET", "/v5/{project_id}/image/baseline/risk-configs/{check_name}/rules", s.v5(s.listImageRiskConfigRules))
	r.handle("GET", "/v5/{project_id}/image/baseline/weak-password-users", s.v5(s.listImageWeakPwdUsers))
	r.handle("GET", "/v5/{project_id}/image/asset/statistics", s.v5(s.showImageAssetStatistics))
	r.handle("GET", "/v5/{project_id}/image/sensitive/filepath-whitelist", s.v5(s.showFilePathWhitelist))
	r.handle("POST", "/v5/{project_id}/image/sensitive/filepath-whitelist", s.v5(s.changeFilePathWhitelist))
	r.handle("GET", "/v5/{project_id}/image/sensitive/filepath_whitelist", s.v5(s.showFilePathWhitelist))
	r.handle("POST", "/v5/{project_id}/image/sensitive/filepath_whitelist", s.v5(s.changeFilePathWhitelist))

	r.handle("GET", "/v3/projects", s.authed(s.listProjects))
	r.handle("POST", "/v3/auth/tokens", s.public(s.issueToken))
	r.handle("DELETE", "/v3/auth/tokens", s.authed(s.revokeToken))

	r.handle("GET", "/healthz", s.public(s.healthz))
	if g, ok := cfg.Registerer.(prometheus.Gatherer); ok {
		r.handle("GET", "/metrics", s.public(metricsHandler(g)))
	}
	r.finish()

	return s.outer(r.mux), nil
}
