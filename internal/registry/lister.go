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
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
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
	retry          RetryPolicy
	maxRepos       int
	maxTags        int
	maxTotalTags   int
	maxBody        int64
	now            func() time.Time
	log            *slog.Logger
}

// ListerOptions configure a Lister. Every field is optional: the zero
// value lists through NewTransport(netpolicy.Default()) with the default
// limits. A negative limit is an error.
type ListerOptions struct {
	// Transport is the shared transport (default
	// NewTransport(netpolicy.Default())). Give a *Transport: it carries
	// the network policy.
	Transport http.RoundTripper
	// MaxRepositories caps the repositories one connection lists (default
	// DefaultMaxRepositories). A registry with more fails the sync with
	// ErrLimit and changes nothing.
	MaxRepositories int
	// MaxTags caps the tags of one repository (default DefaultMaxTags).
	MaxTags int
	// MaxTotalTags caps the tags of all repositories of one connection
	// (default DefaultMaxTotalTags).
	MaxTotalTags int
	// MaxResponseBytes caps the body of each catalog page, tag list page
	// and manifest read (default DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// RequestTimeout bounds each HTTP request, body included (default 30s).
	RequestTimeout time.Duration
	// ListTimeout bounds the whole listing of one connection (default 30m).
	ListTimeout time.Duration
	// Concurrency bounds the requests in flight per listing (default 16).
	Concurrency int
	// PageSize is the n asked of catalog and tag list pages (default
	// 1000). A registry that refuses n gets asked without it and chooses.
	PageSize int
	// Retry says how requests that failed for a transient reason
	// (connection refused, timeout, 429, 5xx) are retried; the zero
	// RetryPolicy is the default (see RetryPolicy).
	Retry RetryPolicy
	// Now is the clock of Snapshot.SeenAt (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger // default slog.Default()
}

// NewLister returns a Lister.
func NewLister(o ListerOptions) (*Lister, error) {
	for _, v := range []struct {
		name string
		n    int64
	}{
		{"MaxRepositories", int64(o.MaxRepositories)}, {"MaxTags", int64(o.MaxTags)},
		{"MaxTotalTags", int64(o.MaxTotalTags)}, {"MaxResponseBytes", o.MaxResponseBytes},
		{"RequestTimeout", int64(o.RequestTimeout)}, {"ListTimeout", int64(o.ListTimeout)},
		{"Concurrency", int64(o.Concurrency)}, {"PageSize", int64(o.PageSize)},
	} {
		if v.n < 0 {
			return nil, fmt.Errorf("registry: ListerOptions.%s %d is negative", v.name, v.n)
		}
	}
	l := &Lister{
		transport:      o.Transport,
		requestTimeout: cmp.Or(o.RequestTimeout, 30*time.Second),
		listTimeout:    cmp.Or(o.ListTimeout, 30*time.Minute),
		concurrency:    cmp.Or(o.Concurrency, 16),
		pageSize:       cmp.Or(o.PageSize, 1000),
		retry:          o.Retry,
		maxRepos:       cmp.Or(o.MaxRepositories, DefaultMaxRepositories),
		maxTags:        cmp.Or(o.MaxTags, DefaultMaxTags),
		maxTotalTags:   cmp.Or(o.MaxTotalTags, DefaultMaxTotalTags),
		maxBody:        cmp.Or(o.MaxResponseBytes, DefaultMaxResponseBytes),
		now:            o.Now,
		log:            o.Logger,
	}
	if l.transport == nil {
		l.transport = NewTransport(netpolicy.Default())
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.Default()
	}
	return l, nil
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
//
// Repositories are listed as the catalog pages arrive, so the catalog is
// never held beyond the repositories kept. A registry over one of the
// Lister's caps fails the whole listing with ErrLimit: a snapshot cut at
// the cap would make the sync delete every row beyond it.
func (l *Lister) List(ctx context.Context, reg inventory.Registry, password string) (inventory.Snapshot, error) {
	return l.ListFrom(ctx, reg, password, nil)
}

// ListFrom is List for a connection whose rows are prev (the store's
// StoredTags; nil lists from scratch). A tag prev has is asked for with a
// HEAD of its manifest: when the registry still answers with the stored
// digest, the tag keeps its stored row and nothing more is read. A tag
// whose digest is one prev already has (a new tag on a stored image, a
// tag moved back) is not described again either: its manifest and config
// are in the store. Such tags add no Snapshot.Manifests. So a re-sync of an
// unchanged registry costs the catalog, the tag lists and one HEAD per tag
// (docs/benchmarks.md, Registry sync); manifests are content-addressed, so
// what the store has for a digest stays true.
func (l *Lister) ListFrom(ctx context.Context, reg inventory.Registry, password string, prev inventory.StoredTags) (inventory.Snapshot, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, l.listTimeout)
	defer cancel()
	ls, err := l.open(reg, password)
	if err != nil {
		return inventory.Snapshot{}, err
	}
	ls.prev = prev
	ls.known = map[string]string{}
	for _, tags := range prev {
		for _, t := range tags {
			ls.known[t.Digest] = cmp.Or(t.ManifestDigest, t.Digest)
		}
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	g, gctx := errgroup.WithContext(wctx)
	g.SetLimit(l.concurrency)
	var (
		paths   []string
		results []*repoResult
		kept    = map[string]bool{}
	)
	catErr := ls.catalog(gctx, func(page []string) error {
		for _, path := range page {
			if err := gctx.Err(); err != nil {
				return err // a repository failed the listing: stop here
			}
			if reg.Namespace != "" && !strings.HasPrefix(path, reg.Namespace+"/") || kept[path] {
				continue
			}
			if len(paths) == l.maxRepos {
				if reg.Namespace != "" {
					return limitErrorf("the registry lists more than %d repositories under namespace %s", l.maxRepos, reg.Namespace)
				}
				return limitErrorf("the registry lists more than %d repositories", l.maxRepos)
			}
			kept[path] = true
			res := &repoResult{}
			paths = append(paths, path)
			results = append(results, res)
			g.Go(func() error {
				*res = ls.repository(gctx, path)
				var le *LimitError
				if errors.As(res.err, &le) {
					return le
				}
				// Only the end of the listing's own time stops the others.
				return ctx.Err()
			})
		}
		return nil
	})
	if catErr != nil {
		stop() // the listing failed: the repositories under way are moot
	}
	werr := g.Wait()
	var le *LimitError
	switch {
	case errors.As(werr, &le) || errors.As(catErr, &le):
		if le.Repository != "" {
			l.log.Warn("registry sync: repository over a limit", "registry", reg.ID, "addr", reg.Addr, "repository", le.Repository, "err", le)
		}
		return inventory.Snapshot{}, &SyncError{Kind: KindLimit, Addr: reg.Addr, Op: "list repositories", Err: le}
	case catErr != nil:
		return inventory.Snapshot{}, classify(parent, reg.Addr, "list repositories", catErr)
	case werr != nil:
		return inventory.Snapshot{}, classify(parent, reg.Addr, "list tags", werr)
	}

	snap := inventory.Snapshot{RegistryID: reg.ID, SeenAt: inventory.Millis(l.now())}
	seen := map[string]bool{}
	var firstErr error
	for i, res := range results {
		if res.err != nil {
			l.log.Warn("registry sync: repository failed", "registry", reg.ID, "addr", reg.Addr, "repository", paths[i], "err", res.err)
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
	if len(results) > 0 && len(snap.Failed) == len(results) {
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

	tagCount atomic.Int64 // tags listed so far, for maxTotalTags

	// prev are the connection's stored rows and known their digests (tag
	// digest → row manifest digest); both only read once listing starts.
	prev  inventory.StoredTags
	known map[string]string

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
	// Retries below go-containerregistry, which would retry neither a
	// refused connection nor after a Retry-After; each try gets its own
	// request deadline and body limit.
	rt := NewRetryTransport(&limitTransport{next: ct, max: l.maxBody}, l.retry)
	opts := append([]remote.Option{
		remote.WithAuth(auth),
		remote.WithTransport(rt),
		remote.WithUserAgent("openhss"),
		remote.WithPageSize(l.pageSize),
		// go-containerregistry lets only 4 blob fetches run at once by default.
		remote.WithJobs(l.concurrency),
	}, RemoteNoRetry()...)
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

// catalog calls each with the catalog's pages, in order, until the last
// page, an error of each, or a cap.
func (s *listing) catalog(ctx context.Context, each func(page []string) error) error {
	c, err := s.catalogger(ctx)
	if err != nil {
		return err
	}
	limit := s.l.maxRepos
	if s.reg.Namespace != "" {
		// The catalog API lists the whole registry: bound the search too.
		limit = s.l.maxRepos * catalogScanFactor
	}
	read := 0
	for c.HasNext() {
		release, err := s.acquire(ctx)
		if err != nil {
			return err
		}
		page, err := c.Next(ctx)
		release()
		if err != nil {
			return err
		}
		if len(page.Repos) == 0 {
			return nil // an empty page ends the catalog, whatever its Link says
		}
		read += len(page.Repos)
		if read > limit {
			if s.reg.Namespace != "" {
				return limitErrorf("the registry's catalog has more than %d entries to search for namespace %s", limit, s.reg.Namespace)
			}
			return limitErrorf("the registry lists more than %d repositories", s.l.maxRepos)
		}
		if err := each(page.Repos); err != nil {
			return err
		}
	}
	return nil
}

// catalogger reads the catalog's first page.
func (s *listing) catalogger(ctx context.Context) (*remote.Catalogger, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	c, err := s.puller.Catalogger(ctx, s.registry)
	if hasCode(err, transport.ErrorCode("PAGINATION_NUMBER_INVALID")) {
		// The server's largest page is smaller than ours: let it choose
		// and follow its Link headers.
		p, perr := remote.NewPuller(append(s.options, remote.WithPageSize(0))...)
		if perr != nil {
			return nil, perr
		}
		c, err = p.Catalogger(ctx, s.registry)
	}
	return c, err
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
	stored := s.prev[inventory.Repo{Namespace: ns, Name: nm}]
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.l.concurrency)
	for i, tag := range tags {
		if attachmentTag.MatchString(tag) {
			continue
		}
		g.Go(func() error {
			var f *fetched
			digest, known, err := s.head(gctx, repo.Tag(tag), stored, tag)
			if err == nil && digest == "" {
				// One GET per tag not stored: it gives the digest and, for
				// a digest not seen yet, the manifest itself.
				var raw []byte
				var mediaType types.MediaType
				raw, mediaType, digest, err = s.manifest(gctx, repo.Tag(tag))
				f = &fetched{raw, mediaType}
				if err == nil {
					_, known = s.known[digest]
				}
			}
			if isNotFound(err) {
				return nil // deleted since the tag list: not a tag any more
			}
			if err != nil {
				return fmt.Errorf("tag %s: %w", tag, err)
			}
			if known {
				refs[i] = &inventory.TagRef{Tag: tag, Digest: digest, ManifestDigest: s.known[digest]}
				found[i] = &resolved{row: s.known[digest]}
				return nil
			}
			r, err := s.resolve(gctx, repo, digest, f)
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

// head asks for the digest of a tag stored has, with a HEAD: digest is the
// registry's answer and known says the store has it (prev). digest is ""
// when the tag is not stored, or when the HEAD failed for another reason
// than a missing tag: some registries answer HEAD without a digest, and
// the GET that follows then says what is wrong.
func (s *listing) head(ctx context.Context, ref name.Tag, stored map[string]inventory.StoredTag, tag string) (digest string, known bool, err error) {
	if _, ok := stored[tag]; !ok {
		return "", false, nil
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return "", false, err
	}
	defer release()
	desc, err := s.puller.Head(ctx, ref)
	switch {
	case isNotFound(err):
		return "", false, err
	case err != nil:
		if ctx.Err() != nil {
			return "", false, ctx.Err()
		}
		return "", false, nil
	}
	digest = desc.Digest.String()
	_, known = s.known[digest]
	return digest, known, nil
}

// tags lists a repository's tags page by page, within the caps.
func (s *listing) tags(ctx context.Context, repo name.Repository) ([]string, error) {
	release, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	lister, err := s.puller.Lister(ctx, repo)
	if hasCode(err, transport.ErrorCode("NAME_UNKNOWN")) {
		// Catalogs keep repositories whose every manifest was deleted.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var tags []string
	for lister.HasNext() {
		page, err := lister.Next(ctx)
		if err != nil {
			return nil, err
		}
		if len(page.Tags) == 0 {
			break // an empty page ends the list, whatever its Link says
		}
		if len(tags)+len(page.Tags) > s.l.maxTags {
			// The name stays out of the message (and so of fail_reason):
			// it is text of the registry's. List logs it.
			return nil, &LimitError{msg: fmt.Sprintf("a repository has more than %d tags", s.l.maxTags), Repository: repo.RepositoryStr()}
		}
		tags = append(tags, page.Tags...)
	}
	if total := s.tagCount.Add(int64(len(tags))); total > int64(s.l.maxTotalTags) {
		return nil, limitErrorf("the registry has more than %d tags in all", s.l.maxTotalTags)
	}
	return tags, nil
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
