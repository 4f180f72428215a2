package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/store/postgres"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/store/sqlstore"
)

// The query plans of the list and of TopImages on each engine, read with
// EXPLAIN through connections of their own (sqliteConn: a fresh SQLite
// connection loads the statistics ANALYZE left; the store's read pool
// keeps its connections from the start).

// openSQLite opens the store at path, closed at cleanup.
func openSQLite(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sqliteConn opens one connection of its own to the SQLite file at path,
// closed at cleanup.
func sqliteConn(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(5000)"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// seededSQLite opens a store in a new SQLite file, seeded with benchseed's
// rows of project p1, and returns it and the file's path.
func seededSQLite(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "openhss.db")
	s := openSQLite(t, path)
	if _, err := benchseed.Seed(context.Background(), s, benchseed.Spec{ProjectID: "p1", Rows: 4000, Namespaces: 4, Repos: 40, Registries: 2},
		rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// sqliteStatistics runs check under each kind of planner statistics the
// SQLite file at path may hold: none, sampled (as benchseed.Seed and
// PRAGMA optimize leave them) and full. explain reads a query's plan on a
// connection opened after the statistics changed, which loads them afresh.
func sqliteStatistics(t *testing.T, path string, check func(stats string, explain func(q string, args []any) string)) {
	t.Helper()
	for _, stats := range []struct{ name, sql string }{
		{"no statistics", `DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4`},
		{"sampled", `PRAGMA analysis_limit = 100; ANALYZE`},
		{"full", `PRAGMA analysis_limit = 0; ANALYZE`},
	} {
		exec(t, path, stats.sql)
		db := sqliteConn(t, path)
		check(stats.name, func(q string, args []any) string { return explainSQLite(t, db, q, args) })
		db.Close()
	}
}

// exec runs q on a connection of its own to the SQLite file at path.
func exec(t *testing.T, path, q string) {
	t.Helper()
	db := sqliteConn(t, path)
	if _, err := db.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// TestListPlansSQLite checks the index the count and the page walk of each list
// filter shape use, whatever the planner's statistics: none, sampled (as
// benchseed.Seed and PRAGMA optimize leave them) and full. The list indexes carry
// enterprise_project_id, so the right one is the only covering one and wins
// without relying on row estimates: with sampled statistics of the indexes
// of 00001, latest_version=true counted through images_status, a million
// table reads instead of ten thousand index entries.
func TestListPlansSQLite(t *testing.T) {
	ctx := context.Background()
	s, path := seededSQLite(t)
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
	sqliteStatistics(t, path, func(stats string, explain func(q string, args []any) string) {
		for _, tc := range cases {
			where, args, err := sqlstore.ListPlan(ctx, s.Store, tc.f)
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
				detail := explain(q, args)
				if !strings.Contains(detail, "COVERING INDEX "+tc.index+" ") || strings.Contains(detail, "TEMP B-TREE") {
					t.Errorf("%s, %s %s: plan %q, want a walk of covering index %s in order", stats, tc.name, what, detail, tc.index)
				}
			}
		}
	})
}

// TestTopImagesPlansSQLite checks that each of TopImages' reads (one per
// enterprise project and severity level) is a range of images_top walked
// in order, with no sort, whatever the statistics: with images_severity,
// a level's rows were read and sorted (78,000 at 10^6 rows).
func TestTopImagesPlansSQLite(t *testing.T) {
	ctx := context.Background()
	s, path := seededSQLite(t)
	// A third of the rows in a second enterprise project, so that a scope
	// of two is several ranges per level.
	exec(t, path, `UPDATE images SET enterprise_project_id = 'ep9' WHERE id % 3 = 0`)
	one, _, err := sqlstore.TopImagesPlan(ctx, s.Store, "p1", []string{"0"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	sqliteStatistics(t, path, func(stats string, explain func(q string, args []any) string) {
		for _, eps := range [][]string{nil, {"0", "ep9"}} {
			queries, args, err := sqlstore.TopImagesPlan(ctx, s.Store, "p1", eps, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(queries) < 3 || len(queries) <= len(one) { // High, Medium and Low, of each enterprise project
				t.Fatalf("%s, %v: %d queries (%d for one enterprise project), want one per level and enterprise project",
					stats, eps, len(queries), len(one))
			}
			for i, q := range queries {
				detail := explain(q, args[i])
				if !strings.Contains(detail, "USING INDEX images_top (project_id=? AND enterprise_project_id=? AND severity_level=? AND vul_num>?)") ||
					strings.Contains(detail, "TEMP B-TREE") {
					t.Errorf("%s, %v, %v: plan %q, want a range of images_top in order", stats, eps, args[i], detail)
				}
			}
		}
	})
}

// explainSQLite is the plan of q on db, its steps joined by "; ".
func explainSQLite(t *testing.T, db *sql.DB, q string, args []any) string {
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

// TestTopImagesPlansPostgres checks that each of TopImages' reads (one per
// enterprise project and severity level) is an index scan of images_top
// in order, with no sort, in the plan made for its arguments and in the
// generic plan a prepared statement may switch to (pgx prepares every
// statement; the generic plan knows no argument, hence vul_num > 0 written
// out). With images_severity, a level's rows were read and sorted (78,000
// at 10^6 rows).
func TestTopImagesPlansPostgres(t *testing.T) {
	ctx := context.Background()
	dsn := postgresSchema(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := benchseed.Seed(ctx, s, benchseed.Spec{ProjectID: "p1", Rows: 4000, Namespaces: 4, Repos: 40, Registries: 2}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	// A third of the rows in a second enterprise project, so that a scope
	// of two is several ranges per level.
	if _, err := db.ExecContext(ctx, `UPDATE images SET enterprise_project_id = 'ep9' WHERE id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE images`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	explain := func(q string, args ...any) string {
		t.Helper()
		rows, err := conn.QueryContext(ctx, `EXPLAIN `+q, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", q, err)
		}
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, strings.TrimSpace(line))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "; ")
	}
	inOrder := func(plan string) bool {
		return strings.Contains(plan, "Index Scan using images_top on images") && !strings.Contains(plan, "Sort") &&
			!strings.Contains(plan, "Seq Scan")
	}
	one, _, err := sqlstore.TopImagesPlan(ctx, s.Store, "p1", []string{"0"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, eps := range [][]string{nil, {"0", "ep9"}} {
		queries, args, err := sqlstore.TopImagesPlan(ctx, s.Store, "p1", eps, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(queries) < 3 || len(queries) <= len(one) { // High, Medium and Low, of each enterprise project
			t.Fatalf("%v: %d queries (%d for one enterprise project), want one per level and enterprise project", eps, len(queries), len(one))
		}
		for i, q := range queries {
			if plan := explain(q, args[i]...); !inOrder(plan) {
				t.Errorf("%v, %v: plan %q, want an index scan of images_top in order", eps, args[i], plan)
			}
			if _, err := conn.ExecContext(ctx, `SET plan_cache_mode = force_generic_plan`); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, `PREPARE top AS `+q); err != nil {
				t.Fatal(err)
			}
			// EXECUTE takes no bound argument: its arguments as literals.
			literals := make([]string, len(args[i]))
			for j, a := range args[i] {
				literals[j] = fmt.Sprint(a)
				if v, ok := a.(string); ok {
					literals[j] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
				}
			}
			plan := explain(`EXECUTE top(` + strings.Join(literals, ", ") + `)`)
			if _, err := conn.ExecContext(ctx, `DEALLOCATE top; RESET plan_cache_mode`); err != nil {
				t.Fatal(err)
			}
			if !inOrder(plan) {
				t.Errorf("%v, %v: generic plan %q, want an index scan of images_top in order", eps, args[i], plan)
			}
		}
	}
}

// TestEnqueuePlanSQLite checks that Enqueue reads a kind and key's live job
// through jobs_live whatever the statistics, also those ANALYZE took while
// jobs was empty: with them SQLite walked jobs_ready over every queued job
// of the kind on each enqueue (a scan-all queueing 20,000 scans took five
// minutes).
func TestEnqueuePlanSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "openhss.db")
	s := openSQLite(t, path)
	enqueue := func(n int) {
		t.Helper()
		for i := range n {
			if _, _, err := s.Enqueue(ctx, jobs.Job{Kind: "scan", Key: fmt.Sprintf("p/%d", i), ProjectID: "p"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, stats := range []struct {
		name, sql string
		jobs      int // queued after the statistics were taken
	}{
		{"taken while jobs was empty", `PRAGMA analysis_limit = 0; ANALYZE`, 500},
		{"no statistics", `DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4`, 0},
		{"full", `PRAGMA analysis_limit = 0; ANALYZE`, 0},
	} {
		exec(t, path, stats.sql)
		enqueue(stats.jobs)
		db := sqliteConn(t, path)
		if detail := explainSQLite(t, db, sqlstore.LiveJobQuery(sqlstore.SQLite), []any{"scan", "p/7"}); !strings.Contains(detail, "USING INDEX jobs_live ") {
			t.Errorf("%s: plan %q, want a search of jobs_live", stats.name, detail)
		}
		db.Close()
	}
}
