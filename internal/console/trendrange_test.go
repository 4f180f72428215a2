package console_test

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/trend"
)

// TestOverviewTrendRanges: days=90 and days=365 draw and list the
// snapshots older than 30 days up to that range, days without one still
// gaps; the range links name the shown one; any other days is a 400 that
// draws nothing.
func TestOverviewTrendRanges(t *testing.T) {
	e := newEnv(t)
	today := trend.Day(time.Now())
	for _, d := range []int64{0, 40, 41, 89, 90, 200, 364, 365} {
		e.putTrend(projA, "0", today-d, 100+d)
	}
	alice, _ := e.signIn("alice")
	rangeNav := regexp.MustCompile(`(?s)<nav class="ranges" aria-label="Trend range">(.*?)</nav>`)
	for _, tc := range []struct {
		query  string
		days   int64
		listed []int64 // days ago with a row of figures
		absent []int64 // days ago with no row
		runs   int     // the images series' lines
		dots   int     // and dots
	}{
		{"", 30, []int64{0}, []int64{40, 89}, 0, 1},
		{"?days=30", 30, []int64{0}, []int64{40}, 0, 1},
		// 90 days: 40 and 41 are a line; 89 and today are lone dots.
		{"?days=90", 90, []int64{0, 40, 41, 89}, []int64{90, 200}, 1, 2},
		{"?days=365", 365, []int64{0, 40, 41, 89, 90, 200, 364}, []int64{365}, 2, 3},
	} {
		resp, body := e.do("GET", "/"+tc.query, nil, alice)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%q: %s", tc.query, resp.Status)
		}
		if n := strings.Count(body[strings.Index(body, `id="trend-table"`):], `<tr><th scope="row">`); int64(n) != tc.days {
			t.Errorf("%q: %d table rows, want %d", tc.query, n, tc.days)
		}
		for _, d := range tc.listed {
			if got, want := trendRow(body, today-d), fmt.Sprint(100+d); got != want {
				t.Errorf("%q: the row of %d days ago %q, want %s", tc.query, d, got, want)
			}
		}
		for _, d := range tc.absent {
			if got := trendRow(body, today-d); got != "" {
				t.Errorf("%q: a row of %d days ago: %q", tc.query, d, got)
			}
		}
		if got := trendRow(body, today-tc.days+2); got != "none" && tc.days != 365 {
			t.Errorf("%q: a day without a snapshot %q, want none", tc.query, got)
		}
		for _, w := range []string{fmt.Sprintf("<h2>Trend, last %d days</h2>", tc.days),
			fmt.Sprintf(`<title id="trend-coverage-title">Images and scans per day, last %d days</title>`, tc.days),
			fmt.Sprintf(`of the last %d days have a snapshot`, tc.days)} {
			if !strings.Contains(body, w) {
				t.Errorf("%q: the page lacks %s", tc.query, w)
			}
		}
		if runs, dots := seriesOf(t, body, "trend-coverage", "s-images"); runs != tc.runs || dots != tc.dots {
			t.Errorf("%q: images series %d lines, %d dots; want %d, %d", tc.query, runs, dots, tc.runs, tc.dots)
		}
		nav := rangeNav.FindStringSubmatch(body)
		if nav == nil {
			t.Fatalf("%q: no labelled range links", tc.query)
		}
		for _, n := range []int64{30, 90, 365} {
			href := fmt.Sprintf("/?days=%d#trend", n)
			if n == 30 {
				href = "/#trend"
			}
			link := fmt.Sprintf(`<a href="%s">%d days</a>`, href, n)
			if n == tc.days {
				link = fmt.Sprintf(`<a href="%s" aria-current="page">%d days</a>`, href, n)
			}
			if !strings.Contains(nav[1], link) {
				t.Errorf("%q: the range links lack %s: %s", tc.query, link, nav[1])
			}
		}
	}
	// The oldest day of 90 is at the left edge (x 52), so the line from
	// 41 days ago begins at 48 of 89 steps of 560/89.
	_, body := e.do("GET", "/?days=90", nil, alice)
	if x := fmt.Sprintf("%.1f,", 52+48*560.0/89); !strings.Contains(svgOf(body, "trend-coverage"), `points="`+x) {
		t.Errorf("days=90: no line from 40 days ago at x %s:\n%s", x, svgOf(body, "trend-coverage"))
	}
	for _, q := range []string{"days=7", "days=", "days=31", "days=090", "days=365&days=365", "days=all"} {
		resp, body := e.do("GET", "/?"+q, nil, alice)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "The trend shows the last 30, 90 or 365 days") ||
			strings.Contains(body, `id="trend-table"`) {
			t.Errorf("%s: %s, want 400 without the trend", q, resp.Status)
		}
	}
}

// TestOverviewTrendYearWeight: a year with a snapshot every day but one
// stays a small page: the 365-day charts draw lines of whole-unit points,
// not 365 dots a series, under 32 KB together, and the whole page stays
// under 110 KB.
func TestOverviewTrendYearWeight(t *testing.T) {
	e := newEnv(t)
	today := trend.Day(time.Now())
	for d := range int64(365) {
		if d != 100 {
			e.putTrend(projA, "0", today-d, 1000+d*37%5000)
		}
	}
	alice, _ := e.signIn("alice")
	_, body := e.do("GET", "/?days=365", nil, alice)
	coverage, findings := svgOf(body, "trend-coverage"), svgOf(body, "trend-findings")
	if runs, dots := seriesOf(t, body, "trend-coverage", "s-images"); runs != 2 || dots != 0 {
		t.Errorf("images series: %d lines, %d dots; want 2 lines (a gap 100 days ago), no dot", runs, dots)
	}
	t.Logf("days=365: page %d bytes, charts %d and %d bytes", len(body), len(coverage), len(findings))
	// 2026-12-07: charts 12.9 and 15.9 KB, the page 94 KB (the table of
	// 365 rows most of it); 30 days: 29 KB.
	if len(coverage)+len(findings) > 32_000 || len(body) > 110_000 {
		t.Errorf("days=365: page %d bytes, charts %d and %d bytes; want the charts under 32 KB, the page under 110 KB",
			len(body), len(coverage), len(findings))
	}
	_, body30 := e.do("GET", "/", nil, alice)
	t.Logf("days=30: page %d bytes", len(body30))
}
