package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/benchseed"
)

// TestTopImagesPlans checks that each of TopImages' reads (one per
// enterprise project and severity level) is an index scan of images_top
// in order, with no sort, in the plan made for its arguments and in the
// generic plan a prepared statement may switch to (pgx prepares every
// statement; the generic plan knows no argument, hence vul_num > 0 written
// out). With images_severity, a level's rows were read and sorted (78,000
// at 10^6 rows).
func TestTopImagesPlans(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	if _, err := benchseed.Seed(ctx, s, benchseed.Spec{ProjectID: "p1", Rows: 4000, Namespaces: 4, Repos: 40, Registries: 2}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	// A third of the rows in a second enterprise project, so that a scope
	// of two is several ranges per level.
	if _, err := s.db.ExecContext(ctx, `UPDATE images SET enterprise_project_id = 'ep9' WHERE id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, `ANALYZE images`); err != nil {
		t.Fatal(err)
	}
	conn, err := s.db.Conn(ctx)
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
	one, _, err := s.TopImagesPlan(ctx, "p1", []string{"0"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, eps := range [][]string{nil, {"0", "ep9"}} {
		queries, args, err := s.TopImagesPlan(ctx, "p1", eps, 5)
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
