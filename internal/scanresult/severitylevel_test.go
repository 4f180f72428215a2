package scanresult

import "testing"

func TestSeverityLevel(t *testing.T) {
	f := func(necessities ...string) []Finding {
		var fs []Finding
		for _, n := range necessities {
			fs = append(fs, Finding{RepairNecessity: n})
		}
		return fs
	}
	for _, tc := range []struct {
		fs   []Finding
		want string
	}{
		{nil, LevelSecurity},
		{f("not_needed_repair"), LevelLow},
		{f(""), LevelLow}, // a finding without a necessity is still a finding
		{f("not_needed_repair", "delay_repair", "not_needed_repair"), LevelMedium},
		{f("delay_repair", "immediate_repair", "not_needed_repair"), LevelHigh},
		{f("immediate_repair"), LevelHigh},
	} {
		if got := SeverityLevel(tc.fs); got != tc.want {
			t.Errorf("SeverityLevel(%v) = %q, want %q", tc.fs, got, tc.want)
		}
	}
}
