// Package scanjob turns the scanner into the HSS feature: it queues one
// durable "scan" job per project and manifest digest, pulls the image from
// wherever the project's rows say it lives (its registry connections or
// local files), runs the scanner, matches the inventory against the
// vulnerability database, and records the outcome. A success is shared by
// digest (same bytes, same findings) and shows on every project's rows of
// it; a waiting state or a failure is the requesting project's own. After
// the vulnerability data changes it re-matches every stored inventory
// without pulling anything.
package scanjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/vulndb"
)

// Job kinds.
const (
	JobKind     = "scan"    // key: inventory.ScanJobKey(project, manifest digest)
	RematchKind = "rematch" // key: "all"
)

// Defaults of Options.
const (
	DefaultMaxImageSize = 10 << 30 // compressed bytes
	DefaultTimeout      = 30 * time.Minute
	DefaultRematchBatch = 100
)

// metaRematched is the scan_meta key holding the finish time (ms) of the
// newest vulnerability import the stored findings were matched against.
const metaRematched = "rematched_import_ms"

// The service's parts each need a few of the store's methods; each part
// declares its role here, and Service holds the store once per role, so
// that what a part can touch is what its role says (the way io.Reader and
// io.Writer split a file). store.Store satisfies every role.

// Queue adds jobs (jobs.Store's Enqueue): scan requests, the re-match and
// the scan-all jobs.
type Queue interface {
	Enqueue(ctx context.Context, j jobs.Job) (job jobs.Job, joined bool, err error)
}

// ScanStore is what queueing and running one scan needs: the rows' waiting
// and scanning states, the image's sources, and the outcome's record.
type ScanStore interface {
	Queue
	// QueueScans enqueues scan jobs and marks the project's rows of
	// their digests waiting in one transaction, so that no job runs
	// before its rows say waiting and no sweep sees them waiting without
	// it.
	QueueScans(ctx context.Context, projectID string, js []jobs.Job, digests []string) ([]jobs.Job, []bool, error)
	SetScanStatus(ctx context.Context, projectID, digest string, status inventory.ScanStatus) error
	RestoreScanStatus(ctx context.Context, projectID, digest string) error
	SetScannable(ctx context.Context, projectID, digest string, scannable bool) error
	AdoptSharedScope(ctx context.Context, projectID, digest string, since int64, scope scanresult.Scope) (bool, error)
	GetRegistry(ctx context.Context, projectID string, id int64) (inventory.Registry, error)
	LocalSource(ctx context.Context, imageID int64) (path, ref string, err error)
	// SaveScopedScan, ClearScan and AdoptSharedScope add the result they
	// record to the project's scan history (the web console's Scan
	// history tab) in the same transaction.
	SaveScopedScan(ctx context.Context, projectID string, scope scanresult.Scope, sbom scanresult.SBOM, findings []scanresult.Finding, a scanresult.Analysis, r inventory.ScanResult) error
	ClearScan(ctx context.Context, projectID, digest string, r inventory.ScanResult) error
}

// RematchStore is what re-matching the stored inventories against the
// vulnerability database needs.
type RematchStore interface {
	Queue
	SBOMDigests(ctx context.Context) ([]string, error)
	GetSBOM(ctx context.Context, digest string) (scanresult.SBOM, error)
	ReplaceFindings(ctx context.Context, updates []scanresult.FindingsUpdate) error
	VulnStatus(ctx context.Context) (vulndb.Status, error)
	ScanMeta(ctx context.Context, key string) (int64, error)
	SetScanMeta(ctx context.Context, key string, value int64) error
}

// RecheckStore is what re-checking the stored file hashes against the
// malware signatures needs.
type RecheckStore interface {
	HashMatches(ctx context.Context) ([]scanresult.HashMatch, error)
	GetAnalysis(ctx context.Context, digest string) (scanresult.Analysis, error)
	ReplaceMalware(ctx context.Context, digest string, malware []scanresult.Malware, num int32) error
}

// SweepStore is what the maintenance sweep of orphaned scan states needs.
type SweepStore interface {
	OrphanedScans(ctx context.Context, kind string) ([]inventory.ScanRequest, error)
	ClearScan(ctx context.Context, projectID, digest string, r inventory.ScanResult) error
}

// TaskStore is what keeping scan tasks up to date needs: the parts the
// tasks waiting for a scan ask for, marking a scan's end on their items,
// and adding the items a scan-all job lists (tasks.Store's methods).
type TaskStore interface {
	WaitingScanScope(ctx context.Context, projectID, digest string) (int32, bool, error)
	FinishTaskItems(ctx context.Context, f tasks.Finish) (int64, error)
	AddTaskItems(ctx context.Context, projectID, taskID string, items []tasks.Item, last bool, at int64) error
	CancelTaskScans(ctx context.Context, projectID, kind string, digests []string, at int64) ([]string, error)
	// GetTask reads a task's rate_limit (see RequestTask).
	GetTask(ctx context.Context, projectID, id string) (tasks.Task, error)
}

// Store is every role: what New takes.
type Store interface {
	ScanStore
	RematchStore
	RecheckStore
	SweepStore
}

// Scanner finds the software in an image and runs the analyzers of the
// parts a scan's scope selects (*scanner.Scanner).
type Scanner interface {
	ScanScope(ctx context.Context, img v1.Image, scope scanresult.Scope) (*scanner.Report, error)
}

// Matcher finds the vulnerabilities of packages (*vulndb.DB).
type Matcher interface {
	Match(ctx context.Context, pkgs []scanresult.Package) ([]scanresult.Finding, error)
}

// Options configure a Service. Store, Scanner, Matcher and Box are
// required.
type Options struct {
	Store   Store
	Scanner Scanner
	Matcher Matcher
	// Box opens the sealed passwords of registry sources.
	Box *secret.Box
	// Transport carries registry requests: a *registry.Transport, which
	// carries the network policy (default
	// registry.NewTransport(netpolicy.Default()): loopback, link-local and
	// metadata addresses denied).
	Transport http.RoundTripper
	// Retry says how registry requests that failed for a transient reason
	// (refused connection, timeout, 429, 5xx) are retried before the scan
	// is failed; the zero value is registry's default policy.
	Retry registry.RetryPolicy
	// MaxImageSize bounds an image's compressed size (config + layers, from
	// its manifest); a larger one is image_oversized without a layer pulled.
	MaxImageSize int64
	// Timeout bounds one image's pull and scan.
	Timeout time.Duration
	// Wake, when set, is called after a job is queued (the local runner's
	// Wake), so that idle workers start at once.
	Wake func()
	// RematchBatch is how many inventories a re-match writes per
	// transaction (default DefaultRematchBatch).
	RematchBatch int
	// Tasks, when set, is told about every scan that ends, so that the
	// scan tasks waiting for it progress. Default: Store, when it is a
	// TaskStore (the binary's store is).
	Tasks TaskStore
	Log   *slog.Logger
	Now   func() time.Time
}

// Service queues, runs and re-matches scans.
type Service struct {
	// The store, once per role (see Store).
	scans   ScanStore
	rematch RematchStore
	recheck RecheckStore
	sweep   SweepStore
	scanner Scanner
	matcher Matcher
	o       Options
	pulls   digestLocks
}

// New returns a Service.
func New(o Options) (*Service, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("scanjob: Options.Store is required")
	case o.Scanner == nil:
		return nil, errors.New("scanjob: Options.Scanner is required")
	case o.Matcher == nil:
		return nil, errors.New("scanjob: Options.Matcher is required")
	case o.Box == nil:
		return nil, errors.New("scanjob: Options.Box is required")
	case o.MaxImageSize < 0 || o.Timeout < 0 || o.RematchBatch < 0:
		return nil, fmt.Errorf("scanjob: negative option (max image size %d, timeout %s, re-match batch %d)",
			o.MaxImageSize, o.Timeout, o.RematchBatch)
	}
	if o.Transport == nil {
		o.Transport = registry.NewTransport(netpolicy.Default())
	}
	if o.MaxImageSize <= 0 {
		o.MaxImageSize = DefaultMaxImageSize
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RematchBatch <= 0 {
		o.RematchBatch = DefaultRematchBatch
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tasks == nil {
		o.Tasks, _ = o.Store.(TaskStore)
	}
	return &Service{scans: o.Store, rematch: o.Store, recheck: o.Store, sweep: o.Store,
		scanner: o.Scanner, matcher: o.Matcher, o: o}, nil
}

// Source is one place an image can be read from.
type Source struct {
	ProjectID  string `json:"project_id"`
	RegistryID int64  `json:"registry_id,omitempty"`
	Repository string `json:"repository,omitempty"` // "namespace/name" in the registry
	LocalPath  string `json:"local_path,omitempty"` // OCI layout or docker archive
	LocalRef   string `json:"local_ref,omitempty"`  // which image of the file
}

// payload is a scan job's JSON payload.
type payload struct {
	Digest  string   `json:"digest"`
	Sources []Source `json:"sources"`
}

// Ticket is what Request did for one manifest digest.
type Ticket struct {
	Digest string
	Job    jobs.Job
	Joined bool // an equal scan was already queued or running
}

// Request queues one scan per distinct manifest digest of images for
// projectID (joining the project's scan of that digest already queued or
// running) and shows waiting_for_scan on the project's rows of the digest,
// and no other project's. Each job carries every source of the project the
// images name, tried in order until one can be read: another project's
// request for the same digest is a job of its own, tried through that
// project's connections, so neither can fail the other.
func (s *Service) Request(ctx context.Context, projectID string, images []inventory.Image) ([]Ticket, error) {
	return s.request(ctx, projectID, images, nil)
}

// request is Request, each new job not claimed before what sp says (nil:
// at once).
func (s *Service) request(ctx context.Context, projectID string, images []inventory.Image, sp *spacing) ([]Ticket, error) {
	var order []string
	sources := map[string][]Source{}
	for _, img := range images {
		d := img.ManifestDigest
		if d == "" {
			d = img.Digest
		}
		if d == "" {
			continue
		}
		src, err := s.sourceOf(ctx, projectID, img)
		if err != nil {
			return nil, err
		}
		if _, ok := sources[d]; !ok {
			order = append(order, d)
		}
		if !containsSource(sources[d], src) {
			sources[d] = append(sources[d], src)
		}
	}
	js := make([]jobs.Job, 0, len(order))
	for _, d := range order {
		p, err := json.Marshal(payload{Digest: d, Sources: sources[d]})
		if err != nil {
			return nil, err
		}
		nb, err := sp.notBefore(ctx, sources[d][0])
		if err != nil {
			return nil, err
		}
		now := inventory.Millis(s.o.Now())
		js = append(js, jobs.Job{
			Kind: JobKind, Key: inventory.ScanJobKey(projectID, d), ProjectID: projectID, Payload: p,
			State: jobs.Queued, CreatedAt: now, UpdatedAt: now, NotBefore: nb,
		})
	}
	if len(js) == 0 {
		return []Ticket{}, nil
	}
	queued, joined, err := s.scans.QueueScans(ctx, projectID, js, order)
	if err != nil {
		return nil, fmt.Errorf("scanjob: queue %d scans: %w", len(js), err)
	}
	tickets := make([]Ticket, len(order))
	for i, d := range order {
		tickets[i] = Ticket{Digest: d, Job: queued[i], Joined: joined[i]}
	}
	if s.o.Wake != nil {
		s.o.Wake()
	}
	return tickets, nil
}

func (s *Service) sourceOf(ctx context.Context, projectID string, img inventory.Image) (Source, error) {
	if img.Type == inventory.LocalImage || img.RegistryID == 0 {
		path, ref, err := s.scans.LocalSource(ctx, img.ID)
		if errors.Is(err, inventory.ErrNotFound) {
			// Imported before sources were recorded: the scan will say
			// download_failed rather than the request failing.
			return Source{ProjectID: projectID}, nil
		}
		if err != nil {
			return Source{}, fmt.Errorf("scanjob: source of image %d: %w", img.ID, err)
		}
		return Source{ProjectID: projectID, LocalPath: path, LocalRef: ref}, nil
	}
	repo := img.Name
	if img.Namespace != "" {
		repo = img.Namespace + "/" + img.Name
	}
	return Source{ProjectID: projectID, RegistryID: img.RegistryID, Repository: repo}, nil
}

func containsSource(list []Source, s Source) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Handle runs one scan job. Every way a scan can end is recorded on the
// manifest; the error is only for what could not be recorded, or for a
// job interrupted from outside (runner stopping, lease lost), which is
// then taken again. An error of the first kind ends the job for good, so
// the items of the tasks waiting for it are failed first (best effort:
// Sweep fails them too once it finds the rows without a job).
//
// The parts scanned are decided here, not when the job was queued: tasks
// asking for one digest share its job, which runs the union of their
// scan_scope (every part when no task waits: a scan not made by a task).
// A task that joins while the scan runs and wants a part it did not run
// stays pending, and the job scans again for the missing parts only.
func (s *Service) Handle(ctx context.Context, j jobs.Job) (err error) {
	if j.Kind != JobKind {
		return fmt.Errorf("scanjob: job %d has kind %q, not %q", j.ID, j.Kind, JobKind)
	}
	var p payload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return fmt.Errorf("scanjob: job %d payload: %w", j.ID, err)
	}
	if p.Digest == "" {
		p.Digest = j.Key
	}
	project := j.ProjectID
	if project == "" && len(p.Sources) > 0 {
		project = p.Sources[0].ProjectID
	}
	// Only the requesting project's sources are tried: a job never reads
	// through another project's connection.
	p.Sources = slices.DeleteFunc(p.Sources, func(src Source) bool { return src.ProjectID != project })
	log := s.o.Log.With("job", j.ID, "project", project, "digest", p.Digest)
	defer func() {
		if err == nil || ctx.Err() != nil {
			return
		}
		r := inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: scanner.DescDatabaseError, ScanTime: inventory.Millis(s.o.Now())}
		if ferr := s.finishTasks(context.WithoutCancel(ctx), project, p.Digest, r, 0); ferr != nil {
			log.Error("fail the tasks of a failed scan job", "err", ferr)
		}
	}()

	// One pull per digest at a time in this process: a second project's
	// job for the same digest waits here, then takes the first one's
	// success instead of pulling the same bytes again.
	unlock, err := s.pulls.lock(ctx, p.Digest)
	if err != nil {
		return err
	}
	defer unlock()
	var (
		done scanresult.Scope
		last inventory.ScanResult
	)
	// Each round runs parts no earlier round ran, so there are at most as
	// many rounds as parts, plus one.
	for round := 0; ; round++ {
		want, waiting, err := s.waitingScope(ctx, project, p.Digest)
		if err != nil {
			return err
		}
		if !waiting {
			if round > 0 {
				return nil
			}
			want = scanresult.ScopeAll
		}
		need := want.Parts() &^ done.Parts()
		if round > 0 && need == 0 {
			// Items added since the last round's end, all covered by it.
			return s.finishTasks(context.WithoutCancel(ctx), project, p.Digest, last, done)
		}
		if round == 0 {
			need = want
		}
		rlog := log.With("scan_scope", fmt.Sprintf("%#x", int32(need)))
		r, ok, err := s.scanRound(ctx, j, project, p, need, rlog)
		if err != nil || !ok {
			return err
		}
		done |= need
		last = r
	}
}

// waitingScope is the union of the scan_scope of the project's tasks
// waiting for digest, and whether any does.
func (s *Service) waitingScope(ctx context.Context, project, digest string) (scanresult.Scope, bool, error) {
	if s.o.Tasks == nil {
		return scanresult.ScopeAll, false, nil
	}
	scope, waiting, err := s.o.Tasks.WaitingScanScope(ctx, project, digest)
	if err != nil {
		return 0, false, fmt.Errorf("scanjob: scan scope of %s: %w", digest, err)
	}
	return scanresult.Scope(scope), waiting, nil
}

// scanRound scans the parts scope selects (or adopts another project's
// fresh result of them), records the outcome, and marks it on the items
// of the tasks it covers. ok is false when the scan failed: every waiting
// item is then marked failed, and the job is over.
func (s *Service) scanRound(ctx context.Context, j jobs.Job, project string, p payload, scope scanresult.Scope, log *slog.Logger) (inventory.ScanResult, bool, error) {
	adopted, err := s.scans.AdoptSharedScope(ctx, project, p.Digest, j.CreatedAt, scope)
	if err != nil {
		return inventory.ScanResult{}, false, fmt.Errorf("scanjob: shared result of %s: %w", p.Digest, err)
	}
	if adopted {
		log.Info("scan shared", "reason", "the digest was scanned successfully since the request")
		r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: inventory.Millis(s.o.Now())}
		return r, true, s.finishTasks(context.WithoutCancel(ctx), project, p.Digest, r, scope)
	}
	if err := s.scans.SetScanStatus(ctx, project, p.Digest, inventory.Scanning); err != nil {
		return inventory.ScanResult{}, false, fmt.Errorf("scanjob: mark %s scanning: %w", p.Digest, err)
	}
	start := s.o.Now()
	out := s.scan(ctx, p, scope)
	if ctx.Err() != nil {
		// Not a timeout of ours: the worker is going away. Leave the job to
		// its lease; whoever takes it next scans again.
		return inventory.ScanResult{}, false, ctx.Err()
	}
	recorded, err := s.record(context.WithoutCancel(ctx), project, p.Digest, scope, out)
	if err != nil {
		return inventory.ScanResult{}, false, err
	}
	covered := scope
	if recorded.Status != inventory.ScanSuccess {
		covered = scanresult.ScopeAll // a failure ends every waiting item
	}
	if err := s.finishTasks(context.WithoutCancel(ctx), project, p.Digest, recorded, covered); err != nil {
		return inventory.ScanResult{}, false, err
	}
	if out.failure != nil {
		log.Warn("scan failed", "status", out.failure.Status, "desc", out.failure.Desc, "err", out.failure.Err, "duration", s.o.Now().Sub(start))
	} else {
		log.Info("scan finished", "packages", len(out.sbom.Packages), "vul_num", scanresult.DistinctVulns(out.findings),
			"unsafe_setting_num", out.analysis.FailedRules(), "malicious_file_num", len(out.analysis.Malware),
			"secrets", len(out.analysis.Secrets),
			"duration", s.o.Now().Sub(start))
	}
	return recorded, recorded.Status == inventory.ScanSuccess, nil
}

// outcome is what one scan produced: an inventory and its findings, or a
// failure.
type outcome struct {
	sbom     scanresult.SBOM
	findings []scanresult.Finding
	analysis scanresult.Analysis
	failure  *scanner.Failure
}

func (s *Service) scan(ctx context.Context, p payload, scope scanresult.Scope) outcome {
	tctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	defer cancel()
	timedOut := func(err error) *scanner.Failure {
		if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return &scanner.Failure{Status: inventory.DownloadFailed, Desc: scanner.DescResponseTimedOut, Err: err}
		}
		return nil
	}
	img, err := s.open(tctx, p)
	if err != nil {
		if f := timedOut(err); f != nil {
			return outcome{failure: f}
		}
		return outcome{failure: openFailure(err)}
	}
	rep, err := s.scanner.ScanScope(tctx, img, scope)
	if err != nil {
		if f := timedOut(err); f != nil {
			return outcome{failure: f}
		}
		var f *scanner.Failure
		if errors.As(err, &f) {
			return outcome{failure: f}
		}
		return outcome{failure: transferFailure(err, scanner.AsFailure(err))}
	}
	sb := rep.SBOM
	sb.Digest, sb.ScannedAt = p.Digest, inventory.Millis(s.o.Now())
	if !scope.Has(scanresult.ScopeVulnerabilities) {
		return outcome{sbom: sb, analysis: rep.Analysis}
	}
	findings, err := s.matcher.Match(tctx, sb.Packages)
	if err != nil {
		if f := timedOut(err); f != nil {
			return outcome{failure: f}
		}
		return outcome{failure: &scanner.Failure{Status: inventory.ScanFailed, Desc: scanner.DescFailedToScanVuln, Err: err}}
	}
	return outcome{sbom: sb, findings: findings, analysis: rep.Analysis}
}

// record stores an outcome of a scan of scope: a success for every row of
// the digest (the parts scope leaves out keep their stored results and
// counts), a failure on the project's rows only. A store failure on the
// way is itself recorded (failed + database_error) when the store still
// answers. It returns the result it recorded.
func (s *Service) record(ctx context.Context, project, digest string, scope scanresult.Scope, out outcome) (inventory.ScanResult, error) {
	now := inventory.Millis(s.o.Now())
	if out.failure != nil {
		f := out.failure
		if f.Status == inventory.ImageOversized {
			if err := s.scans.SetScannable(ctx, project, digest, false); err != nil {
				return inventory.ScanResult{}, fmt.Errorf("scanjob: mark %s not scannable: %w", digest, err)
			}
		}
		r := inventory.ScanResult{Status: f.Status, FailedDesc: f.Desc, ScanTime: now}
		if err := s.scans.ClearScan(ctx, project, digest, r); err != nil {
			return inventory.ScanResult{}, fmt.Errorf("scanjob: record failed scan of %s: %w", digest, err)
		}
		return r, nil
	}
	r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: now, VulNum: scanresult.DistinctVulns(out.findings),
		UnsafeSettingNum: out.analysis.FailedRules(), MaliciousFileNum: int32(len(out.analysis.Malware))}
	if err := s.scans.SaveScopedScan(ctx, project, scope, out.sbom, out.findings, out.analysis, r); err != nil {
		s.o.Log.Error("save scan", "digest", digest, "err", err)
		fail := inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: scanner.DescDatabaseError, ScanTime: now}
		if err2 := s.scans.ClearScan(ctx, project, digest, fail); err2 != nil {
			return inventory.ScanResult{}, fmt.Errorf("scanjob: save scan of %s: %w", digest, errors.Join(err, err2))
		}
		return fail, nil
	}
	return r, nil
}

// Cancel cancels the scans of digests in projectID that no running scan
// task of the project waits for (its task was just stopped): queued ones at
// once; running ones are failed in the queue, so their worker loses the
// lease at its next heartbeat (a third of the lease) and stops there
// without recording anything. The project's rows of each digest cancelled
// show the status they had before the scan was asked for (unscan when they
// had none), their counts kept. It returns the digests cancelled.
func (s *Service) Cancel(ctx context.Context, projectID string, digests []string) ([]string, error) {
	if s.o.Tasks == nil || len(digests) == 0 {
		return nil, nil
	}
	cancelled, err := s.o.Tasks.CancelTaskScans(ctx, projectID, JobKind, digests, inventory.Millis(s.o.Now()))
	if err != nil {
		return nil, fmt.Errorf("scanjob: cancel scans in project %s: %w", projectID, err)
	}
	for _, d := range cancelled {
		if err := s.scans.RestoreScanStatus(ctx, projectID, d); err != nil {
			return cancelled, fmt.Errorf("scanjob: restore the scan status of %s: %w", d, err)
		}
	}
	return cancelled, nil
}

// finishTasks marks the scan of digest, recorded as r, on the pending items
// of the project's running scan tasks waiting for it whose scan_scope the
// parts done cover (0: every task). A failure's reason is the scan's
// failed description (its status when it has none).
func (s *Service) finishTasks(ctx context.Context, project, digest string, r inventory.ScanResult, done scanresult.Scope) error {
	if s.o.Tasks == nil {
		return nil
	}
	reason := r.FailedDesc
	if reason == "" && r.Status != inventory.ScanSuccess {
		reason = string(r.Status)
	}
	_, err := s.o.Tasks.FinishTaskItems(ctx, tasks.Finish{ProjectID: project, Type: tasks.Scan, Digest: digest,
		OK: r.Status == inventory.ScanSuccess, Reason: reason, At: r.ScanTime, Missing: missing(done)})
	if err != nil {
		return fmt.Errorf("scanjob: record scan of %s on its tasks: %w", digest, err)
	}
	return nil
}

// missing is Finish.Missing of a scan of the parts done: the bits of every
// part it did not run (none for 0, "every task").
func missing(done scanresult.Scope) int32 {
	if done == 0 {
		return 0
	}
	return int32(scanresult.ScopeAll.Parts() &^ done.Parts())
}

// digestLocks serialises the scans of one digest within a process.
type digestLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when the holder unlocks
}

// lock waits until no other scan of digest runs in this process (or ctx
// ends) and returns the unlock.
func (l *digestLocks) lock(ctx context.Context, digest string) (func(), error) {
	for {
		l.mu.Lock()
		if l.held == nil {
			l.held = map[string]chan struct{}{}
		}
		wait, busy := l.held[digest]
		if !busy {
			done := make(chan struct{})
			l.held[digest] = done
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.held, digest)
				l.mu.Unlock()
				close(done)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
