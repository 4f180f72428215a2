package registry

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
)

// Abandon is the jobs.AbandonHandler of sync jobs. SyncRegistry marks a
// connection "syncing" before listing it and records the outcome after;
// a worker that dies in between (kill -9, OOM) leaves "syncing" behind,
// and once the runner gives up on the job nothing else would ever change
// it. Abandon fails every connection of the job's project and image type
// that still shows "syncing", saying the sync was abandoned, and leaves the
// ones an earlier attempt finished alone. It is idempotent.
func (s *Syncer) Abandon(ctx context.Context, j jobs.Job, reason string) error {
	if j.Kind != JobKind {
		return fmt.Errorf("registry: job %d has kind %q, not %q", j.ID, j.Kind, JobKind)
	}
	var p syncPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		// Nothing can be cleaned up after a job that never could run.
		s.log.Error("abandoned sync job has a bad payload", "job", j.ID, "err", err)
		return nil
	}
	if p.ProjectID == "" {
		p.ProjectID = j.ProjectID
	}
	regs, err := s.store.RegistriesByImageType(ctx, p.ProjectID, p.ImageType)
	if err != nil {
		return fmt.Errorf("registry: registries of project %s: %w", p.ProjectID, err)
	}
	failReason := fmt.Sprintf("sync abandoned after %d attempts", j.Attempts-1)
	for _, reg := range regs {
		// The job's tasks end: every connection it did not finish fails
		// on them (a finished one's items are no longer pending).
		if err := s.finishTasks(ctx, reg, false, failReason, inventory.Millis(s.now())); err != nil {
			return err
		}
		if reg.Status != inventory.RegistrySyncing {
			continue
		}
		if err := s.store.SetRegistryStatus(ctx, reg.ID, inventory.RegistryFailed, failReason, inventory.Millis(s.now())); err != nil {
			return fmt.Errorf("registry: fail abandoned sync of %d: %w", reg.ID, err)
		}
		s.log.Warn("registry sync abandoned", "registry", reg.ID, "project", reg.ProjectID, "job", j.ID, "reason", reason)
	}
	return nil
}
