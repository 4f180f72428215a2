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

// ErrLeaseLost is returned by Heartbeat, Finish and Release when the job is
// no longer held under the caller's lease (it expired and another claim,
// maybe by the same process, took the job as a later attempt).
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
	// NotBefore (ms; 0: none) is when the job may first be claimed: a
	// rate-limited scan task spaces its scans by it (docs/api.md,
	// "Tasks"). It is stored, so a restart keeps the spacing.
	NotBefore int64
}

// Lease names one claim of a job: the fencing token that Heartbeat, Finish
// and Release check. Owner alone is not enough: one process leases every
// job under one owner name, so after a stall longer than the lease its
// second worker may claim the job again; Attempt tells the two claims apart.
type Lease struct {
	ID      int64
	Owner   string
	Attempt int
}

// Lease returns the token of the claim that returned j.
func (j Job) Lease() Lease { return Lease{ID: j.ID, Owner: j.Owner, Attempt: j.Attempts} }

// Store persists jobs. Implementations must make Enqueue and Claim atomic, so
// that two API servers never create twin jobs and two workers never hold one
// job at once.
type Store interface {
	// Enqueue adds a job, unless a queued or running job with the same Kind
	// and Key exists: then that one is returned with joined=true, and a
	// queued one's NotBefore is lowered to j's when j's is earlier (a
	// request that wants the work now never waits behind a delayed one).
	Enqueue(ctx context.Context, j Job) (job Job, joined bool, err error)
	// Claim takes a queued job of one of kinds whose NotBefore is not after
	// now (the undelayed ones first, oldest first; then by NotBefore), or a
	// running one whose lease expired, counts an attempt and leases it to
	// owner for lease. NotBefore is judged by now on every store: it
	// spaces work, it guards nothing, so hosts' clocks disagreeing by
	// seconds do no harm. Leases differ: a store used from one host
	// (SQLite) judges them by now; a store shared by hosts (PostgreSQL)
	// judges them by its own clock, so that a host whose clock runs ahead
	// cannot take a job another host still holds.
	Claim(ctx context.Context, kinds []string, owner string, now time.Time, lease time.Duration) (Job, error)
	// Heartbeat extends the lease l to now+lease (by the clock Claim uses),
	// if l is still the job's current claim.
	Heartbeat(ctx context.Context, l Lease, now time.Time, lease time.Duration) error
	// Finish ends the job of lease l, if l is still its current claim: Done
	// when errMsg is "", else Failed.
	Finish(ctx context.Context, l Lease, errMsg string, now time.Time) error
	// Release gives the job of lease l back to the queue at once (a
	// graceful stop), if l is still its current claim. The attempt is not
	// counted: the job did not fail, its worker went away.
	Release(ctx context.Context, l Lease, now time.Time) error
	// PurgeJobs deletes ended (done or failed) jobs last updated before
	// before, and returns how many.
	PurgeJobs(ctx context.Context, before time.Time) (int64, error)
	// GetJob returns a job by id.
	GetJob(ctx context.Context, id int64) (Job, error)
}
