package main

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"testing"
)

// smallConsoleOptions: 1,000 rows in 100 repositories of 10 tags over 20
// namespaces, a few requests per page; the browser when there is one.
func smallConsoleOptions(t *testing.T) consoleOptions {
	o := defaultConsoleOptions()
	o.Rows, o.Repos = 1000, 100
	o.Iterations, o.Warmup, o.FCPRuns = 3, 1, 1
	o.Dir = t.TempDir()
	o.Chromium = ""
	if p, err := exec.LookPath("chromium"); err == nil {
		o.Chromium = p
	}
	return o
}

// checkConsoleReport checks what runConsole measured: every page served
// signed in (runConsole fails on a sign-in form or an error status), the
// totals that follow from benchseed's layout, the stylesheet counted in
// the weight, and as many timings as asked for.
func checkConsoleReport(t *testing.T, o consoleOptions, rep consoleReport) {
	t.Helper()
	if len(rep.Pages) != len(o.pages()) {
		t.Fatalf("%d pages measured, want %d", len(rep.Pages), len(o.pages()))
	}
	totals := map[string]int64{
		"/":                                     -1,
		"/images":                               1000,
		"/images?namespace=ns-07":               50, // 5 repositories of 10 tags
		"/images?latest_version=true&limit=100": 100,
		"/images?offset=500":                    1000,
	}
	css, err := os.ReadFile("../../internal/console/assets/console.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Pages {
		if want, ok := totals[p.Path]; ok && p.Total != want {
			t.Errorf("%s: total_num %d, want %d", p.Path, p.Total, want)
		}
		if p.Cached.Calls != o.Iterations || p.Uncached.Calls != o.Iterations || p.Uncached.P50 <= 0 || p.Cached.P50 <= 0 {
			t.Errorf("%s: cached %+v, uncached %+v, want %d calls each", p.Path, p.Cached, p.Uncached, o.Iterations)
		}
		if !slices.Equal(p.Assets, []string{"/assets/console.css"}) || p.AssetBytes != len(css) || p.HTMLBytes < 1000 {
			t.Errorf("%s: %d B of HTML, assets %v of %d B, want console.css of %d B", p.Path, p.HTMLBytes, p.Assets, p.AssetBytes, len(css))
		}
		if o.Chromium != "" && (p.FCP.Calls != o.FCPRuns || p.FCP.P50 <= 0) {
			t.Errorf("%s: first contentful paint %+v, want %d loads", p.Path, p.FCP, o.FCPRuns)
		}
	}
	if o.Chromium == "" && rep.FCPNote == "" {
		t.Errorf("no browser and no note saying so")
	}
}

// TestConsoleSmall runs the console benchmark at 1,000 rows on SQLite,
// then again on the same directory, which reuses the seeded database.
func TestConsoleSmall(t *testing.T) {
	o := smallConsoleOptions(t)
	if o.Chromium == "" && os.Getenv("OPENHSS_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium on PATH, and OPENHSS_REQUIRE_BROWSER=1 requires one")
	}
	rep, err := runConsole(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reused || rep.Engine != "sqlite" {
		t.Errorf("first run: reused %v, engine %s", rep.Reused, rep.Engine)
	}
	checkConsoleReport(t, o, rep)

	o.Chromium = "" // once is enough
	rep, err = runConsole(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Reused || rep.SeedSeconds != 0 {
		t.Errorf("second run on the same directory: reused %v, seeded in %.1f s", rep.Reused, rep.SeedSeconds)
	}
	checkConsoleReport(t, o, rep)
}

// TestConsoleSmallPostgres runs it on PostgreSQL (OPENHSS_TEST_POSTGRES,
// in a new schema dropped afterwards), without the browser.
func TestConsoleSmallPostgres(t *testing.T) {
	dsn := os.Getenv("OPENHSS_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("OPENHSS_TEST_POSTGRES not set")
	}
	o := smallConsoleOptions(t)
	o.Postgres, o.Chromium = dsn, ""
	rep, err := runConsole(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Engine != "postgres" || rep.Reused {
		t.Errorf("engine %s, reused %v", rep.Engine, rep.Reused)
	}
	checkConsoleReport(t, o, rep)
}
