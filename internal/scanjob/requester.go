package scanjob

import (
	"context"

	"github.com/openhss/openhss/internal/inventory"
)

// Requester is how the API, the console and task runs ask for scans
// (hssapi.ScanRequester, taskrun.ScanRequester): a task's images go to the
// scan service, a filter's rows to its scan-all queue.
type Requester struct{ all *ScanAll }

// Requester returns the Requester of a and its scan service.
func (a *ScanAll) Requester() Requester { return Requester{a} }

// RequestScans queues the scans of images for the scan task taskID ("" for
// none).
func (r Requester) RequestScans(ctx context.Context, projectID, taskID string, images []inventory.Image) error {
	_, err := r.all.svc.RequestTask(ctx, projectID, taskID, images)
	return err
}

// CancelScans cancels the project's queued scans of digests and returns
// the digests it cancelled.
func (r Requester) CancelScans(ctx context.Context, projectID string, digests []string) ([]string, error) {
	return r.all.svc.Cancel(ctx, projectID, digests)
}

// RequestScanAll queues, as one job, the scans of every row f selects for
// the scan task taskID.
func (r Requester) RequestScanAll(ctx context.Context, projectID, taskID string, f inventory.Filter) error {
	_, _, err := r.all.RequestTask(ctx, projectID, taskID, f)
	return err
}
