package scanjob

import (
	"context"
	"errors"
	"fmt"

	"github.com/openhss/openhss/internal/inventory"
)

// A scan task's rate_limit (images per hour, 0: none) spaces the pulls of
// its images from third-party registries (docs/api.md, "Tasks"): the i-th
// such image of the task (from 0, in the order the task queues them) is
// not claimed before the task's begin time + i hours / rate_limit. The
// spacing is each scan job's not_before, so it is durable: a restart keeps
// it, and a scan-all job run again after an interruption computes the same
// times (its rows are sorted) and joins its own jobs.

// hourMs is an hour in ms.
const hourMs = 3_600_000

// RequestTask is Request for the scan task taskID: when the task has a
// rate_limit, the scans of its images read from third-party registry
// connections are spaced as the rate says. The rate is the task
// record's, so every caller that names a task gets it.
func (s *Service) RequestTask(ctx context.Context, projectID, taskID string, images []inventory.Image) ([]Ticket, error) {
	sp, err := s.spacingOf(ctx, projectID, taskID)
	if err != nil {
		return nil, err
	}
	return s.request(ctx, projectID, images, sp)
}

// spacing hands out the not_before times of one task's rate-limited
// scans. A nil *spacing delays nothing.
type spacing struct {
	s           *Service
	begin, rate int64
	next        int64 // index of the next rate-limited image
	limited     map[int64]bool
}

// spacingOf returns the spacing of the task taskID (nil when it has no
// rate_limit, or taskID is "").
func (s *Service) spacingOf(ctx context.Context, projectID, taskID string) (*spacing, error) {
	if taskID == "" || s.o.Tasks == nil {
		return nil, nil
	}
	t, err := s.o.Tasks.GetTask(ctx, projectID, taskID)
	if err != nil {
		return nil, fmt.Errorf("scanjob: rate limit of task %s: %w", taskID, err)
	}
	if t.RateLimit <= 0 {
		return nil, nil
	}
	return &spacing{s: s, begin: t.BeginTime, rate: int64(t.RateLimit), limited: map[int64]bool{}}, nil
}

// notBefore is the not_before of the scan of an image whose job reads src
// first: 0 unless src is a third-party registry connection (HSS's
// rate_limit is for those: SWR's own registries and local files are not
// throttled); else the next slot of the task's rate.
func (sp *spacing) notBefore(ctx context.Context, src Source) (int64, error) {
	if sp == nil || src.RegistryID == 0 {
		return 0, nil
	}
	limited, ok := sp.limited[src.RegistryID]
	if !ok {
		reg, err := sp.s.scans.GetRegistry(ctx, src.ProjectID, src.RegistryID)
		switch {
		case errors.Is(err, inventory.ErrNotFound):
			// Deleted since the rows were read: its scan fails at once
			// (download_failed), with no pull to space.
			limited = false
		case err != nil:
			return 0, fmt.Errorf("scanjob: registry connection %d: %w", src.RegistryID, err)
		default:
			limited = rateLimited(reg.Type)
		}
		sp.limited[src.RegistryID] = limited
	}
	if !limited {
		return 0, nil
	}
	// i*hour/rate, not i*(hour/rate): no rounding drift over many images.
	nb := sp.begin + sp.next*hourMs/sp.rate
	sp.next++
	return nb, nil
}

// rateLimited reports whether a task's rate_limit applies to images of a
// connection of type t: every type but SWR's own.
func rateLimited(t inventory.RegistryType) bool {
	switch t {
	case inventory.SwrPrivate, inventory.SwrShared, inventory.SwrEnterprise:
		return false
	}
	return true
}
