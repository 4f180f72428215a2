package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/vulndb"
)

type serveOptions struct {
	listen  string
	region  string
	workers int
	// jobRetention is how long ended jobs are kept before the maintenance
	// loop deletes them; 0 keeps them for ever.
	jobRetention time.Duration
	// jobLease is how long a claimed job stays a worker's without a
	// heartbeat: after a crash its jobs wait this long to run again.
	jobLease time.Duration
	scan     scanOptions
	sync     syncOptions
}

// defaultJobRetention is --job-retention's default: a week of job history
// (GET of a job id, the error of a failed sync or scan) is enough to look
// into a problem; the table then stays the size of a week's work.
const defaultJobRetention = 7 * 24 * time.Hour

// jobPurgeEvery is how often the maintenance loop purges ended jobs.
const jobPurgeEvery = time.Hour

// scanOptions are the limits of the scan workers.
type scanOptions struct {
	maxImageSize    byteSize
	maxUnpackedSize byteSize
	timeout         time.Duration
	scratchDir      string // default os.TempDir()
	// sensitiveAllowlist holds the paths and globs the secrets analyzer
	// never reports (checked as the flag is parsed).
	sensitiveAllowlist []string
}

// addScanFlags registers the scan workers' flags on a command that runs them.
func addScanFlags(f *pflag.FlagSet, o *scanOptions) {
	o.maxImageSize = scanjob.DefaultMaxImageSize
	o.maxUnpackedSize = scanner.DefaultMaxUnpackedSize
	f.Var(&o.maxImageSize, "max-image-size", "largest compressed image (config + layers) to scan, e.g. 10GiB; larger ones are image_oversized")
	f.Var(&o.maxUnpackedSize, "max-unpacked-size", "largest uncompressed layer content to read while scanning, e.g. 20GiB")
	f.DurationVar(&o.timeout, "scan-timeout", scanjob.DefaultTimeout, "time limit of one image's pull and scan")
	f.Var(&allowlistFlag{list: &o.sensitiveAllowlist}, "sensitive-allowlist",
		"paths or globs never reported as sensitive information, e.g. /etc/ssl/private,/opt/*/test-keys (repeatable, comma separated)")
}

func newServeCmd(g *globals) *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HSS v5 API (and, unless --workers 0, the sync workers)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.sync.validate(); err != nil {
				return err
			}
			if o.jobRetention < 0 {
				return fmt.Errorf("--job-retention %s: must be 0 (keep ended jobs) or positive", o.jobRetention)
			}
			if o.jobLease < 300*time.Millisecond {
				return fmt.Errorf("--job-lease %s: must be at least 300ms (heartbeats go every third of it)", o.jobLease)
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			return a.serveWith(cmd.Context(), ln, o, a.services(o), nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", envOr("OPENHSS_LISTEN", "127.0.0.1:8080"), "address to serve the API on")
	f.StringVar(&o.region, "region", envOr("OPENHSS_REGION", "local-1"), "region name clients must use")
	f.IntVar(&o.workers, "workers", 2, "job workers in this process (0: API only)")
	f.DurationVar(&o.jobRetention, "job-retention", defaultJobRetention,
		"how long ended (done or failed) jobs are kept before they are deleted, e.g. 168h; 0 keeps them")
	f.DurationVar(&o.jobLease, "job-lease", jobs.DefaultLease,
		"how long a claimed job stays a worker's without a heartbeat (sent every third of it); a crashed worker's jobs run again after it")
	addScanFlags(f, &o.scan)
	addSyncFlags(f, &o.sync)
	return cmd
}

// services is the wiring of one running openhss: the API and the workers
// over one store.
type services struct {
	handler http.Handler
	runner  *jobs.Runner
	syncer  *wakingSyncer
	scans   *scanjob.Service
}

func (a *app) services(o *serveOptions) *services {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	syncer := registry.NewSyncer(a.store, a.store, a.box, registry.NewLister(append(o.sync.listerOptions(), registry.WithLogger(a.log))...))
	syncer.Log = a.log
	syncer.Metrics = newSyncMetrics(reg)
	runner := jobs.NewRunner(a.store, a.log)
	runner.Workers = o.workers
	runner.Lease = o.jobLease
	runner.Handle(registry.JobKind, syncer.Handle)
	runner.HandleAbandoned(registry.JobKind, syncer.Abandon)
	scans := a.scanService(o.scan, runner.Wake)
	runner.Handle(scanjob.JobKind, scans.Handle)
	runner.Handle(scanjob.RematchKind, scans.HandleRematch)
	scanAll := scanjob.NewScanAll(scans, a.store)
	runner.Handle(scanjob.ScanAllKind, scanAll.Handle)
	svc := &services{runner: runner, syncer: &wakingSyncer{Syncer: syncer, wake: runner.Wake}, scans: scans}
	svc.handler = hssapi.New(hssapi.Config{
		Store:       a.store,
		IAM:         a.iam,
		Box:         a.box,
		Sync:        svc.syncer,
		Scans:       scanRequester{scans, scanAll},
		ScanResults: a.store,
		Findings:    a.store,
		Region:      o.region,
		ParseAddr:   registry.ParseAddr,
		Logger:      a.log,
		Registerer:  reg,
	})
	return svc
}

// scanService builds the scan service over the app's store: the scanner
// with its limits and analyzers (baseline, malware with the store's
// signature database, secrets), and the vulnerability database as matcher.
func (a *app) scanService(o scanOptions, wake func()) *scanjob.Service {
	// Scans run for the life of the process: resolve a relative scratch
	// directory once, against the directory the command started in.
	if o.scratchDir != "" {
		if abs, err := filepath.Abs(o.scratchDir); err == nil {
			o.scratchDir = abs
		}
	}
	sc := &analyzingScanner{
		opts: scanner.Options{
			ScratchDir:      o.scratchDir,
			MaxImageSize:    int64(o.maxImageSize),
			MaxUnpackedSize: int64(o.maxUnpackedSize),
			Logger:          a.log,
		},
		sigs:            a.store,
		secretAllowlist: o.sensitiveAllowlist,
		log:             a.log,
	}
	vdb := vulndb.New(a.store, vulndb.Options{Logger: a.log})
	return scanjob.New(a.store, sc, vdb, scanjob.Options{
		Box:          a.box,
		MaxImageSize: int64(o.maxImageSize),
		Timeout:      o.timeout,
		Wake:         wake,
		Log:          a.log,
	})
}

// scanRequester adapts the scan service to the API's interface.
type scanRequester struct {
	s   *scanjob.Service
	all *scanjob.ScanAll
}

func (r scanRequester) RequestScans(ctx context.Context, projectID string, images []inventory.Image) error {
	_, err := r.s.Request(ctx, projectID, images)
	return err
}

func (r scanRequester) RequestScanAll(ctx context.Context, projectID string, f inventory.Filter) error {
	_, _, err := r.all.Request(ctx, projectID, f)
	return err
}

// wakingSyncer wakes this process's idle workers after queueing a sync, so
// the sync starts at once instead of at the next poll.
type wakingSyncer struct {
	*registry.Syncer
	wake func()
}

func (w *wakingSyncer) Request(ctx context.Context, projectID string, t inventory.ImageType) (jobs.Job, bool, error) {
	j, joined, err := w.Syncer.Request(ctx, projectID, t)
	if err == nil {
		w.wake()
	}
	return j, joined, err
}

// serveWith runs the API and workers of svc on ln until ctx is cancelled,
// then shuts down gracefully. ready, when set, is called once the server
// accepts requests.
func (a *app) serveWith(ctx context.Context, ln net.Listener, o *serveOptions, svc *services, ready func(addr string)) error {
	srv := &http.Server{
		Handler:           svc.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		if o.workers > 0 {
			svc.runner.Run(workCtx)
		}
	}()
	maintDone := make(chan struct{})
	go func() {
		defer close(maintDone)
		if o.workers > 0 && svc.scans != nil {
			// Fail scans whose job is gone and re-match after imports made
			// by other processes.
			svc.scans.Maintain(workCtx, time.Minute)
		}
	}()
	purgeDone := make(chan struct{})
	go func() {
		defer close(purgeDone)
		if o.workers > 0 && o.jobRetention > 0 {
			purgeJobs(workCtx, a, svc.runner, o.jobRetention, jobPurgeEvery)
		}
	}()
	defer func() { stopWork(); <-maintDone; <-purgeDone }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("openhss ready", "addr", ln.Addr().String(), "region", o.region, "workers", o.workers)
	if ready != nil {
		ready(ln.Addr().String())
	}

	select {
	case err := <-errc:
		stopWork()
		<-workersDone
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	stopWork()
	<-workersDone
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("stopped")
	return nil
}

// purgeJobs deletes ended jobs older than retention now and then every
// interval, until ctx ends.
func purgeJobs(ctx context.Context, a *app, r *jobs.Runner, retention, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := r.Purge(ctx, retention); err != nil && ctx.Err() == nil {
			a.log.Error("job purge", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitJob runs this process's workers until job id has ended, and returns
// it. A server on the same store may take the job instead: either way the
// job's end is seen in the store, so the command alone does the whole job on
// the embedded default and cooperates with a running server.
func (s *services) waitJob(ctx context.Context, a *app, id int64) (jobs.Job, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runner.Run(ctx)
	}()
	defer func() { cancel(); <-done }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		j, err := a.store.GetJob(ctx, id)
		if err != nil {
			return j, err
		}
		if j.State == jobs.Done || j.State == jobs.Failed {
			return j, nil
		}
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-tick.C:
		}
	}
}
