package scanjob

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/scanresult"
)

// Abandon is the jobs.AbandonHandler of scan jobs: the runner gives up on
// a job whose workers kept dying under it (an image that kills the
// process, say). The job's rows are left to Sweep, which fails them once
// the job has ended; the items of the project's tasks waiting for the
// digest are failed here, saying why, so that those tasks end instead of
// waiting for a scan nobody will run (docs/api.md, Tasks). It is
// idempotent: an item already ended is not pending any more.
func (s *Service) Abandon(ctx context.Context, j jobs.Job, reason string) error {
	if j.Kind != JobKind {
		return fmt.Errorf("scanjob: job %d has kind %q, not %q", j.ID, j.Kind, JobKind)
	}
	var p payload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		// Nothing can be cleaned up after a job that never could run.
		s.o.Log.Error("abandoned scan job has a bad payload", "job", j.ID, "err", err)
		return nil
	}
	if p.Digest == "" {
		p.Digest = j.Key
	}
	project := j.ProjectID
	if project == "" && len(p.Sources) > 0 {
		project = p.Sources[0].ProjectID
	}
	r := inventory.ScanResult{Status: inventory.ScanFailed, ScanTime: inventory.Millis(s.o.Now()),
		FailedDesc: fmt.Sprintf("scan abandoned after %d attempts", j.Attempts-1)}
	if err := s.finishTasks(ctx, project, p.Digest, r, scanresult.ScopeAll); err != nil {
		return err
	}
	s.o.Log.Warn("scan abandoned", "job", j.ID, "project", project, "digest", p.Digest, "reason", reason)
	return nil
}
