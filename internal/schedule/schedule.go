// Package schedule starts the work nobody asks for: each project's
// scheduled scans (its scan policy, package policy) and the periodic sync
// of its registry connections (serve --sync-interval). Every openhss serve
// process with workers runs a Scheduler; the store decides which one starts
// each run, so a run starts once however many processes share the database
// (docs/api.md, "Scan policies" and "Periodic sync").
//
// A run is claimed and queued in one transaction: the claim moves the
// project's next due time from the time it fell due to the claim time plus
// the period (a conditional UPDATE that only one claimer can make), and the
// same transaction inserts a durable job keyed by the project and the time
// it fell due. A crash leaves both or neither. The job then starts the task
// under an id derived from its key, so a job that runs again after a crash
// finds its task instead of making a second one. Because the next due time
// is the claim time plus the period, runs missed while every server was
// down collapse into one catch-up run at the next start.
package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/policy"
	"github.com/openhss/openhss/internal/taskrun"
	"github.com/openhss/openhss/internal/tasks"
)

// Job kinds of the runs the scheduler queues.
const (
	ScanKind = "cycle-scan" // a policy's scheduled scan; key: project/due
	SyncKind = "auto-sync"  // a project's periodic sync; key: project/due
)

// Defaults.
const (
	// DefaultSyncInterval is serve --sync-interval's default.
	DefaultSyncInterval = time.Hour
	// DefaultTick is how often Run looks for due runs.
	DefaultTick = 30 * time.Second
	// batch bounds the due runs one tick reads per kind; the rest wait for
	// the next tick.
	batch = 500
)

// Store is what the scheduler needs of the store.
type Store interface {
	// DueScanPolicies returns up to limit enabled policies due at now (ms).
	DueScanPolicies(ctx context.Context, now int64, limit int) ([]policy.Policy, error)
	// ClaimScanRun moves the project's next run from due to next, if it is
	// still due, and queues j, in one transaction; false when another
	// claim got there first (nothing queued).
	ClaimScanRun(ctx context.Context, projectID string, due, next int64, j jobs.Job) (bool, error)
	// DueSyncs returns up to limit projects with connections whose periodic
	// sync is due at now (ms), and when it fell due; a project seen for
	// the first time is given its first sync at first (ms).
	DueSyncs(ctx context.Context, now, first int64, limit int) (map[string]int64, error)
	// ClaimSync is ClaimScanRun for the periodic sync.
	ClaimSync(ctx context.Context, projectID string, due, next int64, j jobs.Job) (bool, error)
	// RegistriesByImageType lists the connections a periodic sync covers.
	RegistriesByImageType(ctx context.Context, projectID string, t inventory.ImageType) ([]inventory.Registry, error)
}

// Options configure a Scheduler. Store and Tasks are required.
type Options struct {
	Store Store
	// Tasks starts the tasks: a scheduled scan's through the scan-all job
	// (StartScanAll, the path of CreateManualImageScanTask with is_all).
	Tasks *taskrun.Starter
	// SyncInterval is the period of every project's sync; 0 disables the
	// periodic sync.
	SyncInterval time.Duration
	// Now is the scheduler's clock (default time.Now): injectable, so that
	// tests move it by days without waiting.
	Now func() time.Time
	// Wake is called after queueing runs (the runner's Wake), may be nil.
	Wake   func()
	Logger *slog.Logger // default slog.Default()
}

// Scheduler claims due runs and runs their jobs.
type Scheduler struct {
	o Options
}

// New returns a Scheduler.
func New(o Options) (*Scheduler, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("schedule: Options.Store is required")
	case o.Tasks == nil:
		return nil, errors.New("schedule: Options.Tasks is required")
	case o.SyncInterval < 0:
		return nil, fmt.Errorf("schedule: negative sync interval %s", o.SyncInterval)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Scheduler{o: o}, nil
}

// scanPayload is a cycle-scan job's payload: the policy as it was when the
// run was claimed, so that every run of the job starts the same task.
type scanPayload struct {
	Due       int64   `json:"due"`
	Start     int64   `json:"start"`
	ScanScope int32   `json:"scan_scope"`
	RateLimit int32   `json:"rate_limit"`
	TimeScope int32   `json:"time_scope"`
	Registry  []int64 `json:"registry_ids"`
}

// syncPayload is an auto-sync job's payload.
type syncPayload struct {
	Due   int64 `json:"due"`
	Start int64 `json:"start"`
}

func slotKey(projectID string, due int64) string {
	return projectID + "/" + strconv.FormatInt(due, 10)
}

// TaskID is the id of the task a run of kind starts: derived from the job
// key, so that the job run again finds it. 26 base-32 characters, as the
// random ids of the other tasks.
func TaskID(kind, projectID string, due int64) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + slotKey(projectID, due)))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16])
}

// Tick claims every run due now, and returns how many it claimed (the
// others were claimed by other processes, or are left for the next tick
// past the batch). Errors of single claims are logged; the first is
// returned after the others were tried.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	now := s.o.Now()
	at := inventory.Millis(now)
	var first error
	note := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	claimed := 0
	due, err := s.o.Store.DueScanPolicies(ctx, at, batch)
	note(err)
	for _, p := range due {
		payload, err := json.Marshal(scanPayload{Due: p.NextRunAt, Start: at, ScanScope: p.ScanScope,
			RateLimit: p.RateLimit, TimeScope: p.TimeScope, Registry: p.RegistryIDs})
		if err != nil {
			note(err)
			continue
		}
		next := now.Add(p.Cycle())
		ok, err := s.o.Store.ClaimScanRun(ctx, p.ProjectID, p.NextRunAt, inventory.Millis(next), s.job(ScanKind, p.ProjectID, p.NextRunAt, payload, at))
		if err != nil {
			s.o.Logger.Error("claim scheduled scan", "project", p.ProjectID, "err", err)
			note(err)
			continue
		}
		if ok {
			claimed++
			s.o.Logger.Info("scheduled scan due", "project", p.ProjectID, "due", p.NextRunAt, "next", inventory.Millis(next))
		}
	}
	if s.o.SyncInterval > 0 {
		// A project's first periodic sync is an interval away: a server
		// started with the flag for the first time must not sync every
		// registry of every project at once.
		slots, err := s.o.Store.DueSyncs(ctx, at, inventory.Millis(now.Add(s.o.SyncInterval)), batch)
		note(err)
		for project, d := range slots {
			payload, err := json.Marshal(syncPayload{Due: d, Start: at})
			if err != nil {
				note(err)
				continue
			}
			next := inventory.Millis(now.Add(s.o.SyncInterval))
			ok, err := s.o.Store.ClaimSync(ctx, project, d, next, s.job(SyncKind, project, d, payload, at))
			if err != nil {
				s.o.Logger.Error("claim periodic sync", "project", project, "err", err)
				note(err)
				continue
			}
			if ok {
				claimed++
			}
		}
	}
	if claimed > 0 && s.o.Wake != nil {
		s.o.Wake()
	}
	return claimed, first
}

func (s *Scheduler) job(kind, projectID string, due int64, payload []byte, at int64) jobs.Job {
	return jobs.Job{Kind: kind, Key: slotKey(projectID, due), ProjectID: projectID, Payload: payload,
		State: jobs.Queued, CreatedAt: at, UpdatedAt: at}
}

// Run ticks now and then every tick (DefaultTick when 0) until ctx ends.
func (s *Scheduler) Run(ctx context.Context, tick time.Duration) {
	if tick <= 0 {
		tick = DefaultTick
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.o.Logger.Error("scheduler tick", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// HandleScan runs a cycle-scan job: it starts the cycle scan task of the
// run (once: its id is the run's) over the images of the selected
// connections (updated within time_scope days of the run's start, when
// set), through the scan-all job that CreateManualImageScanTask's is_all
// uses.
func (s *Scheduler) HandleScan(ctx context.Context, j jobs.Job) error {
	if j.Kind != ScanKind {
		return fmt.Errorf("schedule: job %d has kind %q, not %q", j.ID, j.Kind, ScanKind)
	}
	var p scanPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return fmt.Errorf("schedule: job %d payload: %w", j.ID, err)
	}
	ids := p.Registry
	if ids == nil {
		ids = []int64{} // none selected: the task covers nothing
	}
	f := inventory.Filter{ProjectID: j.ProjectID, RegistryIDs: ids}
	if p.TimeScope > 0 {
		from := p.Start - int64(p.TimeScope)*24*int64(time.Hour/time.Millisecond)
		f.StartLatestUpdateTime = &from
	}
	t := tasks.Task{ID: TaskID(ScanKind, j.ProjectID, p.Due), ProjectID: j.ProjectID, Kind: tasks.Cycle,
		BeginTime: p.Start, ScanScope: p.ScanScope, RateLimit: p.RateLimit}
	task, err := s.o.Tasks.StartScanAll(ctx, t, f)
	if err != nil {
		return err
	}
	s.o.Logger.Info("scheduled scan started", "project", j.ProjectID, "task", task.ID, "registries", len(ids))
	return nil
}

// HandleSync runs an auto-sync job: it starts the autoSync task of the run
// (once) over every connection of the project and queues their syncs.
func (s *Scheduler) HandleSync(ctx context.Context, j jobs.Job) error {
	if j.Kind != SyncKind {
		return fmt.Errorf("schedule: job %d has kind %q, not %q", j.ID, j.Kind, SyncKind)
	}
	var p syncPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return fmt.Errorf("schedule: job %d payload: %w", j.ID, err)
	}
	var regs []inventory.Registry
	for _, t := range taskrun.SyncImageTypes {
		r, err := s.o.Store.RegistriesByImageType(ctx, j.ProjectID, t)
		if err != nil {
			return fmt.Errorf("schedule: registries of project %s: %w", j.ProjectID, err)
		}
		regs = append(regs, r...)
	}
	task, err := s.o.Tasks.StartSync(ctx, tasks.Task{ID: TaskID(SyncKind, j.ProjectID, p.Due), ProjectID: j.ProjectID,
		Kind: tasks.AutoSync, BeginTime: p.Start}, regs)
	if err != nil {
		return err
	}
	s.o.Logger.Info("periodic sync started", "project", j.ProjectID, "task", task.ID, "registries", len(regs))
	return nil
}
