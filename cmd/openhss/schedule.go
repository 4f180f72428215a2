package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/schedule"
	"github.com/openhss/openhss/internal/taskrun"
)

// scheduleOptions are serve's scheduler flags (docs/api.md, "Scan
// policies" and "Periodic sync").
type scheduleOptions struct {
	// syncInterval is the period of every project's sync; 0 turns the
	// periodic sync off.
	syncInterval time.Duration
	// tick is how often the scheduler looks for due runs.
	tick time.Duration
}

func addScheduleFlags(f *pflag.FlagSet, o *scheduleOptions) {
	f.DurationVar(&o.syncInterval, "sync-interval", schedule.DefaultSyncInterval,
		"how often every registry connection is synced as an autoSync task, e.g. 1h (0: never; a project's first periodic sync is one interval after it is first seen)")
	f.DurationVar(&o.tick, "schedule-tick", schedule.DefaultTick,
		"how often the scheduler looks for due scheduled scans and periodic syncs")
}

func (o scheduleOptions) validate() error {
	if o.syncInterval < 0 {
		return fmt.Errorf("--sync-interval %s: must be 0 (off) or positive", o.syncInterval)
	}
	if o.tick <= 0 {
		return fmt.Errorf("--schedule-tick %s: must be positive", o.tick)
	}
	return nil
}

// scheduler builds the scheduler over the app's store and registers its
// jobs on runner: every serve process with workers runs one, and the store
// decides which process starts each run.
func (a *app) scheduler(o scheduleOptions, runner *jobs.Runner, starter *taskrun.Starter) (*schedule.Scheduler, error) {
	sch, err := schedule.New(schedule.Options{
		Store:        a.store,
		Tasks:        starter,
		SyncInterval: o.syncInterval,
		Wake:         runner.Wake,
		Logger:       a.log,
	})
	if err != nil {
		return nil, err
	}
	runner.Handle(schedule.ScanKind, sch.HandleScan)
	runner.Handle(schedule.SyncKind, sch.HandleSync)
	return sch, nil
}
