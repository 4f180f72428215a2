package policy

import "testing"

// When a change of policy makes the next scheduled scan due
// (docs/api.md, Scan policies).
func TestNextRun(t *testing.T) {
	const now, due = 5_000, 9_000
	on := func(cycle int32) *Policy { return &Policy{Enabled: true, ScanCycle: cycle, NextRunAt: due} }
	off := &Policy{ScanCycle: 7, NextRunAt: due}
	for _, tc := range []struct {
		name string
		old  *Policy
		next Policy
		want int64
	}{
		{"first policy, enabled: at once", nil, Policy{Enabled: true, ScanCycle: 7}, now},
		{"first policy, disabled: never", nil, Policy{ScanCycle: 7}, 0},
		{"enabling: at once", off, Policy{Enabled: true, ScanCycle: 7}, now},
		{"new cycle: at once", on(7), Policy{Enabled: true, ScanCycle: 3}, now},
		{"same cycle, other settings: unchanged", on(7), Policy{Enabled: true, ScanCycle: 7, RateLimit: 9}, due},
		{"disabling keeps the time", on(7), Policy{ScanCycle: 7}, due},
		{"disabled stays disabled", off, Policy{ScanCycle: 14}, due},
	} {
		if got := NextRun(tc.old, tc.next, now); got != tc.want {
			t.Errorf("%s: NextRun = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestValidValues(t *testing.T) {
	for _, tc := range []struct {
		days         int64
		cycle, scope bool
	}{
		{0, false, true}, {1, false, true}, {2, false, false}, {3, true, true}, {5, false, false}, {7, true, true},
		{14, true, false}, {-3, false, false}, {1<<32 + 3, false, false},
	} {
		if got := ValidCycle(tc.days); got != tc.cycle {
			t.Errorf("ValidCycle(%d) = %v", tc.days, got)
		}
		if got := ValidTimeScope(tc.days); got != tc.scope {
			t.Errorf("ValidTimeScope(%d) = %v", tc.days, got)
		}
	}
}
