// Package taskrun starts sync and scan tasks: it stores the task record
// with its items and queues the jobs that do the work, so that the HTTP
// routes and the scheduler (package schedule) start tasks the same way
// (docs/api.md, "Tasks").
package taskrun

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/tasks"
)

// Store is what starting a task needs of the task store.
type Store interface {
	CreateTask(ctx context.Context, t tasks.Task, items []tasks.Item) (tasks.Task, error)
	GetTask(ctx context.Context, projectID, id string) (tasks.Task, error)
	EndTask(ctx context.Context, projectID, id string, s tasks.State, reason string, at int64) ([]tasks.Item, error)
}

// SyncRequester queues the sync of one image type's connections of a
// project (registry.Syncer's Request).
type SyncRequester interface {
	Request(ctx context.Context, projectID string, t inventory.ImageType) (jobs.Job, bool, error)
}

// ScanRequester queues scans into a scan task (scanjob's RequestScans and
// RequestScanAll).
type ScanRequester interface {
	// RequestScans queues the scans of images into the task taskID.
	RequestScans(ctx context.Context, projectID, taskID string, images []inventory.Image) error
	// RequestScanAll queues, as one job, the listing of every row of the
	// project f selects into the task taskID and their scans.
	RequestScanAll(ctx context.Context, projectID, taskID string, f inventory.Filter) error
}

// Starter starts tasks.
type Starter struct {
	o Options
}

// Options configure a Starter. Tasks, Sync and Scans are required.
type Options struct {
	Tasks Store
	Sync  SyncRequester
	Scans ScanRequester
	// Now is the clock of begin and end times (default time.Now).
	Now func() time.Time
}

// New returns a Starter.
func New(o Options) (*Starter, error) {
	switch {
	case o.Tasks == nil:
		return nil, errors.New("taskrun: Options.Tasks is required")
	case o.Sync == nil:
		return nil, errors.New("taskrun: Options.Sync is required")
	case o.Scans == nil:
		return nil, errors.New("taskrun: Options.Scans is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Starter{o: o}, nil
}

// Name is the name a task gets: its task_type and its start time (UTC, to
// the second), e.g. "manualSync-20250601120000".
func Name(k tasks.Kind, begin time.Time) string {
	return string(k) + "-" + begin.UTC().Format("20060102150405")
}

// Start creates t with items and runs queue, which queues its jobs; a
// failure to queue ends the task as an error (task_status -3), so that no
// task waits for jobs that were never queued. BeginTime, Name and
// ImageType default to now, Name(t.Kind, now) and "registry".
//
// A task given an ID that already exists is not created again: when it is
// still running, queue runs again (queueing joins the jobs still queued or
// running), so that a job starting a task with an id derived from its own
// key can run again after a crash without making a second task.
func (s *Starter) Start(ctx context.Context, t tasks.Task, items []tasks.Item, queue func(tasks.Task) error) (tasks.Task, error) {
	if t.ID != "" {
		existing, err := s.o.Tasks.GetTask(ctx, t.ProjectID, t.ID)
		switch {
		case err == nil:
			if existing.Ended() {
				return existing, nil
			}
			return existing, s.queue(ctx, existing, queue)
		case !errors.Is(err, tasks.ErrNotFound):
			return tasks.Task{}, fmt.Errorf("taskrun: task %s: %w", t.ID, err)
		}
	}
	if t.BeginTime == 0 {
		t.BeginTime = inventory.Millis(s.o.Now())
	}
	if t.Name == "" {
		t.Name = Name(t.Kind, time.UnixMilli(t.BeginTime))
	}
	if t.ImageType == "" {
		t.ImageType = "registry"
	}
	created, err := s.o.Tasks.CreateTask(ctx, t, items)
	if err != nil {
		if t.ID != "" {
			// Another run of the same job created it meanwhile.
			if existing, gerr := s.o.Tasks.GetTask(ctx, t.ProjectID, t.ID); gerr == nil {
				return existing, nil
			}
		}
		return tasks.Task{}, fmt.Errorf("taskrun: create %s task: %w", t.Type, err)
	}
	return created, s.queue(ctx, created, queue)
}

func (s *Starter) queue(ctx context.Context, t tasks.Task, queue func(tasks.Task) error) error {
	qerr := queue(t)
	if qerr == nil {
		return nil
	}
	if _, err := s.o.Tasks.EndTask(context.WithoutCancel(ctx), t.ProjectID, t.ID, tasks.Failed,
		"the task's jobs could not be queued", inventory.Millis(s.o.Now())); err != nil && !errors.Is(err, tasks.ErrEnded) {
		return errors.Join(qerr, err)
	}
	return qerr
}

// SyncItems are the sync task items of connections.
func SyncItems(regs []inventory.Registry) []tasks.Item {
	out := make([]tasks.Item, 0, len(regs))
	for _, r := range regs {
		out = append(out, tasks.Item{RefID: r.ID, RegistryID: r.ID, RegistryName: r.Name, RegistryType: string(r.Type)})
	}
	return out
}

// SyncImageTypes are the image types whose connections are synced.
var SyncImageTypes = []inventory.ImageType{inventory.PrivateImage, inventory.SharedImage, inventory.InstanceImage}

// StartSync starts the sync task t (of type tasks.Sync) over regs and
// queues the syncs of their image types. A sync job syncs every connection
// of one image type, so connections of the same type not in regs are
// synced too; the task covers regs.
func (s *Starter) StartSync(ctx context.Context, t tasks.Task, regs []inventory.Registry) (tasks.Task, error) {
	t.Type = tasks.Sync
	return s.Start(ctx, t, SyncItems(regs), func(task tasks.Task) error {
		return s.RequestSyncs(ctx, task.ProjectID, regs)
	})
}

// RequestSyncs queues the syncs of the image types of regs, each once.
func (s *Starter) RequestSyncs(ctx context.Context, projectID string, regs []inventory.Registry) error {
	done := map[inventory.ImageType]bool{}
	for _, reg := range regs {
		t := reg.Type.ImageType()
		if done[t] {
			continue
		}
		done[t] = true
		if _, _, err := s.o.Sync.Request(ctx, projectID, t); err != nil {
			return fmt.Errorf("taskrun: request %s sync of project %s: %w", t, projectID, err)
		}
	}
	return nil
}

// StartScan starts the scan task t (of type tasks.Scan) over rows and
// queues their scans: the path of the API's scan routes over named images
// and of the web console's Scan selected.
func (s *Starter) StartScan(ctx context.Context, t tasks.Task, rows []inventory.Image) (tasks.Task, error) {
	t.Type = tasks.Scan
	return s.Start(ctx, t, tasks.ScanItems(rows), func(task tasks.Task) error {
		if err := s.o.Scans.RequestScans(ctx, task.ProjectID, task.ID, rows); err != nil {
			return fmt.Errorf("taskrun: request scans in project %s: %w", task.ProjectID, err)
		}
		return nil
	})
}

// StartScanAll starts the scan task t (of type tasks.Scan) over every row
// f selects: created listing (IsAll), it gets its items from the scan-all
// job, which lists the rows and queues their scans, so that the caller
// does not wait for a whole project's rows. The path of the API's
// operate_all and is_all, the web console's Scan all and the scheduled
// scans.
func (s *Starter) StartScanAll(ctx context.Context, t tasks.Task, f inventory.Filter) (tasks.Task, error) {
	t.Type, t.IsAll, t.Listing = tasks.Scan, true, true
	return s.Start(ctx, t, nil, func(task tasks.Task) error {
		if err := s.o.Scans.RequestScanAll(ctx, task.ProjectID, task.ID, f); err != nil {
			return fmt.Errorf("taskrun: request the scan of all images in project %s: %w", task.ProjectID, err)
		}
		return nil
	})
}

// ScanCanceller cancels the queued scans of digests in a project that no
// running scan task waits for any more, and returns those it cancelled.
type ScanCanceller interface {
	CancelScans(ctx context.Context, projectID string, digests []string) ([]string, error)
}

// TaskEnder ends a running task (tasks.Store's EndTask).
type TaskEnder interface {
	EndTask(ctx context.Context, projectID, id string, s tasks.State, reason string, at int64) ([]tasks.Item, error)
}

// StopScanTask stops the running scan task id of projectID: the task ends
// as stopped (task_status -1), its pending items are cancelled, and the
// queued scans no other running task waits for are cancelled; scans
// already running end as they would. It is StopImageScanTask's path, for
// the API and the web console alike: tasks.ErrNotFound when the task is
// not one of the project's, tasks.ErrEnded (nothing changed) when it had
// already ended.
func StopScanTask(ctx context.Context, ts TaskEnder, cancel ScanCanceller, projectID, id, reason string, at int64) error {
	items, err := ts.EndTask(ctx, projectID, id, tasks.Stopped, reason, at)
	if err != nil {
		return err
	}
	var digests []string
	seen := map[string]bool{}
	for _, it := range items {
		if it.Digest != "" && !seen[it.Digest] {
			seen[it.Digest] = true
			digests = append(digests, it.Digest)
		}
	}
	// The task has ended: cancel its scans even if the caller went away.
	if _, err := cancel.CancelScans(context.WithoutCancel(ctx), projectID, digests); err != nil {
		return fmt.Errorf("taskrun: cancel the scans of task %s: %w", id, err)
	}
	return nil
}
