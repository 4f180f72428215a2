package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	scan    scanOptions
	// shutdownTimeout bounds a graceful stop: requests and workers still
	// running after it are left behind (default defaultShutdownTimeout).
	shutdownTimeout time.Duration
}

// defaultShutdownTimeout is how long a graceful stop waits for requests
// and workers.
const defaultShutdownTimeout = 15 * time.Second

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
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout,
		"how long a graceful stop (SIGTERM) waits for running requests and jobs before exiting without them")
	addScanFlags(f, &o.scan)
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
	syncer := registry.NewSyncer(a.store, a.store, a.box, registry.NewLister(registry.WithLogger(a.log)))
	syncer.Log = a.log
	syncer.Metrics = newSyncMetrics(reg)
	runner := jobs.NewRunner(a.store, a.log)
	runner.Workers = o.workers
	runner.Handle(registry.JobKind, syncer.Handle)
	scans := a.scanService(o.scan, runner.Wake)
	runner.Handle(scanjob.JobKind, scans.Handle)
	runner.Handle(scanjob.RematchKind, scans.HandleRematch)
	svc := &services{runner: runner, syncer: &wakingSyncer{Syncer: syncer, wake: runner.Wake}, scans: scans}
	svc.handler = hssapi.New(hssapi.Config{
		Store:       a.store,
		IAM:         a.iam,
		Box:         a.box,
		Sync:        svc.syncer,
		Scans:       scanRequester{scans},
		ScanResults: a.store,
		Findings:    a.store,
		Health:      a.store,
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
type scanRequester struct{ s *scanjob.Service }

func (r scanRequester) RequestScans(ctx context.Context, projectID string, images []inventory.Image) error {
	_, err := r.s.Request(ctx, projectID, images)
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

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.log.Info("openhss ready", "addr", ln.Addr().String(), "region", o.region, "workers", o.workers)
	if ready != nil {
		ready(ln.Addr().String())
	}

	timeout := o.shutdownTimeout
	if timeout <= 0 {
		timeout = defaultShutdownTimeout
	}
	// Every wait of a stop has this deadline: a worker blocked in a call
	// that does not honour its cancelled context (a store that stopped
	// answering, say) must not keep the process from exiting. What is
	// left behind is what a crash would leave: jobs under their leases.
	stopped := func(shutCtx context.Context) error {
		stopWork()
		for _, done := range []chan struct{}{workersDone, maintDone} {
			select {
			case <-done:
			case <-shutCtx.Done():
				a.log.Error("workers did not stop in time; exiting without them", "timeout", timeout)
				return fmt.Errorf("shutdown: workers still running after %s", timeout)
			}
		}
		return nil
	}
	select {
	case err := <-errc:
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		return errors.Join(fmt.Errorf("serve: %w", err), stopped(shutCtx))
	case <-ctx.Done():
	}
	a.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	// The workers stop while the requests drain, under the same deadline.
	workErr := make(chan error, 1)
	go func() { workErr <- stopped(shutCtx) }()
	err := srv.Shutdown(shutCtx)
	if err != nil {
		// Requests still running: drop their connections.
		_ = srv.Close()
	}
	if werr := <-workErr; werr != nil {
		return werr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("stopped")
	return nil
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
