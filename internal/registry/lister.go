// Package registry talks to OCI/Docker registries and keeps the inventory
// in step with them: a Lister reads one registry connection into an
// inventory.Snapshot, and a Syncer applies snapshots to the store for
// every connection of a project, as durable "sync" jobs.
//
// Repository paths map to HSS rows as namespace = first path segment,
// name = the rest ("library/nginx" → "library", "nginx";
// "team/app/api" → "team", "app/api"). A single-segment repository
// ("alpine") has namespace "" and name "alpine".
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
)

// Lister reads registries. One Lister serves every sync: it holds the
// shared HTTP transport and the limits.
type Lister struct {
	transport      http.RoundTripper
	requestTimeout time.Duration
	listTimeout    time.Duration
	concurrency    int
	pageSize       int
	backoff        remote.Backoff
	now            func() time.Time
	log            *slog.Logger
}

// Option configures a Lister.
type Option func(*Lister)

// WithTransport replaces the shared transport (default
// NewTransport(netpolicy.Default())). Give a *Transport: it carries the
// network policy.
func WithTransport(rt http.RoundTripper) Option { return func(l *Lister) { l.transport = rt } }

// WithRequestTimeout bounds each HTTP request, body included (default 30s).
func WithRequestTimeout(d time.Duration) Option { return func(l *Lister) { l.requestTimeout = d } }

// WithListTimeout bounds the whole listing of one connection (default 30m).
func WithListTimeout(d time.Duration) Option { return func(l *Lister) { l.listTimeout = d } }

// WithConcurrency bounds the requests in flight per listing (default 16).
func WithConcurrency(n int) Option { return func(l *Lister) { l.concurrency = max(n, 1) } }

// WithPageSize sets the n asked of catalog and tag list pages (default
// 1000). A registry that refuses n gets asked without it and chooses.
func WithPageSize(n int) Option { return func(l *Lister) { l.pageSize = n } }

// WithRetryBackoff sets how transient failures are retried (default: 3
// tries, 250ms then 750ms apart).
func WithRetryBackoff(b remote.Backoff) Option { return func(l *Lister) { l.backoff = b } }

// WithClock sets the clock for Snapshot.SeenAt.
func WithClock(now func() time.Time) Option { return func(l *Lister) { l.now = now } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(log *slog.Logger) Option { return func(l *Lister) { l.log = log } }

// NewLister returns a Lister.
func NewLister(opts ...Option) *Lister {
	l := &Lister{
		transport:      NewTransport(netpolicy.Default()),
		requestTimeout: 30 * time.Second,
		listTimeout:    30 * time.Minute,
		concurrency:    16,
		pageSize:       1000,
		backoff:        remote.Backoff{Duration: 250 * time.Millisecond, Factor: 3, Jitter: 0.1, Steps: 3},
		now:            time.Now,
		log:            slog.Default(),
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// attachmentTag matches tags that carry supply-chain attachments rather
// than images: cosign's "sha256-<hex>.sig", ".att", ".sbom" (and any other
// suffix) and the OCI referrers fallback tag "sha256-<hex>".
var attachmentTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}(\..+)?$`)

// SplitRepository splits a repository path into an HSS namespace (its
// first segment) and name (the rest). "alpine" gives ("", "alpine").
func SplitRepository(path string) (namespace, name string) {
	ns, rest, ok := strings.Cut(path, "/")
	if !ok {
		return "", path
	}
	return ns, rest
}

// List reads every repository, tag and manifest of one connection (only
// repositories under reg.Namespace when it is set). A connection that
// cannot be read at all gives a *SyncError; a repository that fails alone
// is listed in Snapshot.Failed and the rest is returned.
func (l *Lister) List(ctx context.Context, reg inventory.Registry, password string) (inventory.Snapshot, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, l.listTimeout)
	defer cancel()
	ls, err := l.open(reg, password)
	if err != nil {
		return inventory.Snapshot{}, err
	}
	repos, err := ls.catalog(ctx)
	if err != nil {
		return inventory.Snapshot{}, classify(parent, reg.Addr, "list repositories", err)
	}
	if reg.Namespace != "" {
		repos = slicesFilter(repos, func(r string) bool { return strings.HasPrefix(r, reg.Namespace+"/") })
	}
	snap := inventory.Snapshot{RegistryID: reg.ID, SeenAt: inventory.Millis(l.now())}
	results := make([]repoResult, len(repos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(l.concurrency)
	for i, path := range repos {
		g.Go(func() error {
			results[i] = ls.repository(gctx, path)
			// Only the end of the listing's own time stops the others.
			return ctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return inventory.Snapshot{}, classify(parent, reg.Addr, "list tags", err)
	}

	seen := map[string]bool{}
	var firstErr error
	for i, res := range results {
		if res.err != nil {
			l.log.Warn("registry sync: repository failed", "registry", reg.ID, "addr", reg.Addr, "repository", repos[i], "err", res.err)
			// Failed uses inventory's "namespace/name" form, which for a
			// single-segment repository is "/name".
			snap.Failed = append(snap.Failed, res.repo.Namespace+"/"+res.repo.Name)
			if firstErr == nil {
				firstErr = res.err
			}
			continue
		}
		snap.Repositories = append(snap.Repositories, res.repo)
		for _, m := range res.manifests {
			if !seen[m.Digest] {
				seen[m.Digest] = true
				snap.Manifests = append(snap.Manifests, m)
			}
		}
	}
	// When nothing could be read, the registry is the problem, not its
	// repositories: fail the connection rather than report an empty success.
	if len(repos) > 0 && len(snap.Failed) == len(repos) {
		return inventory.Snapshot{}, classify(parent, reg.Addr, "list tags", firstErr)
	}
	return snap, nil
}

// Ping checks that the registry answers and accepts the credentials, by
// asking for one catalog entry.
func (l *Lister) Ping(ctx context.Context, reg inventory.Registry, password string) error {
	ctx, cancel := context.WithTimeout(ctx, l.requestTimeout*2)
	defer cancel()
	ls, err := l.open(reg, password)
	if err != nil {
		return err
	}
	_, err = remote.CatalogPage(ls.registry, "", 1, append(ls.options, remote.WithContext(ctx))...)
	return classify(ctx, reg.Addr, "ping", err)
}

// listing is the state of one List call.
type listing struct {
	l        *Lister
	reg      inventory.Registry
	registry name.Registry
	options  []remote.Option
	puller   *remote.Puller
	sem      chan struct{}

	mu    sync.Mutex
	cache map[string]*cached // by manifest digest, across all repositories
}

func (l *Lister) open(reg inventory.Registry, password string) (*listing, error) {
	addr, err := ParseAddr(reg.Addr)
	if err != nil {
		return nil, &SyncError{Kind: KindProtocol, Addr: reg.Addr, Op: "parse address", Err: err}
	}
	var nopts []name.Option
	ct := &connTransport{next: l.transport, timeout: l.requestTimeout, registry: addr}
	switch reg.Protocol {
	case "http":
		nopts = append(nopts, name.Insecure)
	case "https", "":
		ct.httpsFor = addr
	default:
		return nil, &SyncError{Kind: KindProtocol, Addr: reg.Addr, Op: "parse address", Err: fmt.Errorf("unknown protocol %q", reg.Protocol)}
	}
	registry, err := name.NewRegistry(addr, nopts...)
	if err != nil {
		return nil, &SyncError{Kind: KindProtocol, Addr: reg.Addr, Op: "parse address", Err: err}
	}
	auth := authn.Anonymous
	if reg.Username != "" || password != "" {
		auth = &authn.Basic{Username: reg.Username, Password: password}
	}
	opts := []remote.Option{
		remote.WithAuth(auth),
		remote.WithTransport(ct),
		remote.WithRetryBackoff(l.backoff),
		remote.WithUserAgent("openhss"),
		remote.WithPageSize(l.pageSize),
		// go-containerregistry lets only 4 blob fetches run at once by default.
		remote.WithJobs(l.concurrency),
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, err
	}
	return &listing{
		l: l, reg: reg, registry: registry, options: opts, puller: p,
		sem:   make(chan struct{}, l.concurrency),
		cache: map[string]*cached{},
	}, nil
}

// acquire holds one of the listing's request slots.
func (s *listing) acquire(ctx context.Context) (release func(), err error) {
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *listing) catalog(ctx context.Context) ([]string, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	repos, err := s.puller.Catalog(ctx, s.registry)
	if hasCode(err, transport.ErrorCode("PAGINATION_NUMBER_INVALID")) {
		// The server's largest page is smaller than ours: let it choose
		// and follow its Link headers.
		p, perr := remote.NewPuller(append(s.options, remote.WithPageSize(0))...)
		if perr != nil {
			return nil, perr
		}
		repos, err = p.Catalog(ctx, s.registry)
	}
	return repos, err
}

func hasCode(err error, code transport.ErrorCode) bool {
	var terr *transport.Error
	if !errors.As(err, &terr) {
		return false
	}
	for _, d := range terr.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

type repoResult struct {
	repo      inventory.RepoSnapshot
	manifests []inventory.Manifest
	err       error
}

func (s *listing) repository(ctx context.Context, path string) repoResult {
	ns, nm := SplitRepository(path)
	out := repoResult{repo: inventory.RepoSnapshot{Namespace: ns, Name: nm}}
	repo := s.registry.Repo(path)
	tags, err := s.tags(ctx, repo)
	if err != nil {
		out.err = err
		return out
	}
	refs := make([]*inventory.TagRef, len(tags))
	found := make([]*resolved, len(tags))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.l.concurrency)
	for i, tag := range tags {
		if attachmentTag.MatchString(tag) {
			continue
		}
		g.Go(func() error {
			// One GET per tag: it gives the digest and, for a digest not
			// seen yet, the manifest itself.
			raw, mediaType, digest, err := s.manifest(gctx, repo.Tag(tag))
			if isNotFound(err) {
				return nil // deleted since the tag list: not a tag any more
			}
			if err != nil {
				return fmt.Errorf("tag %s: %w", tag, err)
			}
			r, err := s.resolve(gctx, repo, digest, &fetched{raw, mediaType})
			if err != nil {
				return fmt.Errorf("tag %s: %w", tag, err)
			}
			if r.attachment {
				return nil
			}
			refs[i] = &inventory.TagRef{Tag: tag, Digest: digest, ManifestDigest: r.row}
			found[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		out.err = err
		return out
	}
	for i, ref := range refs {
		if ref != nil {
			out.repo.Tags = append(out.repo.Tags, *ref)
			out.manifests = append(out.manifests, found[i].manifests...)
		}
	}
	return out
}

func (s *listing) tags(ctx context.Context, repo name.Repository) ([]string, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	tags, err := s.puller.List(ctx, repo)
	if hasCode(err, transport.ErrorCode("NAME_UNKNOWN")) {
		// Catalogs keep repositories whose every manifest was deleted.
		return nil, nil
	}
	return tags, err
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

func slicesFilter(in []string, keep func(string) bool) []string {
	out := in[:0:0]
	for _, s := range in {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}
