// Package jobs is openhss's durable work queue: sync and scan requests are
// rows in the store, so a request made before a crash is still carried out
// after a restart. Workers hold a job under a lease that they renew with a
// heartbeat; a job whose worker died is taken again once its lease expires.
package jobs

import (
	"context"
	"errors"
	"time"
)

// ErrNoJob is returned by Claim when nothing is ready.
var ErrNoJob = errors.New("no job ready")

// ErrLeaseLost is returned by Heartbeat and Finish when the job is no longer
// held by the caller (its lease expired and another worker took it).
var ErrLeaseLost = errors.New("job lease lost")

// State of a job.
type State string

const (
	Queued  State = "queued"
	Running State = "running"
	Done    State = "done"
	Failed  State = "failed"
)

// Job is one unit of durable work.
type Job struct {
	ID        int64
	Kind      string // "sync", "scan", ...
	Key       string // dedupe key: at most one queued or running job per (Kind, Key)
	ProjectID string
	Payload   []byte // kind-specific JSON
	State     State
	Attempts  int
	Owner     string // worker holding the lease
	LeaseTill int64  // ms
	Error     string
	CreatedAt int64 // ms
	UpdatedAt int64 // ms
}

// Store persists jobs. Implementations must make Enqueue and Claim atomic, so
// that two API servers never create twin jobs and two workers never hold one
// job at once.
type Store interface {
	// Enqueue adds a job, unless a queued or running job with the same Kind
	// and Key exists: then that one is returned with joined=true.
	Enqueue(ctx context.Context, j Job) (job Job, joined bool, err error)
	// Claim takes the oldest queued job of one of kinds, or a running one
	// whose lease expired before now, and leases it to owner until now+lease.
	Claim(ctx context.Context, kinds []string, owner string, now time.Time, lease time.Duration) (Job, error)
	// Heartbeat extends the lease of a job the owner holds.
	Heartbeat(ctx context.Context, id int64, owner string, until time.Time) error
	// Finish ends a job the owner holds: Done when errMsg is "", else Failed.
	Finish(ctx context.Context, id int64, owner string, errMsg string, now time.Time) error
	// GetJob returns a job by id.
	GetJob(ctx context.Context, id int64) (Job, error)
}
