package console_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/trend"
)

// trendRow reads the trend table's row of day: its first figure (images),
// "none" for a day without a snapshot, "" when the row is missing.
func trendRow(body string, day int64) string {
	date := trend.Date(day).Format(time.DateOnly)
	m := regexp.MustCompile(`<tr><th scope="row">` + date + `</th>(?:<td>(\d+)</td>|<td colspan="9" class="nosnap">no snapshot</td>)`).FindStringSubmatch(body)
	switch {
	case m == nil:
		return ""
	case m[1] == "":
		return "none"
	}
	return m[1]
}

// seriesOf is the SVG group of one series of the chart id: its polylines
// (runs of consecutive days) and dots (days with a snapshot).
func seriesOf(t *testing.T, body, id, class string) (runs, dots int) {
	t.Helper()
	svg := svgOf(body, id)
	if svg == "" {
		t.Fatalf("no chart %s:\n%s", id, body)
	}
	g := regexp.MustCompile(`<g class="` + class + `">(.*)</g>`).FindStringSubmatch(svg)
	if g == nil {
		t.Fatalf("chart %s has no series %s:\n%s", id, class, svg)
	}
	return strings.Count(g[1], "<polyline"), strings.Count(g[1], "<circle")
}

func (e *env) putTrend(project, ep string, day, images int64) {
	e.t.Helper()
	f := trend.Figures{Images: images, Scanned: images}
	f.Findings[trend.High] = trend.Tally{Findings: images * 3, Fixable: images}
	if _, err := e.st.PutTrendSnapshot(context.Background(), trend.Snapshot{
		Scope: trend.Scope{ProjectID: project, EnterpriseProjectID: ep}, Day: day, TakenAt: 1, Figures: f}, 0); err != nil {
		e.t.Fatal(err)
	}
}

// TestOverviewTrend: the chart and its table sum the snapshots of the
// session's granted enterprise projects only, and show a day without a
// snapshot as a gap.
func TestOverviewTrend(t *testing.T) {
	e := newEnv(t)
	today := trend.Day(time.Now())
	e.putTrend(projA, "0", today, 7)
	e.putTrend(projA, "0", today-2, 5)
	e.putTrend(projA, "ep1", today, 1000)
	e.putTrend(projA, "ep1", today-40, 99) // out of the 30 days
	e.putTrend(projB, "0", today, 50000)
	alice, _ := e.signIn("alice") // project A, every enterprise project
	eve, _ := e.signIn("eve")     // project A, ep1 only
	bob, _ := e.signIn("bob")     // project B
	for _, tc := range []struct {
		who                      string
		c                        *http.Cookie
		today, yesterday, twoAgo string
	}{
		{"alice", alice, "1007", "none", "5"},
		// eve is granted ep1 and not 0: enterprise project 0's 7 and 5
		// are not in her sums.
		{"eve", eve, "1000", "none", "none"},
		{"bob", bob, "50000", "none", "none"},
	} {
		t.Run(tc.who, func(t *testing.T) {
			_, body := e.do("GET", "/", nil, tc.c)
			got := []string{trendRow(body, today), trendRow(body, today-1), trendRow(body, today-2)}
			if want := []string{tc.today, tc.yesterday, tc.twoAgo}; !slices.Equal(got, want) {
				t.Fatalf("table rows of today, yesterday and the day before: %v, want %v", got, want)
			}
			if r := trendRow(body, today-40); r != "" {
				t.Errorf("a day 40 days ago listed: %q", r)
			}
			if r := trendRow(body, today-29); r != "none" {
				t.Errorf("the first of the 30 days: %q, want a row without a snapshot", r)
			}
			table := body[strings.Index(body, `<table class="list" id="trend-table">`):]
			table = table[:strings.Index(table, "</table>")]
			for _, other := range []string{"1007", "1000", "50000", "99"} {
				if other != tc.today && strings.Contains(table, "<td>"+other+"</td>") {
					t.Errorf("%s's overview shows %s, another scope's figure", tc.who, other)
				}
			}
			// Days apart are dots with no line between them: a gap, not a
			// line down to 0.
			runs, dots := seriesOf(t, body, "trend-coverage", "s-images")
			wantDots := 1
			if tc.twoAgo != "none" {
				wantDots = 2
			}
			if runs != 0 || dots != wantDots {
				t.Errorf("images series: %d lines, %d dots; want 0 lines, %d dots", runs, dots, wantDots)
			}
			if _, dots := seriesOf(t, body, "trend-findings", "s-high"); dots != wantDots {
				t.Errorf("high findings series: %d dots, want %d", dots, wantDots)
			}
		})
	}
	// Yesterday's snapshot joins the days into one line.
	e.putTrend(projA, "0", today-1, 6)
	_, body := e.do("GET", "/", nil, alice)
	if runs, dots := seriesOf(t, body, "trend-coverage", "s-images"); runs != 1 || dots != 3 {
		t.Errorf("three days in a row: %d lines, %d dots; want 1 line, 3 dots", runs, dots)
	}
	// Each chart's text says the latest day's figures, and its scale
	// fits them: alice's 1007 images (7 + 1000), each with 3 high
	// findings, under a grid of 500 (0 to 2000) and of 1000 (0 to 4000).
	date := trend.Date(today).Format(time.DateOnly)
	for _, w := range []string{
		`<desc id="trend-coverage-desc">3 of the last 30 days have a snapshot; the latest, ` + date +
			`: Images 1007, Scanned 1007, Failed 0, Unscanned 0. The table below lists every day.</desc>`,
		`<desc id="trend-findings-desc">3 of the last 30 days have a snapshot; the latest, ` + date +
			`: Critical 0, High 3021, Medium 0, Low 0, Unknown 0. The table below lists every day.</desc>`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("the overview lacks %s", w)
		}
	}
	for id, top := range map[string]string{"trend-coverage": "2000", "trend-findings": "4000"} {
		labels := regexp.MustCompile(`<text class="ylabel" x="46" y="[0-9.]+">(\d+)</text>`).FindAllStringSubmatch(svgOf(body, id), -1)
		if len(labels) != 5 || labels[4][1] != top {
			t.Errorf("%s: y labels %v, want 5 up to %s", id, labels, top)
		}
	}
	// Today's dot is at the right edge, at the height of 1007 of 2000.
	if !strings.Contains(body, `<circle cx="612.0" cy="99.4" r="2.5"></circle></g>`) {
		t.Errorf("no dot of today's 1007 images at (612.0, 99.4)")
	}
}

// TestOverviewTrendSnapshotIsTheOverview: the snapshot the server takes
// holds the numbers the Overview's cards show, and a day's second pass
// changes nothing.
func TestOverviewTrendSnapshotIsTheOverview(t *testing.T) {
	e := newEnv(t)
	// a2 (digest 2) failed.
	if err := e.st.ClearScan(context.Background(), projA, fmt.Sprintf("sha256:%064x", 2),
		inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "gave up", ScanTime: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := trend.New(trend.Options{Store: e.st})
	if err != nil {
		t.Fatal(err)
	}
	for pass := range 2 {
		_, taken, err := s.Take(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The first pass snapshots the scopes of the day; the second
		// finds none pending.
		if (pass == 0) != (taken > 0) {
			t.Fatalf("pass %d took %d snapshots", pass+1, taken)
		}
	}
	alice, _ := e.signIn("alice")
	_, body := e.do("GET", "/", nil, alice)
	cardOf := func(label string) string {
		n := card(body, label)
		if n == "" {
			t.Fatalf("no %s card:\n%s", label, body)
		}
		return n
	}
	date := trend.Date(trend.Day(time.Now())).Format(time.DateOnly)
	m := regexp.MustCompile(`<tr><th scope="row">` + date + `</th><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no snapshot of today in the table:\n%s", body)
	}
	want := []string{cardOf("Images"), cardOf("Scanned"), cardOf("Failed"), cardOf("Unscanned")}
	if !slices.Equal(m[1:], want) || want[0] != "4" || want[2] != "1" {
		t.Fatalf("today's snapshot %v, the cards %v (want 4 images, 1 failed)", m[1:], want)
	}
}
