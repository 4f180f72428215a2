package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/trend"
)

// trendDays is how many days the Overview's trend shows, today included.
const trendDays = 30

// Chart geometry, in the SVG's user units (the viewBox; CSS scales it).
const (
	chartW, chartH      = 640, 220
	plotLeft, plotRight = 52, 612
	plotTop, plotBottom = 12, 188 // the x labels are below, at y 206
	chartTicks          = 4       // horizontal grid lines above 0
)

// trendView is the Overview's trend: two charts and the table that says
// the same in text.
type trendView struct {
	From, To  string // the first and last day shown (YYYY-MM-DD)
	Snapshots int    // days with a snapshot
	Coverage  chart
	Findings  chart
	Rows      []trendRow // every day, oldest first
}

// trendRow is one day of the table; Figures is nil for a day without a
// snapshot (shown as such, not as zeros).
type trendRow struct {
	Date    string
	Figures *trend.Figures
}

// chart is one server-rendered SVG line chart.
type chart struct {
	ID, Title, Desc string
	W, H            int
	Series          []series
	YTicks, XTicks  []tick
	Left, Right     int // the plot's x bounds (grid lines)
}

// series is one line: the runs of consecutive days with a snapshot, each a
// polyline's points; a day without one breaks the line, and a dot marks
// every day that has one (so a lone day shows too).
type series struct {
	Label, Class string
	Runs         []string
	Dots         []point
}

type point struct{ X, Y string }

type tick struct {
	Pos   string // the y (or x) of the line or label
	Label string
}

// newTrendView lays out the trendDays days up to today from points (the days
// with a snapshot, oldest first).
func newTrendView(points []trend.Point, today int64) trendView {
	from := today - trendDays + 1
	byDay := make(map[int64]*trend.Figures, len(points))
	for i := range points {
		byDay[points[i].Day] = &points[i].Figures
	}
	v := trendView{From: day(from), To: day(today), Snapshots: len(byDay)}
	for d := from; d <= today; d++ {
		v.Rows = append(v.Rows, trendRow{Date: day(d), Figures: byDay[d]})
	}
	v.Coverage = lineChart("trend-coverage", "Images and scans per day, last 30 days", from, byDay, []seriesSpec{
		{"Images", "s-images", func(f *trend.Figures) int64 { return f.Images }},
		{"Scanned", "s-scanned", func(f *trend.Figures) int64 { return f.Scanned }},
		{"Failed", "s-failed", func(f *trend.Figures) int64 { return f.Failed }},
		{"Unscanned", "s-unscanned", func(f *trend.Figures) int64 { return f.Unscanned }},
	})
	var specs []seriesSpec
	for i, label := range trend.Severities {
		specs = append(specs, seriesSpec{label, "s-" + strings.ToLower(label),
			func(f *trend.Figures) int64 { return f.Findings[i].Findings }})
	}
	v.Findings = lineChart("trend-findings", "Vulnerabilities (findings) by severity per day, last 30 days", from, byDay, specs)
	return v
}

type seriesSpec struct {
	label, class string
	value        func(*trend.Figures) int64
}

func day(d int64) string { return trend.Date(d).Format(time.DateOnly) }

func lineChart(id, title string, from int64, byDay map[int64]*trend.Figures, specs []seriesSpec) chart {
	c := chart{ID: id, Title: title, W: chartW, H: chartH, Left: plotLeft, Right: plotRight}
	var top int64
	for _, f := range byDay {
		for _, s := range specs {
			top = max(top, s.value(f))
		}
	}
	step := niceStep(top)
	x := func(i int) string {
		return strconv.FormatFloat(plotLeft+float64(i)*float64(plotRight-plotLeft)/float64(trendDays-1), 'f', 1, 64)
	}
	y := func(v int64) string {
		return strconv.FormatFloat(plotBottom-float64(v)*float64(plotBottom-plotTop)/float64(step*chartTicks), 'f', 1, 64)
	}
	for k := 0; k <= chartTicks; k++ {
		c.YTicks = append(c.YTicks, tick{Pos: y(int64(k) * step), Label: strconv.FormatInt(int64(k)*step, 10)})
	}
	for _, i := range []int{0, 7, 14, 21, trendDays - 1} {
		c.XTicks = append(c.XTicks, tick{Pos: x(i), Label: trend.Date(from + int64(i)).Format("01-02")})
	}
	var latest *trend.Figures
	var latestDay int64
	for _, s := range specs {
		sr := series{Label: s.label, Class: s.class}
		var run []string
		for i := range trendDays {
			f := byDay[from+int64(i)]
			if f == nil {
				if len(run) > 1 {
					sr.Runs = append(sr.Runs, strings.Join(run, " "))
				}
				run = nil
				continue
			}
			latest, latestDay = f, from+int64(i)
			p := point{X: x(i), Y: y(s.value(f))}
			run = append(run, p.X+","+p.Y)
			sr.Dots = append(sr.Dots, p)
		}
		if len(run) > 1 {
			sr.Runs = append(sr.Runs, strings.Join(run, " "))
		}
		c.Series = append(c.Series, sr)
	}
	if latest == nil {
		c.Desc = "No daily snapshot in the last 30 days yet."
		return c
	}
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = fmt.Sprintf("%s %d", s.label, s.value(latest))
	}
	c.Desc = fmt.Sprintf("%d of the last 30 days have a snapshot; the latest, %s: %s. The table below lists every day.",
		len(byDay), day(latestDay), strings.Join(parts, ", "))
	return c
}

// niceStep is the grid step (1, 2 or 5 times a power of ten) that puts
// top under chartTicks steps.
func niceStep(top int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p*chartTicks >= top {
				return m * p
			}
		}
	}
}
