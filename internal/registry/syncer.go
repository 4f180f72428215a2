package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/tasks"
)

// JobKind is the jobs.Job Kind of sync requests.
const JobKind = "sync"

// SyncStore is what a Syncer needs of the inventory store.
type SyncStore interface {
	RegistriesByImageType(ctx context.Context, projectID string, t inventory.ImageType) ([]inventory.Registry, error)
	SetRegistryStatus(ctx context.Context, id int64, status, failReason string, syncedAt int64) error
	ApplySync(ctx context.Context, s inventory.Snapshot) (inventory.SyncResult, error)
	// StoredTags returns the connection's rows: a sync reads only what
	// changed since (Lister.ListFrom).
	StoredTags(ctx context.Context, projectID string, registryID int64) (inventory.StoredTags, error)
}

// TaskRecorder marks a connection's sync, as it ends, on the pending items
// of the sync tasks that cover it (tasks.Store's FinishTaskItems).
type TaskRecorder interface {
	FinishTaskItems(ctx context.Context, f tasks.Finish) (int64, error)
}

// Metrics receives one call per registry connection synced. err is nil on
// success.
type Metrics interface {
	SyncDone(registryID int64, res inventory.SyncResult, err error, d time.Duration)
}

// Queue holds sync requests (jobs.Store's Enqueue).
type Queue interface {
	Enqueue(ctx context.Context, j jobs.Job) (job jobs.Job, joined bool, err error)
}

// Syncer keeps the rows of a project's registry connections in step with
// the registries.
type Syncer struct {
	store   SyncStore
	queue   Queue
	box     *secret.Box
	lister  *Lister
	metrics Metrics
	tasks   TaskRecorder
	log     *slog.Logger
	now     func() time.Time
}

// SyncerOptions configure a Syncer. Store, Queue, Box and Lister are
// required.
type SyncerOptions struct {
	Store SyncStore
	// Queue holds sync requests (Request enqueues, the job runner hands
	// them to Handle).
	Queue Queue
	// Box opens the connections' sealed passwords.
	Box    *secret.Box
	Lister *Lister
	// Metrics, when set, is told about every connection synced.
	Metrics Metrics
	// Tasks, when set, is told about every connection synced, so that the
	// sync tasks covering it progress. Default: Store, when it is a
	// TaskRecorder (the binary's store is).
	Tasks  TaskRecorder
	Logger *slog.Logger     // default slog.Default()
	Now    func() time.Time // default time.Now
}

// NewSyncer returns a Syncer.
func NewSyncer(o SyncerOptions) (*Syncer, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("registry: SyncerOptions.Store is required")
	case o.Queue == nil:
		return nil, errors.New("registry: SyncerOptions.Queue is required")
	case o.Box == nil:
		return nil, errors.New("registry: SyncerOptions.Box is required")
	case o.Lister == nil:
		return nil, errors.New("registry: SyncerOptions.Lister is required")
	}
	s := &Syncer{store: o.Store, queue: o.Queue, box: o.Box, lister: o.Lister, metrics: o.Metrics, tasks: o.Tasks,
		log: o.Logger, now: o.Now}
	if s.tasks == nil {
		s.tasks, _ = o.Store.(TaskRecorder)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Result is the outcome of syncing one registry connection.
type Result struct {
	Registry inventory.Registry
	Changes  inventory.SyncResult
	Failed   []string // repositories whose listing failed (rows kept)
	Err      error    // non-nil when the connection failed (rows kept)
	Duration time.Duration
}

// syncPayload is the JSON payload of a sync job.
type syncPayload struct {
	ProjectID string              `json:"project_id"`
	ImageType inventory.ImageType `json:"image_type"`
}

// Syncable reports whether rows of type t come from registry connections.
func Syncable(t inventory.ImageType) bool {
	return t == inventory.PrivateImage || t == inventory.SharedImage || t == inventory.InstanceImage
}

// Request queues a sync of every connection of imageType in the project,
// or joins the one already queued or running (joined=true).
func (s *Syncer) Request(ctx context.Context, projectID string, imageType inventory.ImageType) (jobs.Job, bool, error) {
	if !Syncable(imageType) {
		return jobs.Job{}, false, fmt.Errorf("registry: image type %q is not synchronized from registries", imageType)
	}
	payload, err := json.Marshal(syncPayload{ProjectID: projectID, ImageType: imageType})
	if err != nil {
		return jobs.Job{}, false, err
	}
	now := inventory.Millis(s.now())
	j, joined, err := s.queue.Enqueue(ctx, jobs.Job{
		Kind:      JobKind,
		Key:       projectID + "/" + string(imageType),
		ProjectID: projectID,
		Payload:   payload,
		State:     jobs.Queued,
		CreatedAt: now,
		UpdatedAt: now,
	})
	if err != nil {
		return jobs.Job{}, false, fmt.Errorf("registry: queue sync: %w", err)
	}
	return j, joined, nil
}

// Handle runs a sync job. A connection that fails is recorded on the
// connection, not returned: the job did its work. Errors are for the job
// itself (bad payload, store failures), worth a retry.
func (s *Syncer) Handle(ctx context.Context, j jobs.Job) error {
	if j.Kind != JobKind {
		return fmt.Errorf("registry: job %d has kind %q, not %q", j.ID, j.Kind, JobKind)
	}
	var p syncPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return fmt.Errorf("registry: job %d payload: %w", j.ID, err)
	}
	if p.ProjectID == "" {
		p.ProjectID = j.ProjectID
	}
	_, err := s.Sync(ctx, p.ProjectID, p.ImageType)
	return err
}

// Sync syncs every connection of imageType in the project, one after the
// other, and returns what happened to each. The error is for failures of
// the store (or a cancelled ctx), not of registries.
func (s *Syncer) Sync(ctx context.Context, projectID string, imageType inventory.ImageType) ([]Result, error) {
	if !Syncable(imageType) {
		return nil, fmt.Errorf("registry: image type %q is not synchronized from registries", imageType)
	}
	regs, err := s.store.RegistriesByImageType(ctx, projectID, imageType)
	if err != nil {
		return nil, fmt.Errorf("registry: registries of project %s: %w", projectID, err)
	}
	results := make([]Result, 0, len(regs))
	var storeErrs []error
	for _, reg := range regs {
		res, err := s.SyncRegistry(ctx, reg)
		results = append(results, res)
		if err != nil {
			storeErrs = append(storeErrs, err)
		}
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
	}
	return results, errors.Join(storeErrs...)
}

// SyncRegistry syncs one connection: status syncing, list, apply, then
// status success or fail. A registry failure is in Result.Err and on the
// connection; the returned error is for store failures.
func (s *Syncer) SyncRegistry(ctx context.Context, reg inventory.Registry) (Result, error) {
	start := s.now()
	res := Result{Registry: reg}
	log := s.log.With("registry", reg.ID, "addr", reg.Addr, "project", reg.ProjectID)
	if err := s.store.SetRegistryStatus(ctx, reg.ID, inventory.RegistrySyncing, "", reg.LatestSyncTime); err != nil {
		return res, fmt.Errorf("registry: mark %d syncing: %w", reg.ID, err)
	}
	finish := func(err error) (Result, error) {
		res.Duration = s.now().Sub(start)
		res.Err = err
		status, reason := inventory.RegistryOK, ""
		if err != nil {
			status, reason = inventory.RegistryFailed, FailReason(err)
			log.Warn("registry sync failed", "err", err)
		} else {
			log.Info("registry synced", "added", res.Changes.Added, "moved", res.Changes.Moved,
				"removed", res.Changes.Removed, "unchanged", res.Changes.Unchanged,
				"failed_repositories", len(res.Failed), "duration", res.Duration)
		}
		if s.metrics != nil {
			s.metrics.SyncDone(reg.ID, res.Changes, err, res.Duration)
		}
		// Record the outcome even when ctx was cancelled mid-sync, so that
		// the connection does not stay "syncing".
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		at := inventory.Millis(s.now())
		if serr := s.store.SetRegistryStatus(sctx, reg.ID, status, reason, at); serr != nil {
			return res, fmt.Errorf("registry: record sync of %d: %w", reg.ID, serr)
		}
		if serr := s.finishTasks(sctx, reg, err == nil, reason, at); serr != nil {
			return res, serr
		}
		return res, nil
	}

	password, err := s.box.Open(reg.PasswordSealed)
	if err != nil {
		return finish(err)
	}
	prev, err := s.store.StoredTags(ctx, reg.ProjectID, reg.ID)
	if err != nil {
		err = fmt.Errorf("registry: rows of %d: %w", reg.ID, err)
		r, serr := finish(err)
		return r, errors.Join(err, serr)
	}
	snap, err := s.lister.ListFrom(ctx, reg, password, prev)
	if err != nil {
		return finish(err)
	}
	res.Failed = snap.Failed
	res.Changes, err = s.store.ApplySync(ctx, snap)
	if err != nil {
		err = fmt.Errorf("registry: apply sync of %d: %w", reg.ID, err)
		r, serr := finish(err)
		return r, errors.Join(err, serr)
	}
	return finish(nil)
}

// finishTasks marks the end of reg's sync on the pending items of the
// project's running sync tasks that cover it.
func (s *Syncer) finishTasks(ctx context.Context, reg inventory.Registry, ok bool, reason string, at int64) error {
	if s.tasks == nil {
		return nil
	}
	_, err := s.tasks.FinishTaskItems(ctx, tasks.Finish{ProjectID: reg.ProjectID, Type: tasks.Sync, RefID: reg.ID,
		OK: ok, Reason: reason, At: at})
	if err != nil {
		return fmt.Errorf("registry: record sync of %d on its tasks: %w", reg.ID, err)
	}
	return nil
}
