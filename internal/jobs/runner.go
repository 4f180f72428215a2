package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Handler carries out one job. Its context is cancelled when the runner
// stops or the job's lease is lost.
type Handler func(ctx context.Context, j Job) error

// DefaultLease is a Runner's Lease when none is set.
const DefaultLease = 30 * time.Second

// Runner claims jobs from a Store and runs them with their Handler, renewing
// each job's lease while it runs.
type Runner struct {
	store    Store
	handlers map[string]Handler
	kinds    []string
	owner    string
	log      *slog.Logger

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
	// Now returns the current time (tests set it).
	Now func() time.Time

	wake chan struct{}
}

// NewRunner returns a Runner over store. Register handlers with Handle before
// Run.
func NewRunner(store Store, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.Default()
	}
	host, _ := os.Hostname()
	return &Runner{
		store:    store,
		handlers: map[string]Handler{},
		owner:    fmt.Sprintf("%s/%d/%s", host, os.Getpid(), randomID()),
		log:      log,
		wake:     make(chan struct{}, 1),
	}
}

// Handle registers the handler of one job kind.
func (r *Runner) Handle(kind string, h Handler) {
	r.handlers[kind] = h
	r.kinds = append(r.kinds, kind)
}

// Owner is the name this runner leases jobs under.
func (r *Runner) Owner() string { return r.owner }

// Wake makes idle workers look for work now instead of at their next poll;
// call it after enqueueing from the same process.
func (r *Runner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx is cancelled. Jobs running then are abandoned without
// being finished: their leases expire and another runner takes them again,
// which is what a crash looks like too.
func (r *Runner) Run(ctx context.Context) {
	r.defaults()
	var wg sync.WaitGroup
	for i := 0; i < r.Workers; i++ {
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
	r.defaults()
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

func (r *Runner) defaults() {
	if r.Workers <= 0 {
		r.Workers = 1
	}
	if r.Lease <= 0 {
		r.Lease = DefaultLease
	}
	if r.Poll <= 0 {
		r.Poll = 500 * time.Millisecond
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 5
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
		t := time.NewTimer(r.Poll)
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
	j, err := r.store.Claim(ctx, r.kinds, r.owner, r.Now(), r.Lease)
	if errors.Is(err, ErrNoJob) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim: %w", err)
	}
	if j.Attempts > r.MaxAttempts {
		msg := fmt.Sprintf("gave up after %d attempts: its workers stopped without finishing it", j.Attempts-1)
		r.log.Error("job abandoned", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts-1)
		if err := r.store.Finish(ctx, j.ID, r.owner, msg, r.Now()); err != nil && !errors.Is(err, ErrLeaseLost) {
			return true, fmt.Errorf("finish job %d: %w", j.ID, err)
		}
		return true, nil
	}
	h := r.handlers[j.Kind]
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()

	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		r.heartbeat(jctx, cancel, j.ID)
	}()

	start := r.Now()
	r.log.Info("job started", "job", j.ID, "kind", j.Kind, "key", j.Key, "attempt", j.Attempts)
	runErr := safeRun(jctx, h, j)
	cancel()
	<-hbDone
	if ctx.Err() != nil {
		// Stopping: leave the job to its lease, as a crash would.
		return true, nil
	}
	msg := ""
	if runErr != nil {
		msg = runErr.Error()
	}
	// Finish with a fresh context: the job's own was cancelled above.
	if err := r.store.Finish(context.WithoutCancel(ctx), j.ID, r.owner, msg, r.Now()); err != nil {
		if errors.Is(err, ErrLeaseLost) {
			r.log.Warn("job lease lost before finish", "job", j.ID)
			return true, nil
		}
		return true, fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	r.log.Info("job finished", "job", j.ID, "kind", j.Kind, "err", msg, "duration", r.Now().Sub(start))
	return true, nil
}

func (r *Runner) heartbeat(ctx context.Context, cancel context.CancelFunc, id int64) {
	t := time.NewTicker(r.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			err := r.store.Heartbeat(ctx, id, r.owner, r.Now().Add(r.Lease))
			if errors.Is(err, ErrLeaseLost) {
				r.log.Warn("job lease lost", "job", id)
				cancel()
				return
			}
			if err != nil && ctx.Err() == nil {
				r.log.Error("job heartbeat", "job", id, "err", err)
			}
		}
	}
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
