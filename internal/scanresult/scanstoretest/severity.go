package scanstoretest

import (
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// testSeverityLevel: the level is derived from the findings saved with a
// successful scan, follows every re-match, is copied onto rows synced
// later, is the list's severity_level filter, and goes with a project's
// failed scan.
func testSeverityLevel(t *testing.T, e *env) {
	w := e.world()
	check := func(what, project, d, want string) {
		t.Helper()
		rows := e.rows(project, d)
		if len(rows) == 0 {
			t.Fatalf("%s: no rows of %s in %s", what, d, project)
		}
		for _, img := range rows {
			if img.SeverityLevel != want {
				t.Fatalf("%s: row %d (%s) severity %q, want %q", what, img.ID, project, img.SeverityLevel, want)
			}
		}
	}
	filtered := func(project, level string) int64 {
		t.Helper()
		p, err := e.st.ListImages(e.ctx, inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, SeverityLevel: level, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	check("never scanned", "p1", w.a, "")
	e.save(sbom(w.a), findings())
	check("saved", "p1", w.a, scanresult.LevelHigh)
	check("saved", "p2", w.a, scanresult.LevelHigh)
	check("other digest", "p1", w.b, "")
	if n := filtered("p1", scanresult.LevelHigh); n != 2 { // lib/app:1 in r1 and r2
		t.Fatalf("High rows of p1 = %d, want 2", n)
	}
	if n := filtered("p1", scanresult.LevelLow); n != 0 {
		t.Fatalf("Low rows of p1 = %d, want 0", n)
	}

	steps := []struct {
		name string
		fs   []scanresult.Finding
		want string
	}{
		{"re-match medium", findings()[:1], scanresult.LevelMedium},
		{"re-match low", findings()[3:4], scanresult.LevelLow},
		{"re-match none", nil, scanresult.LevelSecurity},
		{"re-match low again", findings()[3:4], scanresult.LevelLow},
	}
	for _, s := range steps {
		if err := e.replace(w.a, s.fs, scanresult.DistinctVulns(s.fs)); err != nil {
			t.Fatal(err)
		}
		check(s.name, "p1", w.a, s.want)
		check(s.name, "p2", w.a, s.want)
	}
	if n := filtered("p2", scanresult.LevelLow); n != 1 {
		t.Fatalf("Low rows of p2 = %d, want 1", n)
	}

	// A row synced later copies the manifest's level.
	e.sync(w.r1, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a), tag("2", w.b), tag("3", w.a)}})
	check("synced later", "p1", w.a, scanresult.LevelLow)
	if n := filtered("p1", scanresult.LevelLow); n != 3 {
		t.Fatalf("Low rows of p1 after the sync = %d, want 3", n)
	}

	// A project's failed scan clears its rows only.
	if err := e.st.ClearScan(e.ctx, "p1", w.a, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "x", ScanTime: 6000}); err != nil {
		t.Fatal(err)
	}
	check("failed in p1", "p1", w.a, "")
	check("failed in p1", "p2", w.a, scanresult.LevelLow)
}
