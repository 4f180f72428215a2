package trend_test

import (
	"testing"
	"time"

	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/trend"
)

func TestNewRefuses(t *testing.T) {
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/openhss.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, tc := range []struct {
		name string
		o    trend.Options
	}{
		{"no store", trend.Options{}},
		{"negative keep", trend.Options{Store: st, Keep: -1}},
		{"negative refresh", trend.Options{Store: st, Refresh: -time.Minute}},
		{"keep under the chart's 30 days", trend.Options{Store: st, Keep: 29}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := trend.New(tc.o); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	if _, err := trend.New(trend.Options{Store: st}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}

func TestBuckets(t *testing.T) {
	got := trend.Buckets([]scanresult.SeverityCount{
		{Severity: "CRITICAL", Findings: 1, Fixable: 1}, {Severity: "important", Findings: 2},
		{Severity: "Moderate", Findings: 3, Fixable: 2}, {Severity: "negligible", Findings: 4},
		{Severity: "", Findings: 5, Fixable: 5}, {Severity: "HIGH", Findings: 6, Fixable: 6},
	})
	want := [trend.NumSeverities]trend.Tally{{1, 1}, {8, 6}, {3, 2}, {4, 0}, {5, 5}}
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDay(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), "2026-12-07"},
		{time.Date(2026, 12, 7, 23, 59, 59, 0, time.UTC), "2026-12-07"},
		// 01:00 in UTC+2 is still the 6th in UTC.
		{time.Date(2026, 12, 7, 1, 0, 0, 0, time.FixedZone("", 2*3600)), "2026-12-06"},
	} {
		if got := trend.Date(trend.Day(tc.at)).Format(time.DateOnly); got != tc.want {
			t.Errorf("Day(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
}
