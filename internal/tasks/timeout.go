package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openhss/openhss/internal/inventory"
)

// DefaultTimeout is how long a task may run before it is timed out
// (openhss serve --task-timeout).
const DefaultTimeout = 24 * time.Hour

// TimeOutStore is what the timeout sweep needs (Store's TimeOutTasks).
type TimeOutStore interface {
	TimeOutTasks(ctx context.Context, cutoff, at int64) ([]Expired, error)
}

// TimeoutOptions configure Timeouts. Store and CancelScans are required,
// Timeout must be positive.
type TimeoutOptions struct {
	Store TimeOutStore
	// Timeout is how long a task may run (from its begin time).
	Timeout time.Duration
	// CancelScans cancels the queued scans of a project's digests that no
	// running scan task waits for (scanjob.Service.Cancel): what
	// StopImageScanTask does for a stopped task.
	CancelScans func(ctx context.Context, projectID string, digests []string) ([]string, error)
	Now         func() time.Time // default time.Now
	Log         *slog.Logger
}

// Timeouts ends the tasks that have not ended within a bound as timed out
// (task_status -2, docs/api.md "Tasks"): a scan that never ends (a worker
// stuck past its lease's renewals, a rate far slower than the task's size)
// must not leave its task running for ever.
type Timeouts struct {
	o TimeoutOptions
}

// NewTimeouts returns the sweep of o.
func NewTimeouts(o TimeoutOptions) (*Timeouts, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("tasks: TimeoutOptions.Store is required")
	case o.CancelScans == nil:
		return nil, errors.New("tasks: TimeoutOptions.CancelScans is required")
	case o.Timeout <= 0:
		return nil, fmt.Errorf("tasks: task timeout %s must be positive", o.Timeout)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Timeouts{o: o}, nil
}

// Sweep times out the running tasks begun more than Timeout ago and cancels
// the queued scans of their digests that no other running task waits for,
// and returns the tasks it timed out. Safe on several servers at once: the
// store times each task out once, and only that sweep cancels its scans.
// A cancel that fails leaves those scans to run: their results land on the
// images, as a stopped task's running scans do.
func (t *Timeouts) Sweep(ctx context.Context) ([]Expired, error) {
	now := t.o.Now()
	expired, err := t.o.Store.TimeOutTasks(ctx, inventory.Millis(now.Add(-t.o.Timeout)), inventory.Millis(now))
	if err != nil {
		return expired, fmt.Errorf("tasks: time out tasks: %w", err)
	}
	var errs []error
	for _, e := range expired {
		t.o.Log.Info("task timed out", "task", e.Task.ID, "project", e.Task.ProjectID, "type", e.Task.Type,
			"begin", e.Task.BeginTime, "items", len(e.Items))
		if e.Task.Type != Scan {
			continue // a sync job serves every connection of its image type: left to end
		}
		var digests []string
		seen := map[string]bool{}
		for _, it := range e.Items {
			if it.Digest != "" && !seen[it.Digest] {
				seen[it.Digest] = true
				digests = append(digests, it.Digest)
			}
		}
		if len(digests) == 0 {
			continue
		}
		if _, err := t.o.CancelScans(ctx, e.Task.ProjectID, digests); err != nil {
			errs = append(errs, fmt.Errorf("tasks: cancel the scans of timed-out task %s: %w", e.Task.ID, err))
		}
	}
	return expired, errors.Join(errs...)
}

// Run sweeps now and then every interval until ctx ends.
func (t *Timeouts) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := t.Sweep(ctx); err != nil && ctx.Err() == nil {
			t.o.Log.Error("task timeout sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
