// Package tasks holds sync and scan tasks as records: what a client asked
// for (a sync of some registry connections, a scan of some images), the
// items it covers, and how far they got. Jobs (package jobs) do the work;
// a task only watches: the sync and scan handlers mark a task's items as
// they finish, and a task's status and counts derive from its items.
package tasks

import (
	"context"
	"errors"

	"github.com/openhss/openhss/internal/inventory"
)

// Type is what a task does (ListImageScanTask's `type`).
type Type string

// Types.
const (
	Sync Type = "image_sync"
	Scan Type = "image_scan"
)

// Valid reports whether t is a known type.
func (t Type) Valid() bool { return t == Sync || t == Scan }

// Kind is how a task was started (the SDK's task_type).
type Kind string

// Kinds.
const (
	Manual     Kind = "manual"     // a manual scan
	Cycle      Kind = "cycle"      // a scheduled scan
	ManualSync Kind = "manualSync" // a manual sync
	AutoSync   Kind = "autoSync"   // a scheduled sync
)

// ValidFor reports whether k is a kind of a task of type t.
func (k Kind) ValidFor(t Type) bool {
	switch t {
	case Sync:
		return k == ManualSync || k == AutoSync
	case Scan:
		return k == Manual || k == Cycle
	}
	return false
}

// State is the stored lifecycle of a task.
type State string

// States. Running until every item ended (Finished), unless stopped by a
// client, failed as a whole (Error: its items could not be queued) or
// timed out (still running past the server's task timeout).
const (
	Running  State = "running"
	Finished State = "finished"
	Stopped  State = "stopped"
	Failed   State = "error"
	TimedOut State = "timed_out"
)

// TimedOutReason is the failed_reason of a timed-out task and of its items
// that had not ended.
const TimedOutReason = "task timed out"

// Item states.
const (
	ItemPending   = "pending"
	ItemSuccess   = "success"
	ItemFailed    = "failed"
	ItemCancelled = "cancelled" // its task was stopped before it ended
)

// Task is one sync or scan task.
type Task struct {
	ID        string
	ProjectID string
	Type      Type
	Kind      Kind
	Name      string
	ImageType string // "registry" or "local"
	State     State
	// Listing is true while a job is still adding the task's items (a
	// scan of every image a filter selects): the task cannot end before.
	Listing   bool
	ScanScope int32
	RateLimit int32
	IsAll     bool
	// Counts of the items, kept by the store as items end.
	TotalNum, SuccessNum, FailedNum, RiskyNum int32
	BeginTime, EndTime                        int64 // ms; EndTime 0 while running
	FailedReason                              string
}

// Status is the SDK's task_status: 100 finished, 0–99 the share of items
// ended, -1 stopped, -2 timed out, -3 error. A task still listing its
// items is 0.
func (t Task) Status() int32 {
	switch t.State {
	case Finished:
		return 100
	case Stopped:
		return -1
	case TimedOut:
		return -2
	case Failed:
		return -3
	}
	if t.Listing || t.TotalNum == 0 {
		return 0
	}
	p := (t.SuccessNum + t.FailedNum) * 100 / t.TotalNum
	return min(p, 99) // 100 only once the store marks it finished
}

// Ended reports whether the task will not change any more.
func (t Task) Ended() bool { return t.State != Running }

// Item is one thing a task covers: a registry connection (sync) or an image
// row (scan).
type Item struct {
	TaskID string
	// RefID is the registry connection's id (sync) or the image row's id
	// (scan).
	RefID int64
	// Digest is the manifest digest a scan item's scan job runs under.
	Digest       string
	RegistryID   int64
	RegistryName string
	RegistryType string
	Namespace    string
	ImageName    string
	ImageVersion string
	State        string
	Risky        bool
	FailedReason string
	FinishedAt   int64
}

// Filter selects tasks of one project and type.
type Filter struct {
	ProjectID string
	Type      Type
	Kind      Kind   // "" for any
	ImageType string // "" for any
	TaskID    string // exact
	Name      string // substring
	// Ended: nil any, true ended tasks, false running ones.
	Ended *bool
	// ScanScope, when non-nil, is matched exactly.
	ScanScope *int32
	// CreatedFrom keeps tasks begun at or after it (ms); EndedBy keeps
	// tasks ended at or before it (ms). 0: no bound.
	CreatedFrom, EndedBy int64
	Offset, Limit        int
}

// ItemFilter selects the items of one task.
type ItemFilter struct {
	ProjectID, TaskID string
	RegistryName      string   // substring
	RegistryTypes     []string // any of them; empty: all
	States            []string // any of them; empty: all
	Offset, Limit     int
}

// SyncStatusStates are the item states of a sync task's connections
// that ListAssociateRegistries' sync_status names (finished, running,
// failed); an item cancelled with its task counts as failed. ok is false
// for another status.
func SyncStatusStates(status string) (states []string, ok bool) {
	switch status {
	case "finished":
		return []string{ItemSuccess}, true
	case "running":
		return []string{ItemPending}, true
	case "failed":
		return []string{ItemFailed, ItemCancelled}, true
	}
	return nil, false
}

// SyncStatus is a sync item's state as ListAssociateRegistries'
// sync_status.
func SyncStatus(state string) string {
	switch state {
	case ItemSuccess:
		return "finished"
	case ItemPending:
		return "running"
	}
	return "failed"
}

// SyncFailedReason is a sync item's failed_reason, with the reason of an
// item cancelled with its task when it has none.
func SyncFailedReason(it Item) string {
	if it.State == ItemCancelled && it.FailedReason == "" {
		return "the task ended before this registry was synced"
	}
	return it.FailedReason
}

// Finish is the end of one registry's sync or one digest's scan, to mark on
// the pending items of the project's running tasks of Type.
type Finish struct {
	ProjectID string
	Type      Type
	// RefID (sync: the registry connection) or Digest (scan) selects the
	// items.
	RefID  int64
	Digest string
	// OK: success; otherwise failed with Reason.
	OK     bool
	Reason string
	At     int64
	// Missing, when not 0, are the scan_scope bits of the parts the scan
	// did not run: the items of a task whose scan_scope has any of them
	// stay pending (its scan is not done; see WaitingScanScope).
	Missing int32
}

// ErrNotFound is the error of a task that is not one of the project's.
var ErrNotFound = errors.New("task not found")

// ErrEnded is the error of stopping a task that already ended.
var ErrEnded = errors.New("task already ended")

// Store persists tasks and their items.
type Store interface {
	// CreateTask stores t and its items (pending) in one transaction. A
	// task with no items and not Listing is Finished at once.
	CreateTask(ctx context.Context, t Task, items []Item) (Task, error)
	// AddTaskItems adds pending items to a task (items already there are
	// kept as they are); last ends the listing.
	AddTaskItems(ctx context.Context, projectID, taskID string, items []Item, last bool, at int64) error
	GetTask(ctx context.Context, projectID, id string) (Task, error)
	// ListTasks returns one page of the tasks f selects, newest first, and
	// how many it selects.
	ListTasks(ctx context.Context, f Filter) ([]Task, int64, error)
	// ListTaskItems returns one page of a task's items, in the order they
	// were added, and how many f selects.
	ListTaskItems(ctx context.Context, f ItemFilter) ([]Item, int64, error)
	// FinishTaskItems marks what f says on the matching pending items of
	// the project's running tasks and updates their counts; a task whose
	// last item ended is Finished. It returns how many items it marked.
	FinishTaskItems(ctx context.Context, f Finish) (int64, error)
	// EndTask ends a running task as Stopped or Failed (with reason),
	// cancelling its pending items, and returns them: ErrNotFound when it
	// is not the project's, ErrEnded (changing nothing) when it had ended.
	EndTask(ctx context.Context, projectID, id string, s State, reason string, at int64) ([]Item, error)
	// WaitingScanScope returns the union (bitwise OR) of the scan_scope
	// of the project's running scan tasks that have a pending item of
	// digest, and whether there is any such task: the parts the scan of
	// digest is to run, decided when it runs, as tasks asking for one
	// digest share one scan job.
	WaitingScanScope(ctx context.Context, projectID, digest string) (scope int32, waiting bool, err error)
	// CancelTaskScans cancels (fails, saying so) the queued and running
	// jobs of kind keyed inventory.ScanJobKey(projectID, digest) of the
	// digests no running scan task of the project still waits for, and
	// returns the digests whose job it cancelled. A running job's worker
	// stops at its next heartbeat, when it finds its lease gone.
	CancelTaskScans(ctx context.Context, projectID, kind string, digests []string, at int64) ([]string, error)
	// TimeOutTasks ends as TimedOut every running task (of any project)
	// begun before cutoff (ms), failing its pending items with
	// TimedOutReason at at, and returns those tasks with the items it
	// failed. Each task times out once however many servers sweep at
	// once: a conditional update on its state decides.
	TimeOutTasks(ctx context.Context, cutoff, at int64) ([]Expired, error)
}

// Expired is a task TimeOutTasks ended, with the items it failed.
type Expired struct {
	Task  Task
	Items []Item
}

// ScanItems are the scan task items of image rows: one per row with a
// digest to scan (the manifest digest, or the digest of a row without one),
// the digest the scan job of the row runs under; a row without any is
// never scanned and is left out.
func ScanItems(rows []inventory.Image) []Item {
	out := make([]Item, 0, len(rows))
	for _, img := range rows {
		d := img.ManifestDigest
		if d == "" {
			d = img.Digest
		}
		if d == "" {
			continue
		}
		out = append(out, Item{RefID: img.ID, Digest: d, RegistryID: img.RegistryID,
			Namespace: img.Namespace, ImageName: img.Name, ImageVersion: img.Tag})
	}
	return out
}

// ScanScopeAll is the scan_scope of a scan of every risk type: the default
// of a scan task (docs/api.md, Tasks).
const ScanScopeAll = 0x7fffffff
