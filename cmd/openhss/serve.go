package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/openhss/openhss/internal/console"
	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/schedule"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/trend"
	"github.com/openhss/openhss/internal/vulndb"
	"github.com/openhss/openhss/internal/vulnupdate"
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
	schedule scheduleOptions
	// tlsCert and tlsKey are PEM files; with both set the API is served
	// over HTTPS with tls (loaded at start, so a bad pair fails then).
	tlsCert, tlsKey string
	tls             *tls.Config
	// tokenPurge is how often expired tokens are deleted.
	tokenPurge time.Duration
	guard      guardOptions
	net        netOptions
	// policy is net compiled (nil: the default policy); set by the
	// command before services.
	policy *netpolicy.Policy
	// shutdownTimeout bounds a graceful stop: requests and workers still
	// running after it are left behind (default defaultShutdownTimeout).
	shutdownTimeout time.Duration
	// taskTimeout is how long a sync or scan task may run before it ends
	// timed out; 0: never.
	taskTimeout time.Duration
	// vulnDB is what the console's "Update now" job fetches.
	vulnDB vulnDBOptions
	// trendRefresh is how long today's Overview snapshot of a scope stands
	// before the workers recount it; 0: never (docs/console.md, Overview).
	trendRefresh time.Duration
}

// vulnDBOptions configure the vulnerability-data update job the workers
// run for the console (what `openhss db update` does).
type vulnDBOptions struct {
	baseURL     string
	ecosystems  []string
	minInterval time.Duration
}

// taskSweepEvery is how often the workers look for tasks past
// --task-timeout.
const taskSweepEvery = time.Minute

// defaultShutdownTimeout is how long a graceful stop waits for requests
// and workers.
const defaultShutdownTimeout = 15 * time.Second

// guardOptions bound what unauthenticated clients can make the server do
// (docs/security.md); zero values take the packages' defaults.
type guardOptions struct {
	passwordChecks  int
	signInFailures  int
	signInWindow    time.Duration
	refusalLimit    int
	refusalBudget   int
	refusalLogLimit int
}

func addGuardFlags(f *pflag.FlagSet, o *guardOptions) {
	f.IntVar(&o.passwordChecks, "password-checks", iam.DefaultPasswordChecks(), "bcrypt password checks (sign-ins) running at once; more wait briefly, then get 429")
	f.IntVar(&o.signInFailures, "signin-failures", iam.DefaultSignInFailures, "failed sign-ins per user name per --signin-window before that name gets 429")
	f.DurationVar(&o.signInWindow, "signin-window", iam.DefaultSignInWindow, "window of --signin-failures")
	f.IntVar(&o.refusalLimit, "refusal-limit", hssapi.DefaultRefusalLimit, "refused unauthenticated requests per client address per minute before the address gets 429 (-1: no limit; behind a proxy every client shares its address)")
	f.IntVar(&o.refusalBudget, "refusal-budget", hssapi.DefaultRefusalBudget, "refused unauthenticated requests per minute, all addresses together, before refusals become 429 (-1: no limit)")
	f.IntVar(&o.refusalLogLimit, "refusal-log-limit", hssapi.DefaultRefusalLogLimit, "refused requests logged per minute; the rest are counted in one line (-1: log all)")
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
	// maxScratchSize and scratchLimit bound the kept files on disk, per
	// scan and for all the process's scans (docs/scanner.md).
	maxScratchSize byteSize
	scratchLimit   byteSize
	timeout        time.Duration
	scratchDir     string // default os.TempDir()
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
	o.maxScratchSize = scanner.DefaultMaxScratchSize
	o.scratchLimit = scanner.DefaultScratchLimit
	f.Var(&o.maxScratchSize, "max-scratch-size", "disk space one scan may fill with the files it keeps; an image needing more is image_oversized")
	f.Var(&o.scratchLimit, "scratch-limit", "disk space all the scans of this process may fill with kept files at once; a scan waits for room")
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
			if err := o.schedule.validate(); err != nil {
				return err
			}
			if o.jobRetention < 0 {
				return fmt.Errorf("--job-retention %s: must be 0 (keep ended jobs) or positive", o.jobRetention)
			}
			if o.taskTimeout < 0 {
				return fmt.Errorf("--task-timeout %s: must be 0 (never) or positive", o.taskTimeout)
			}
			if o.trendRefresh < 0 {
				return fmt.Errorf("--trend-refresh %s: must be 0 (never) or positive", o.trendRefresh)
			}
			if o.jobLease < 300*time.Millisecond {
				return fmt.Errorf("--job-lease %s: must be at least 300ms (heartbeats go every third of it)", o.jobLease)
			}
			cfg, err := loadTLS(o.tlsCert, o.tlsKey)
			if err != nil {
				return err
			}
			o.tls = cfg
			if o.policy, err = o.net.policy(); err != nil {
				return err
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.Close()
			if a.iam, err = iam.New(iam.Options{
				Store:          a.store,
				Box:            a.box,
				PasswordChecks: o.guard.passwordChecks,
				SignInFailures: o.guard.signInFailures,
				SignInWindow:   o.guard.signInWindow,
			}); err != nil {
				return err
			}
			svc, err := a.services(o)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", o.listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			return a.serveWith(cmd.Context(), ln, o, svc, nil)
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
	f.DurationVar(&o.taskTimeout, "task-timeout", tasks.DefaultTimeout,
		"how long a sync or scan task may run before it ends timed out (task_status -2, its queued scans cancelled), e.g. 48h; 0: never")
	f.DurationVar(&o.trendRefresh, "trend-refresh", trend.DefaultRefresh,
		"how long today's Overview trend snapshot stands before the workers recount it, e.g. 15m; 0: never on this server (today's point stays as the day's first pass counted it, unless another server on the database refreshes it)")
	addGuardFlags(f, &o.guard)
	f.StringVar(&o.tlsCert, "tls-cert", os.Getenv("OPENHSS_TLS_CERT"), "PEM certificate (chain) to serve HTTPS with; needs --tls-key (env OPENHSS_TLS_CERT)")
	f.StringVar(&o.tlsKey, "tls-key", os.Getenv("OPENHSS_TLS_KEY"), "PEM private key of --tls-cert (env OPENHSS_TLS_KEY)")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", defaultShutdownTimeout,
		"how long a graceful stop (SIGTERM) waits for running requests and jobs before exiting without them")
	addVulnDBFlags(f, &o.vulnDB)
	addScanFlags(f, &o.scan)
	addSyncFlags(f, &o.sync)
	addScheduleFlags(f, &o.schedule)
	addNetFlags(f, &o.net)
	return cmd
}

// addVulnDBFlags are the flags of the console's Update now job (serve and
// quickstart).
func addVulnDBFlags(f *pflag.FlagSet, o *vulnDBOptions) {
	f.StringVar(&o.baseURL, "vulndb-base-url", envOr("OPENHSS_VULNDB_BASE_URL", vulndb.DefaultBaseURL),
		"where the console's Update now fetches <Ecosystem>/all.zip, as db update --base-url (env OPENHSS_VULNDB_BASE_URL)")
	f.StringSliceVar(&o.ecosystems, "vulndb-ecosystem", vulndb.DefaultEcosystems,
		"OSV ecosystems the console's Update now fetches, as db update --ecosystem")
	f.DurationVar(&o.minInterval, "vulndb-min-interval", time.Hour,
		"how long after an update finished the console's Update now takes another (0: no limit)")
}

// loadTLS returns the server TLS configuration of a certificate and key
// file, nil when neither is given. Both or neither: half a pair is an
// operator's mistake, not a request for plain HTTP.
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "" || keyFile == "":
		return nil, errors.New("serve: --tls-cert and --tls-key go together: give both to serve HTTPS, or neither for plain HTTP")
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("serve: TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

// services is the wiring of one running openhss: the API and the workers
// over one store.
type services struct {
	handler http.Handler
	runner  *jobs.Runner
	syncer  *wakingSyncer
	scans   *scanjob.Service
	// timeouts sweeps the tasks past --task-timeout (nil: never).
	timeouts *tasks.Timeouts
	// sched starts scheduled scans and periodic syncs (nil in commands
	// that build services without it).
	sched *schedule.Scheduler
	// trend takes the Overview's daily snapshots (nil: never).
	trend *trend.Snapshotter
}

// services builds them; an error is a missing dependency or a bad
// option, found before anything listens or runs.
func (a *app) services(o *serveOptions) (*services, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// One transport, one connection pool and one network policy for the
	// syncs and the scanners' pulls.
	rt := registry.NewTransport(o.policy)
	lo := o.sync.listerOptions()
	lo.Transport, lo.Logger = rt, a.log
	lister, err := registry.NewLister(lo)
	if err != nil {
		return nil, err
	}
	syncer, err := registry.NewSyncer(registry.SyncerOptions{
		Store: a.store, Queue: a.store, Box: a.box, Lister: lister, Metrics: newSyncMetrics(reg), Logger: a.log,
	})
	if err != nil {
		return nil, err
	}
	runner, err := jobs.NewRunner(jobs.RunnerOptions{Store: a.store, Logger: a.log, Workers: o.workers, Lease: o.jobLease})
	if err != nil {
		return nil, err
	}
	runner.Handle(registry.JobKind, syncer.Handle)
	runner.HandleAbandoned(registry.JobKind, syncer.Abandon)
	scans, err := a.scanService(o.scan, runner.Wake, rt)
	if err != nil {
		return nil, err
	}
	runner.Handle(scanjob.JobKind, scans.Handle)
	runner.HandleAbandoned(scanjob.JobKind, scans.Abandon)
	runner.Handle(scanjob.RematchKind, scans.HandleRematch)
	scanAll, err := scanjob.NewScanAll(scanjob.ScanAllOptions{Service: scans, Lister: a.store})
	if err != nil {
		return nil, err
	}
	runner.Handle(scanjob.ScanAllKind, scanAll.Handle)
	// The console's Update now: what `openhss db update` does, as a job.
	vdb, err := a.vulnDB()
	if err != nil {
		return nil, err
	}
	updater, err := vulnupdate.New(vulnupdate.Options{DB: vdb, Rematch: scans, Queue: a.store, BaseURL: o.vulnDB.baseURL,
		Ecosystems: o.vulnDB.ecosystems, MinInterval: o.vulnDB.minInterval, Wake: runner.Wake, Logger: a.log})
	if err != nil {
		return nil, err
	}
	runner.Handle(vulnupdate.JobKind, updater.Handle)
	svc := &services{runner: runner, syncer: &wakingSyncer{Syncer: syncer, wake: runner.Wake}, scans: scans}
	if o.taskTimeout > 0 {
		if svc.timeouts, err = tasks.NewTimeouts(tasks.TimeoutOptions{Store: a.store, Timeout: o.taskTimeout,
			CancelScans: scans.Cancel, Log: a.log}); err != nil {
			return nil, err
		}
	}
	starter, err := taskrun.New(taskrun.Options{Tasks: a.store, Sync: svc.syncer, Scans: scanAll.Requester()})
	if err != nil {
		return nil, err
	}
	if svc.trend, err = trend.New(trend.Options{Store: a.store, Refresh: o.trendRefresh, Logger: a.log}); err != nil {
		return nil, err
	}
	if svc.sched, err = a.scheduler(o.schedule, runner, starter); err != nil {
		return nil, err
	}
	api, err := hssapi.New(hssapi.Config{
		Store:       a.store,
		IAM:         a.iam,
		Box:         a.box,
		Sync:        svc.syncer,
		Scans:       scanAll.Requester(),
		ScanResults: a.store,
		Findings:    a.store,
		Health:      a.store,
		Region:      o.region,
		NetPolicy:   o.policy,
		Logger:      a.log,
		Registerer:  reg,

		RefusalLimit:    o.guard.refusalLimit,
		RefusalBudget:   o.guard.refusalBudget,
		RefusalLogLimit: o.guard.refusalLogLimit,

		// The default is the list the scans skip; the API shows it as
		// default_path and hides the findings under it and under the
		// project's own list.
		Whitelists:       a.store,
		SensitiveDefault: o.scan.sensitiveAllowlist,
	})
	if err != nil {
		return nil, err
	}
	// The web console is at / and hands every path it does not own to the
	// API unchanged (docs/console.md).
	svc.handler, err = console.New(console.Options{Store: a.store, Auth: a.iam, Scans: scanAll.Requester(), Tasks: starter,
		VulnUpdate: updater, Box: a.box, Registries: lister, NetPolicy: o.policy, SensitiveDefault: o.scan.sensitiveAllowlist,
		Fallback: api, Logger: a.log})
	if err != nil {
		return nil, err
	}
	return svc, nil
}

// scanService builds the scan service over the app's store: the scanner
// with its limits and analyzers (baseline, malware with the store's
// signature database, secrets), and the vulnerability database as matcher.
// rt carries the registry pulls (nil: a transport under the default
// network policy; commands that pull nothing pass nil).
func (a *app) scanService(o scanOptions, wake func(), rt http.RoundTripper) (*scanjob.Service, error) {
	// Scans run for the life of the process: resolve a relative scratch
	// directory once, against the directory the command started in.
	if o.scratchDir != "" {
		if abs, err := filepath.Abs(o.scratchDir); err == nil {
			o.scratchDir = abs
		}
	}
	// What scans of a dead process left in the scratch directory goes
	// now, not at this process's first scan.
	if _, err := scanner.RemoveStaleScratch(o.scratchDir, a.log); err != nil {
		a.log.Warn("remove stale scratch directories", "err", err)
	}
	sc := &analyzingScanner{
		opts: scanner.Options{
			ScratchDir:      o.scratchDir,
			MaxImageSize:    int64(o.maxImageSize),
			MaxUnpackedSize: int64(o.maxUnpackedSize),
			MaxScratchSize:  int64(o.maxScratchSize),
			ScratchLimit:    int64(o.scratchLimit),
			Logger:          a.log,
		},
		sigs:            a.store,
		secretAllowlist: o.sensitiveAllowlist,
		log:             a.log,
	}
	vdb, err := a.vulnDB()
	if err != nil {
		return nil, err
	}
	return scanjob.New(scanjob.Options{
		Store:        a.store,
		Scanner:      sc,
		Matcher:      vdb,
		Box:          a.box,
		Transport:    rt,
		MaxImageSize: int64(o.maxImageSize),
		Timeout:      o.timeout,
		Wake:         wake,
		Log:          a.log,
	})
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
		Handler:   svc.handler,
		TLSConfig: o.tls,
		// The server's own messages are about single connections (a
		// failed TLS handshake, a malformed request): any client can make
		// them, so they stay out of the default log level, like refusals.
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
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
	schedDone := make(chan struct{})
	go func() {
		defer close(schedDone)
		if o.workers > 0 && svc.sched != nil {
			svc.sched.Run(workCtx, o.schedule.tick)
		}
	}()
	purgeDone := make(chan struct{})
	go func() {
		defer close(purgeDone)
		var wg sync.WaitGroup
		if o.workers > 0 && o.jobRetention > 0 {
			wg.Go(func() { purgeJobs(workCtx, a, svc.runner, o.jobRetention, jobPurgeEvery) })
		}
		if o.workers > 0 && svc.timeouts != nil {
			// Every worker process sweeps: the store times each task out
			// once (docs/api.md, "Tasks").
			wg.Go(func() { svc.timeouts.Run(workCtx, taskSweepEvery) })
		}
		if o.workers > 0 && svc.trend != nil {
			// Every worker process takes the day's snapshots: the first
			// row of a scope and day wins, so the others store nothing,
			// and today's row is replaced once per --trend-refresh by
			// whichever recounts it first (docs/console.md, Overview).
			wg.Go(func() { svc.trend.Run(workCtx, trend.DefaultEvery) })
		}
		// Every process purges tokens: an API-only fleet must not keep
		// them forever, and the delete is idempotent.
		a.purgeTokens(workCtx, o.tokenPurge)
		wg.Wait()
	}()

	errc := make(chan error, 1)
	go func() {
		if o.tls != nil {
			// The certificate is in TLSConfig.
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	a.log.Info("openhss ready", "addr", ln.Addr().String(), "region", o.region, "workers", o.workers, "tls", o.tls != nil)
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
		for _, done := range []chan struct{}{workersDone, maintDone, schedDone, purgeDone} {
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

// defaultTokenPurge is how often serve deletes expired tokens.
const defaultTokenPurge = time.Hour

// purgeTokens deletes expired tokens now and then every interval (default
// defaultTokenPurge) until ctx ends: without it the token table grows by
// one row per sign-in forever. An expired token is refused either way, so
// deleting it changes no answer.
func (a *app) purgeTokens(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = defaultTokenPurge
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := a.store.PurgeExpiredTokens(ctx, time.Now().UnixMilli())
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("purge expired tokens", "err", err)
		case n > 0:
			a.log.Info("purged expired tokens", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
