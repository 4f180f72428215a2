package console

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/trend"
)

// trendDays is how many days the Overview's trend shows unless the
// query's days asks for another of trendRanges, today included.
const trendDays = 30

// trendRanges are the ranges (days) the Overview's trend offers: the
// snapshots keep 400 days (trend.DefaultKeep), so a year fits.
var trendRanges = []int{30, 90, 365}

// dotDays is the longest range whose chart marks every day with a snapshot
// by a dot; a longer one marks only the days without a neighbour (a run
// of one, which has no line), so that 365 days of nine series stay a few
// kilobytes of SVG instead of thousands of circles.
const dotDays = 30

// trendRange reads the Overview's days parameter: absent is trendDays,
// else exactly one of trendRanges. ok is false for anything else.
func trendRange(q url.Values) (days int, ok bool) {
	vs, given := q["days"]
	if !given {
		return trendDays, true
	}
	if len(vs) != 1 {
		return 0, false
	}
	for _, n := range trendRanges {
		if vs[0] == strconv.Itoa(n) {
			return n, true
		}
	}
	return 0, false
}

// rangeLink is a link of the trend's range choice.
type rangeLink struct {
	Days    int
	Href    string
	Current bool
}

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
	Days      int         // how many days are shown
	Ranges    []rangeLink // the ranges offered, the shown one current
	From, To  string      // the first and last day shown (YYYY-MM-DD)
	Snapshots int         // days with a snapshot
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

// newTrendView lays out the days days up to today from points (the days
// with a snapshot, oldest first).
func newTrendView(points []trend.Point, today int64, days int) trendView {
	from := today - int64(days) + 1
	byDay := make(map[int64]*trend.Figures, len(points))
	for i := range points {
		byDay[points[i].Day] = &points[i].Figures
	}
	v := trendView{Days: days, From: day(from), To: day(today), Snapshots: len(byDay)}
	for _, n := range trendRanges {
		// The default range's link is the Overview's own URL.
		href := "/?days=" + strconv.Itoa(n) + "#trend"
		if n == trendDays {
			href = "/#trend"
		}
		v.Ranges = append(v.Ranges, rangeLink{Days: n, Href: href, Current: n == days})
	}
	for d := from; d <= today; d++ {
		v.Rows = append(v.Rows, trendRow{Date: day(d), Figures: byDay[d]})
	}
	last := fmt.Sprintf("last %d days", days)
	v.Coverage = lineChart("trend-coverage", "Images and scans per day, "+last, from, days, byDay, []seriesSpec{
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
	v.Findings = lineChart("trend-findings", "Vulnerabilities (findings) by severity per day, "+last, from, days, byDay, specs)
	return v
}

type seriesSpec struct {
	label, class string
	value        func(*trend.Figures) int64
}

func day(d int64) string { return trend.Date(d).Format(time.DateOnly) }

func lineChart(id, title string, from int64, days int, byDay map[int64]*trend.Figures, specs []seriesSpec) chart {
	c := chart{ID: id, Title: title, W: chartW, H: chartH, Left: plotLeft, Right: plotRight}
	var top int64
	for _, f := range byDay {
		for _, s := range specs {
			top = max(top, s.value(f))
		}
	}
	step := niceStep(top)
	// A tenth of a unit up to 90 days; a year's points are whole units
	// (at most half a pixel off at the chart's widest), which keeps its
	// nine lines of 365 points a third smaller.
	prec := 1
	if days > 90 {
		prec = 0
	}
	x := func(i int) string {
		return strconv.FormatFloat(plotLeft+float64(i)*float64(plotRight-plotLeft)/float64(days-1), 'f', prec, 64)
	}
	y := func(v int64) string {
		return strconv.FormatFloat(plotBottom-float64(v)*float64(plotBottom-plotTop)/float64(step*chartTicks), 'f', prec, 64)
	}
	for k := 0; k <= chartTicks; k++ {
		c.YTicks = append(c.YTicks, tick{Pos: y(int64(k) * step), Label: strconv.FormatInt(int64(k)*step, 10)})
	}
	// Five labels, a quarter of the range apart (0, 7, 14, 21 and 29 of
	// 30 days); a year's name their year too.
	layout := "01-02"
	if days > 90 {
		layout = time.DateOnly
	}
	for k := range 5 {
		i := k * (days - 1) / 4
		c.XTicks = append(c.XTicks, tick{Pos: x(i), Label: trend.Date(from + int64(i)).Format(layout)})
	}
	var latest *trend.Figures
	var latestDay int64
	for _, s := range specs {
		sr := series{Label: s.label, Class: s.class}
		var run []string
		var lone point // the run's point, while it has one
		end := func() {
			switch {
			case len(run) > 1:
				sr.Runs = append(sr.Runs, strings.Join(run, " "))
			case len(run) == 1 && days > dotDays:
				sr.Dots = append(sr.Dots, lone)
			}
			run = nil
		}
		for i := range days {
			f := byDay[from+int64(i)]
			if f == nil {
				end()
				continue
			}
			latest, latestDay = f, from+int64(i)
			p := point{X: x(i), Y: y(s.value(f))}
			run, lone = append(run, p.X+","+p.Y), p
			if days <= dotDays {
				sr.Dots = append(sr.Dots, p)
			}
		}
		end()
		c.Series = append(c.Series, sr)
	}
	if latest == nil {
		c.Desc = fmt.Sprintf("No daily snapshot in the last %d days yet.", days)
		return c
	}
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = fmt.Sprintf("%s %d", s.label, s.value(latest))
	}
	c.Desc = fmt.Sprintf("%d of the last %d days have a snapshot; the latest, %s: %s. The table below lists every day.",
		len(byDay), days, day(latestDay), strings.Join(parts, ", "))
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

// rangeNames names trendRanges: "30, 90 or 365".
func rangeNames() string {
	names := make([]string, len(trendRanges))
	for i, n := range trendRanges {
		names[i] = strconv.Itoa(n)
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
