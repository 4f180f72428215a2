package scanjob

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/tasks"
)

// ScanAllKind is the job kind of "scan every row a filter selects"
// (batch-scan with operate_all); key: the project and a hash of the filter.
const ScanAllKind = "scan-all"

// Defaults of ScanAll.
const (
	// DefaultScanAllPage is how many rows one list query of a scan-all
	// job reads.
	DefaultScanAllPage = 1000
	// DefaultScanAllBatch is about how many manifest digests one call of
	// Request queues.
	DefaultScanAllBatch = 500
)

// ImageLister lists inventory rows (inventory.Store's ListImages).
type ImageLister interface {
	ListImages(ctx context.Context, f inventory.Filter) (inventory.Page, error)
}

// ScanAll queues the scans of every row a filter selects as one durable
// job. The API cannot do it while the client waits: a project of 100,000
// rows took over two minutes to list and queue, past the server's write
// timeout. The request queues one job carrying the filter and answers; the
// job lists the rows and queues their scans in batches.
type ScanAll struct {
	svc         *Service
	list        ImageLister
	page, batch int
}

// ScanAllOptions configure a ScanAll. Service and Lister are required.
type ScanAllOptions struct {
	// Service queues the scans (and the scan-all job itself).
	Service *Service
	// Lister lists the rows the filter selects.
	Lister ImageLister
	// Page and Batch default to DefaultScanAllPage and DefaultScanAllBatch.
	Page, Batch int
}

// NewScanAll returns the scan-all queue of o.Service, listing rows with
// o.Lister.
func NewScanAll(o ScanAllOptions) (*ScanAll, error) {
	switch {
	case o.Service == nil:
		return nil, errors.New("scanjob: ScanAllOptions.Service is required")
	case o.Lister == nil:
		return nil, errors.New("scanjob: ScanAllOptions.Lister is required")
	case o.Page < 0 || o.Batch < 0:
		return nil, fmt.Errorf("scanjob: negative scan-all page %d or batch %d", o.Page, o.Batch)
	}
	return &ScanAll{svc: o.Service, list: o.Lister,
		page: cmp.Or(o.Page, DefaultScanAllPage), batch: cmp.Or(o.Batch, DefaultScanAllBatch)}, nil
}

// scanAllPayload is a scan-all job's JSON payload.
type scanAllPayload struct {
	Filter inventory.Filter `json:"filter"`
	// TaskID is the scan task the job lists its rows into ("" for none).
	TaskID string `json:"task_id,omitempty"`
}

// Request queues a scan of every row of projectID that f selects (f's
// paging is ignored), or joins the same request already queued or running.
func (a *ScanAll) Request(ctx context.Context, projectID string, f inventory.Filter) (jobs.Job, bool, error) {
	return a.RequestTask(ctx, projectID, "", f)
}

// RequestTask is Request for the scan task taskID, still listing: the job
// adds the rows it selects to the task as its items, and ends the
// listing. A task's job is its own (its key holds the task), never joined
// by another task's; the scans it queues are joined as usual.
func (a *ScanAll) RequestTask(ctx context.Context, projectID, taskID string, f inventory.Filter) (jobs.Job, bool, error) {
	f.ProjectID, f.Offset, f.Limit = projectID, 0, 0
	p, err := json.Marshal(scanAllPayload{Filter: f, TaskID: taskID})
	if err != nil {
		return jobs.Job{}, false, fmt.Errorf("scanjob: scan-all payload: %w", err)
	}
	sum := sha256.Sum256(p)
	now := inventory.Millis(a.svc.o.Now())
	j, joined, err := a.svc.scans.Enqueue(ctx, jobs.Job{
		Kind: ScanAllKind, Key: projectID + "/" + hex.EncodeToString(sum[:16]), ProjectID: projectID, Payload: p,
		State: jobs.Queued, CreatedAt: now, UpdatedAt: now,
	})
	if err != nil {
		return jobs.Job{}, false, fmt.Errorf("scanjob: queue scan-all in project %s: %w", projectID, err)
	}
	if a.svc.o.Wake != nil {
		a.svc.o.Wake()
	}
	return j, joined, nil
}

// Handle runs a scan-all job: it lists every selected row first (queueing
// changes the rows' scan status, which a filter may select on, so listing
// and queueing interleaved would skip rows), leaves out what is not an
// image, and queues one scan per manifest digest through Request, all the
// rows of one digest in the same call. Run again after an interruption, it
// starts over; scans still queued or running are joined, not doubled.
func (a *ScanAll) Handle(ctx context.Context, j jobs.Job) error {
	if j.Kind != ScanAllKind {
		return fmt.Errorf("scanjob: job %d has kind %q, not %q", j.ID, j.Kind, ScanAllKind)
	}
	var p scanAllPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return fmt.Errorf("scanjob: job %d payload: %w", j.ID, err)
	}
	f := p.Filter
	if f.ProjectID == "" || f.ProjectID != j.ProjectID {
		return fmt.Errorf("scanjob: job %d: filter of project %q in a job of project %q", j.ID, f.ProjectID, j.ProjectID)
	}
	f.Offset, f.Limit = 0, a.page
	var rows []inventory.Image
	for {
		page, err := a.list.ListImages(ctx, f)
		if err != nil {
			return fmt.Errorf("scanjob: list images to scan: %w", err)
		}
		for _, img := range page.Images {
			if !img.Scannable && img.ScanStatus != inventory.ImageOversized {
				continue // not a container image
			}
			// Only what Request reads: 100,000 whole rows would be
			// hundreds of MB.
			rows = append(rows, inventory.Image{
				ID: img.ID, Type: img.Type, RegistryID: img.RegistryID,
				Namespace: img.Namespace, Name: img.Name, Tag: img.Tag,
				Digest: img.Digest, ManifestDigest: img.ManifestDigest,
			})
		}
		if len(page.Images) < f.Limit {
			break
		}
		f.Offset += f.Limit
	}
	slices.SortStableFunc(rows, func(x, y inventory.Image) int { return cmp.Compare(scanDigest(x), scanDigest(y)) })
	if p.TaskID != "" && a.svc.o.Tasks != nil {
		// The items exist before their scans are queued, so that no scan
		// can end unseen by the task.
		err := a.svc.o.Tasks.AddTaskItems(ctx, j.ProjectID, p.TaskID, tasks.ScanItems(rows), true, inventory.Millis(a.svc.o.Now()))
		if errors.Is(err, tasks.ErrEnded) || errors.Is(err, tasks.ErrNotFound) {
			// Stopped (or gone) before its listing: nothing to queue.
			a.svc.o.Log.Info("scan-all of an ended task", "job", j.ID, "task", p.TaskID)
			return nil
		}
		if err != nil {
			return fmt.Errorf("scanjob: scan-all job %d: items of task %s: %w", j.ID, p.TaskID, err)
		}
	}
	// One spacing for every batch: the task's i-th rate-limited image is
	// counted across them.
	sp, err := a.svc.spacingOf(ctx, j.ProjectID, p.TaskID)
	if err != nil {
		return fmt.Errorf("scanjob: scan-all job %d: %w", j.ID, err)
	}
	queued := 0
	for start := 0; start < len(rows); {
		end, digests := start, 0
		for end < len(rows) && (digests < a.batch || scanDigest(rows[end]) == scanDigest(rows[end-1])) {
			if end == start || scanDigest(rows[end]) != scanDigest(rows[end-1]) {
				digests++
			}
			end++
		}
		tk, err := a.svc.request(ctx, j.ProjectID, rows[start:end], sp)
		if err != nil {
			return fmt.Errorf("scanjob: scan-all job %d: %w", j.ID, err)
		}
		queued += len(tk)
		start = end
	}
	a.svc.o.Log.Info("scan-all queued", "job", j.ID, "project", j.ProjectID, "rows", len(rows), "digests", queued)
	return nil
}

// scanDigest is the digest Request queues a row's scan under.
func scanDigest(img inventory.Image) string {
	if img.ManifestDigest != "" {
		return img.ManifestDigest
	}
	return img.Digest
}
