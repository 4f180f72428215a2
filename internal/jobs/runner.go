package jobs

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Handler carries out one job. Its context is cancelled when the runner
// stops or the job's lease is lost.
type Handler func(ctx context.Context, j Job) error

// AbandonHandler cleans up after a job the runner gives up on because its
// workers kept stopping without finishing it (reason says so): whatever
// state the job's handler shows as "in progress" must not stay so. It may
// run more than once for one job (a crash between it and the job's end
// makes the next claim give up again), so it must be idempotent.
type AbandonHandler func(ctx context.Context, j Job, reason string) error

// DefaultLease is a Runner's Lease when none is set.
const DefaultLease = 30 * time.Second

// Runner claims jobs from a Store and runs them with their Handler, renewing
// each job's lease while it runs.
type Runner struct {
	store    Store
	handlers map[string]Handler
	abandon  map[string]AbandonHandler
	kinds    []string
	owner    string
	log      *slog.Logger

	workers     int
	lease       time.Duration
	poll        time.Duration
	maxAttempts int
	now         func() time.Time

	wake chan struct{}
}

// RunnerOptions configure a Runner. Store is required.
type RunnerOptions struct {
	Store  Store
	Logger *slog.Logger // default slog.Default()
	// Workers is how many jobs run at once (default 1).
	Workers int
	// Lease is how long a claimed job stays ours without a heartbeat
	// (DefaultLease when 0); heartbeats are sent every Lease/3.
	Lease time.Duration
	// Poll is the wait between claims when the queue is empty (default 500 ms).
	Poll time.Duration
	// MaxAttempts bounds how often a job is claimed (default 5): a job
	// whose worker keeps dying under it fails instead of looping forever.
	MaxAttempts int
	// Now returns the current time (default time.Now; tests set it).
	Now func() time.Time
}

// NewRunner returns a Runner over o.Store. Register handlers with Handle
// before Run.
func NewRunner(o RunnerOptions) (*Runner, error) {
	if o.Store == nil {
		return nil, errors.New("jobs: RunnerOptions.Store is required")
	}
	if o.Workers < 0 || o.Lease < 0 || o.Poll < 0 || o.MaxAttempts < 0 {
		return nil, fmt.Errorf("jobs: negative runner option (workers %d, lease %s, poll %s, max attempts %d)",
			o.Workers, o.Lease, o.Poll, o.MaxAttempts)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	host, _ := os.Hostname()
	return &Runner{
		store:       o.Store,
		handlers:    map[string]Handler{},
		abandon:     map[string]AbandonHandler{},
		owner:       fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomID()),
		log:         o.Logger,
		workers:     cmp.Or(o.Workers, 1),
		lease:       cmp.Or(o.Lease, DefaultLease),
		poll:        cmp.Or(o.Poll, 500*time.Millisecond),
		maxAttempts: cmp.Or(o.MaxAttempts, 5),
		now:         o.Now,
		wake:        make(chan struct{}, 1),
	}, nil
}

// Handle registers the handler of one job kind.
func (r *Runner) Handle(kind string, h Handler) {
	r.handlers[kind] = h
	r.kinds = append(r.kinds, kind)
}

// HandleAbandoned registers the clean-up of one job kind for when the
// runner gives up on a job of that kind (see RunnerOptions.MaxAttempts).
func (r *Runner) HandleAbandoned(kind string, h AbandonHandler) {
	r.abandon[kind] = h
}

// Wake makes idle workers look for work now instead of at their next poll;
// call it after enqueueing from the same process.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx is cancelled. A job whose handler returns an error
// because of that is released, its attempt not counted, so that the next
// runner (a restarted process, another server) takes it at once instead of
// after its lease; one whose handler completed is finished as usual. Only
// a crash leaves jobs to their leases.
func (r *Runner) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := 0; i < r.workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	wg.Wait()
}

// RunUntilIdle works until no job of the registered kinds is ready, then
// returns: the CLI's "--wait" without a server.
func (r *Runner) RunUntilIdle(ctx context.Context) error {
	for {
		ran, err := r.runOne(ctx)
		if err != nil {
			return err
		}
		if !ran {
			return nil
		}
	}
}

func (r *Runner) work(ctx context.Context) {
	for ctx.Err() == nil {
		ran, err := r.runOne(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Error("job queue", "err", err)
		}
		if ran {
			continue
		}
		t := time.NewTimer(r.poll)
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// runOne claims and runs at most one job; it reports whether it ran one.
func (r *Runner) runOne(ctx context.Context) (bool, error) {
	j, err := r.store.Claim(ctx, r.kinds, r.owner, r.now(), r.lease)
	if errors.Is(err, ErrNoJob) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim: %w", err)
	}
	lease := j.Lease()
	if j.Attempts > r.maxAttempts {
		return true, r.giveUp(ctx, j)
	}
	h := r.handlers[j.Kind]
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()

	hbDone := make(chan struct{})
	var lost atomic.Bool
	go func() {
		defer close(hbDone)
		r.heartbeat(jctx, cancel, lease, &lost)
	}()

	start := r.now()
	r.log.Info("job started", "job", j.ID, "kind", j.Kind, "key", j.Key, "attempt", j.Attempts)
	runErr := safeRun(jctx, h, j)
	cancel()
	<-hbDone
	// Finish or release with a fresh context: the job's own was cancelled
	// above, and the runner's may be.
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), r.lease)
	defer scancel()
	if lost.Load() {
		// Another claim holds the job now; whatever this attempt did is
		// not recorded as the job's outcome.
		r.log.Warn("job lease lost; outcome dropped", "job", j.ID, "attempt", j.Attempts)
		return true, nil
	}
	if runErr != nil && ctx.Err() != nil {
		// Stopping: give the job back for the next runner to take at once.
		if err := r.store.Release(sctx, lease, r.now()); err != nil && !errors.Is(err, ErrLeaseLost) {
			return true, fmt.Errorf("release job %d: %w", j.ID, err)
		}
		r.log.Info("job released", "job", j.ID, "kind", j.Kind, "attempt", j.Attempts)
		return true, nil
	}
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	if err := r.store.Finish(sctx, lease, msg, r.now()); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			r.log.Warn("job lease lost before finish; outcome dropped", "job", j.ID, "attempt", j.Attempts)
			return true, nil
		}
		return true, fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	r.log.Info("job finished", "job", j.ID, "kind", j.Kind, "err", msg, "duration", r.now().Sub(start))
	return true, nil
}

// giveUp fails a job claimed more than MaxAttempts times, after its kind's
// AbandonHandler cleaned up.
func (r *Runner) giveUp(ctx context.Context, j Job) error {
	tries := j.Attempts - 1
	msg := fmt.Sprintf("gave up after %d attempts: its workers stopped without finishing it", tries)
	r.log.Error("job abandoned", "job", j.ID, "kind", j.Kind, "attempts", tries)
	if h := r.abandon[j.Kind]; h != nil {
		if err := h(ctx, j, msg); err != nil {
			// Not finished: the lease expires and the next claim tries the
			// clean-up again.
			return fmt.Errorf("clean up abandoned job %d: %w", j.ID, err)
		}
	}
	if err := r.store.Finish(ctx, j.Lease(), msg, r.now()); err != nil && !errors.Is(err, ErrLeaseLost) {
		return fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	return nil
}

// heartbeat renews lease every Lease/3 until ctx ends. When the lease is
// lost (it expired and another claim took the job, in this process or
// another) it sets lost and cancels the handler: two attempts of one job
// must not both run.
func (r *Runner) heartbeat(ctx context.Context, cancel context.CancelFunc, lease Lease, lost *atomic.Bool) {
	t := time.NewTicker(r.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := r.store.Heartbeat(ctx, lease, r.now(), r.lease)
			if errors.Is(err, ErrLeaseLost) {
				r.log.Warn("job lease lost", "job", lease.ID, "attempt", lease.Attempt)
				lost.Store(true)
				cancel()
				return
			}
			if err != nil && ctx.Err() == nil {
				r.log.Error("job heartbeat", "job", lease.ID, "err", err)
			}
		}
	}
}

// Purge deletes the jobs that ended longer than retention ago, so the table
// holds only recent history. It returns how many it deleted.
func (r *Runner) Purge(ctx context.Context, retention time.Duration) (int64, error) {
	if retention <= 0 {
		return 0, fmt.Errorf("purge jobs: retention %s must be positive", retention)
	}
	n, err := r.store.PurgeJobs(ctx, r.now().Add(-retention))
	if err != nil {
		return n, fmt.Errorf("purge jobs: %w", err)
	}
	if n > 0 {
		r.log.Info("purged ended jobs", "jobs", n, "retention", retention)
	}
	return n, nil
}

// safeRun runs h and turns a panic into an error, so one bad input (a
// hostile image, say) fails its job instead of killing every worker.
func safeRun(ctx context.Context, h Handler, j Job) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job panicked: %v", p)
		}
	}()
	return h(ctx, j)
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
