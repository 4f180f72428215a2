package sqlite

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// TestListPlans checks the index the count and the page walk of each list
// filter shape use, whatever the planner's statistics: none, sampled (as
// benchseed.Seed and PRAGMA optimize leave them) and full. The list indexes carry
// enterprise_project_id, so the right one is the only covering one and wins
// without relying on row estimates: with sampled statistics of the indexes
// of 00001, latest_version=true counted through images_status, a million
// table reads instead of ten thousand index entries.
func TestListPlans(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openhss.db")
	s := open(t, path)
	defer s.Close()
	if _, err := benchseed.Seed(ctx, s, benchseed.Spec{ProjectID: "p1", Rows: 4000, Namespaces: 4, Repos: 40, Registries: 2}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	yes := true
	base := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, EnterpriseProjects: []string{"0"}}
	with := func(mod func(*inventory.Filter)) inventory.Filter {
		f := base
		mod(&f)
		return f
	}
	cases := []struct {
		name  string
		f     inventory.Filter
		index string
	}{
		// 00930: risky=true, and registry_name resolved to one
		// connection, walked in list order.
		{"risky", with(func(f *inventory.Filter) { f.Risky = &yes }), "images_risky"},
		{"registry_name", with(func(f *inventory.Filter) { f.RegistryName = "bench-01" }), "images_registry"},
		{"registry_name, every type", with(func(f *inventory.Filter) { f.RegistryName = "bench-01"; f.Type = "" }), "images_registry"},
		// ListRegistryImages' shapes (00800).
		{"severity_level", with(func(f *inventory.Filter) { f.SeverityLevel = "High" }), "images_severity"},
		{"every type", with(func(f *inventory.Filter) { f.Type = "" }), "images_all_types"},
		{"sort by scan time", with(func(f *inventory.Filter) { f.SortByScanTime = true }), "images_scan_order"},
		{"sort by scan time desc", with(func(f *inventory.Filter) { f.SortByScanTime, f.SortDesc = true, true }), "images_scan_order"},
		{"type only", base, "images_list"},
		{"namespace", with(func(f *inventory.Filter) { f.Namespace = "ns-01" }), "images_ns"},
		{"image_name", with(func(f *inventory.Filter) { f.ImageName = "app-00001" }), "images_repo"},
		{"has_vul", with(func(f *inventory.Filter) { f.HasVul = &yes }), "images_vul"},
		{"scan_status", with(func(f *inventory.Filter) { f.ScanStatus = inventory.ScanSuccess }), "images_status"},
		{"latest_version", with(func(f *inventory.Filter) { f.LatestVersionOnly = true }), "images_latest"},
	}
	for _, stats := range []struct{ name, sql string }{
		{"no statistics", `DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4`},
		{"sampled", `PRAGMA analysis_limit = 100; ANALYZE`},
		{"full", `PRAGMA analysis_limit = 0; ANALYZE`},
	} {
		if _, err := s.write.ExecContext(ctx, stats.sql); err != nil {
			t.Fatal(err)
		}
		// A connection of its own, which loads the statistics afresh.
		db, err := openPool(path, "deferred", 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range cases {
			where, args, err := s.ListPlan(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			queries := map[string]string{
				"page": `SELECT i.id FROM images i WHERE ` + where + ` ORDER BY ` + sqlstore.Order(tc.f) + ` LIMIT 10 OFFSET 100`,
			}
			// Counted from image_repos or image_counts otherwise; the count
			// of risky=true over images (only with a substring as well) may
			// take any covering index.
			if tc.name != "type only" && tc.name != "namespace" && tc.name != "image_name" && tc.name != "every type" &&
				!tc.f.SortByScanTime && tc.f.Risky == nil && tc.f.RegistryName == "" {
				queries["count"] = `SELECT count(*) FROM images i WHERE ` + where
			}
			for what, q := range queries {
				detail := explain(t, db, q, args)
				if !strings.Contains(detail, "COVERING INDEX "+tc.index+" ") || strings.Contains(detail, "TEMP B-TREE") {
					t.Errorf("%s, %s %s: plan %q, want a walk of covering index %s in order", stats.name, tc.name, what, detail, tc.index)
				}
			}
		}
		db.Close()
	}
}

// TestTopImagesPlans checks that each of TopImages' reads (one per
// enterprise project and severity level) is a range of images_top walked
// in order, with no sort, whatever the statistics: with images_severity,
// a level's rows were read and sorted (78,000 at 10^6 rows).
func TestTopImagesPlans(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openhss.db")
	s := open(t, path)
	defer s.Close()
	if _, err := benchseed.Seed(ctx, s, benchseed.Spec{ProjectID: "p1", Rows: 4000, Namespaces: 4, Repos: 40, Registries: 2}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	// A third of the rows in a second enterprise project, so that a scope
	// of two is several ranges per level.
	if _, err := s.write.ExecContext(ctx, `UPDATE images SET enterprise_project_id = 'ep9' WHERE id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	one, _, err := s.TopImagesPlan(ctx, "p1", []string{"0"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, stats := range []struct{ name, sql string }{
		{"no statistics", `DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4`},
		{"sampled", `PRAGMA analysis_limit = 100; ANALYZE`},
		{"full", `PRAGMA analysis_limit = 0; ANALYZE`},
	} {
		if _, err := s.write.ExecContext(ctx, stats.sql); err != nil {
			t.Fatal(err)
		}
		db, err := openPool(path, "deferred", 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, eps := range [][]string{nil, {"0", "ep9"}} {
			queries, args, err := s.TopImagesPlan(ctx, "p1", eps, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) < 3 || len(queries) <= len(one) { // High, Medium and Low, of each enterprise project
				t.Fatalf("%s, %v: %d queries (%d for one enterprise project), want one per level and enterprise project",
					stats.name, eps, len(queries), len(one))
			}
			for i, q := range queries {
				detail := explain(t, db, q, args[i])
				if !strings.Contains(detail, "USING INDEX images_top (project_id=? AND enterprise_project_id=? AND severity_level=? AND vul_num>?)") ||
					strings.Contains(detail, "TEMP B-TREE") {
					t.Errorf("%s, %v, %v: plan %q, want a range of images_top in order", stats.name, eps, args[i], detail)
				}
			}
		}
		db.Close()
	}
}

func explain(t *testing.T, db *sql.DB, q string, args []any) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		parts = append(parts, detail)
	}
	return strings.Join(parts, "; ")
}
