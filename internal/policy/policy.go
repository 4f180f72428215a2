// Package policy holds a project's scan policy: whether registry images are
// scanned on a schedule, how often, for which risks, how fast, which images
// (by age) and from which registry connections (ListImageScanPolicy and
// ModifyImageScanPolicy; docs/api.md, "Scan policies"). The scheduler
// (package schedule) runs what it says.
package policy

import (
	"context"
	"slices"
	"time"
)

// Policy is one project's scan policy.
type Policy struct {
	ProjectID string
	Enabled   bool
	// ScanCycle is the days between two scheduled scans: 3, 7 or 14.
	ScanCycle int32
	// ScanScope is the bitmask of the risks a scheduled scan looks for
	// (as a scan task's scan_scope).
	ScanScope int32
	// RateLimit is the images per hour a scheduled scan pulls (0: no
	// limit), as a scan task's rate_limit.
	RateLimit int32
	// TimeScope keeps the images updated within the last TimeScope days;
	// 0 scans every image of the selected connections.
	TimeScope int32
	// RegistryIDs are the selected connections, ascending.
	RegistryIDs []int64
	// NextRunAt is when the next scheduled scan is due (ms). The store
	// keeps it; SetScanPolicy sets it by NextRun.
	NextRunAt int64
	UpdatedAt int64 // ms
}

// Bounds and values of the fields (docs/api.md, "Scan policies").
const (
	ScanScopeAll = 0x7fffffff // every risk type; also the largest mask
	MaxRateLimit = 1000
)

// Cycles are the allowed scan_cycle values, TimeScopes the allowed
// time_scope values.
var (
	Cycles     = []int32{3, 7, 14}
	TimeScopes = []int32{0, 1, 3, 7}
)

// Default is the policy of a project that never set one: disabled, weekly,
// every risk type, no rate limit, every image, no connection selected.
func Default(projectID string) Policy {
	return Policy{ProjectID: projectID, ScanCycle: 7, ScanScope: ScanScopeAll, RegistryIDs: []int64{}}
}

// ValidCycle reports whether days is an allowed scan_cycle.
func ValidCycle(days int64) bool {
	return slices.Contains(Cycles, int32(days)) && days == int64(int32(days))
}

// ValidTimeScope reports whether days is an allowed time_scope.
func ValidTimeScope(days int64) bool {
	return slices.Contains(TimeScopes, int32(days)) && days == int64(int32(days))
}

// Cycle is the time between two scheduled scans of p.
func (p Policy) Cycle() time.Duration { return time.Duration(p.ScanCycle) * 24 * time.Hour }

// NextRun is when the next scheduled scan of the policy next is due once it
// replaces old (nil: the project had none) at now (ms): enabling a policy,
// or changing the cycle of an enabled one, makes a scan due at once (the
// scheduler's next tick); any other change keeps the time already due.
// After each run the scheduler sets the next one to the run's start plus
// the cycle.
func NextRun(old *Policy, next Policy, now int64) int64 {
	if !next.Enabled {
		if old != nil {
			return old.NextRunAt
		}
		return 0
	}
	if old == nil || !old.Enabled || old.ScanCycle != next.ScanCycle {
		return now
	}
	return old.NextRunAt
}

// Store persists one policy per project.
type Store interface {
	// ScanPolicy returns the project's stored policy; found is false (and
	// p the Default) when it never set one.
	ScanPolicy(ctx context.Context, projectID string) (p Policy, found bool, err error)
	// SetScanPolicy stores p as the project's policy, in one transaction
	// with reading the old one: NextRunAt is set by NextRun at now (ms).
	SetScanPolicy(ctx context.Context, p Policy, now int64) error
}
