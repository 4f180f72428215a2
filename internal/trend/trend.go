// Package trend holds the Overview's figures of a scope (a project's images
// within some enterprise projects): counted now, one way for the page and
// for the daily snapshots, and kept per UTC day so that the Overview draws
// their last 30 days (docs/console.md, Overview).
//
// A snapshot is one row per (project, enterprise project, UTC day), stored
// with INSERT ... ON CONFLICT on that key: the key is the claim. Every
// openhss serve with workers runs a Snapshotter; whichever process writes a
// scope's row of the day first keeps it, the others' writes are dropped,
// so one database holds one row per scope and day however many servers
// share it. With Options.Refresh, today's row is recounted during its day:
// the same upsert replaces it only when the stored row was taken more than
// Refresh before the writer's count, so the servers replace it once per
// interval, a newer count is never replaced by an older one, and a past
// day, which no pass counts, never changes. The console sums the rows of
// the session's granted enterprise projects.
package trend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// The overview's severities of findings, in the order it shows them
// (Severities' indexes).
const (
	Critical = iota
	High
	Medium
	Low
	Unknown
	NumSeverities
)

// Severities are the labels of the severities, by index.
var Severities = [NumSeverities]string{"Critical", "High", "Medium", "Low", "Unknown"}

// Tally is one severity's findings and how many of them have a fixed
// version.
type Tally struct {
	Findings, Fixable int64
}

// Figures are what a snapshot keeps of a scope: image coverage and
// findings by severity.
type Figures struct {
	Images, Scanned, Failed, Unscanned int64
	Findings                           [NumSeverities]Tally
}

// Counts are the Overview's figures of a scope now: the Figures a
// snapshot keeps, the images waiting or scanning, and the images by their
// highest severity (scanresult.LevelHigh, LevelMedium, LevelLow).
type Counts struct {
	Figures
	Waiting int64
	Levels  [3]int64
	// FailedBy is Failed per image type (inventory.ImageTypes' order) and
	// failed status (Failed's order): where the Overview has failures to
	// list.
	FailedBy [4][3]int64
}

// Levels are the severity_level values of Counts.Levels, by index.
var Levels = [3]string{scanresult.LevelHigh, scanresult.LevelMedium, scanresult.LevelLow}

// Failed is the scan statuses the Overview counts as failed.
var Failed = []inventory.ScanStatus{inventory.ScanFailed, inventory.DownloadFailed, inventory.ImageOversized}

// ImageCount is how many of a scope's images have one image type, scan
// status and severity level ("" before a successful scan).
type ImageCount struct {
	Type          inventory.ImageType
	ScanStatus    inventory.ScanStatus
	SeverityLevel string
	Images        int64
}

// Counter is what counting reads: the scope's images by type, status and
// severity level, and the findings of the scanned rows.
type Counter interface {
	// ImageCounts returns projectID's images within enterpriseProjects
	// (nil: every one; empty: none) grouped by (type, scan status,
	// severity level), all read in one snapshot: each figure of Count
	// is a sum of them, so they add up with one another.
	ImageCounts(ctx context.Context, projectID string, enterpriseProjects []string) ([]ImageCount, error)
	CountFindings(ctx context.Context, projectID string, enterpriseProjects []string) ([]scanresult.SeverityCount, error)
}

// Count counts a project's images within enterpriseProjects: each figure
// the sum, over the image types, of the images whose status (or severity
// level) it counts, which is the total_num of the image list filtered so,
// and the findings by severity. The Overview and the snapshots count with
// it. One read of the image counts rather than one list total per type
// and status (44 reads, each of its own snapshot).
func Count(ctx context.Context, c Counter, projectID string, enterpriseProjects []string) (Counts, error) {
	images, err := c.ImageCounts(ctx, projectID, enterpriseProjects)
	if err != nil {
		return Counts{}, fmt.Errorf("trend: count images: %w", err)
	}
	var out Counts
	types := inventory.ImageTypes()
	for _, ic := range images {
		if !ic.Type.Valid() {
			continue
		}
		out.Images += ic.Images
		switch st := ic.ScanStatus; {
		case st == inventory.ScanSuccess:
			out.Scanned += ic.Images
		case slices.Contains(Failed, st):
			out.Failed += ic.Images
			out.FailedBy[slices.Index(types, ic.Type)][slices.Index(Failed, st)] += ic.Images
		case st == inventory.Unscan:
			out.Unscanned += ic.Images
		case st == inventory.WaitingForScan || st == inventory.Scanning:
			out.Waiting += ic.Images
		}
		if i := slices.Index(Levels[:], ic.SeverityLevel); i >= 0 {
			out.Levels[i] += ic.Images
		}
	}
	sev, err := c.CountFindings(ctx, projectID, enterpriseProjects)
	if err != nil {
		return Counts{}, fmt.Errorf("trend: count findings: %w", err)
	}
	out.Findings = Buckets(sev)
	return out, nil
}

// Buckets folds the stored severity labels (an advisory's CVSS rating, a
// distribution's word, or none) into the Overview's five: the classes of
// scanresult.ClassOfSeverity, which the image detail's severity filter
// selects too, in the order of Severities.
func Buckets(counts []scanresult.SeverityCount) [NumSeverities]Tally {
	var out [NumSeverities]Tally
	for _, c := range counts {
		i := slices.Index(scanresult.SeverityClasses, scanresult.ClassOfSeverity(c.Severity))
		out[i].Findings += c.Findings
		out[i].Fixable += c.Fixable
	}
	return out
}

// Day is the UTC day of t, in days since 1970-01-01.
func Day(t time.Time) int64 {
	return t.UTC().Unix() / 86400
}

// Date is the start of day d (UTC).
func Date(d int64) time.Time {
	return time.Unix(d*86400, 0).UTC()
}

// Scope is a project's enterprise project: what one snapshot counts.
type Scope struct {
	ProjectID, EnterpriseProjectID string
}

// Snapshot is one scope's figures of one UTC day.
type Snapshot struct {
	Scope
	Day     int64 // days since 1970-01-01 (Day)
	TakenAt int64 // ms
	Figures
}

// Point is the figures of one day summed over the snapshots of the
// enterprise projects asked for.
type Point struct {
	Day int64
	Figures
}

// Store is what the Snapshotter needs: counting, and the snapshot rows.
type Store interface {
	Counter
	// PendingTrendScopes lists the scopes that have no snapshot of day,
	// or one taken before staleBefore (ms; 0: only those without one):
	// those with images or registry connections, and those whose snapshot
	// of the day before, or whose stale one of day, counted images (so
	// that a scope emptied since shows its drop to 0).
	PendingTrendScopes(ctx context.Context, day, staleBefore int64) ([]Scope, error)
	// PutTrendSnapshot stores s as its scope's snapshot of s.Day: added
	// when there is none, replacing one taken before replaceBefore (ms;
	// 0: never replace). False when a snapshot taken at or after
	// replaceBefore was there (nothing changed).
	PutTrendSnapshot(ctx context.Context, s Snapshot, replaceBefore int64) (bool, error)
	// PruneTrend deletes the snapshots of days before before.
	PruneTrend(ctx context.Context, before int64) (int64, error)
}

// Reader reads the summed snapshots (the console's Overview).
type Reader interface {
	// TrendPoints returns, oldest first, the days from..to (inclusive)
	// with at least one snapshot of projectID within enterpriseProjects
	// (nil: every one), each the sum of those snapshots. A day without a
	// snapshot is absent, not zero.
	TrendPoints(ctx context.Context, projectID string, enterpriseProjects []string, from, to int64) ([]Point, error)
}

// Defaults.
const (
	// DefaultKeep is how many days of snapshots are kept.
	DefaultKeep = 400
	// MinKeep is the least: the Overview draws 30 days by default (its
	// 90 and 365 days show the days past Keep as days without a snapshot).
	MinKeep = 30
	// DefaultEvery is how often Run looks for scopes without the day's
	// snapshot.
	DefaultEvery = time.Minute
	// DefaultRefresh is serve --trend-refresh's default: today's point is
	// at most an hour (and a pass) old.
	DefaultRefresh = time.Hour
)

// Options configure a Snapshotter. Store is required.
type Options struct {
	Store Store
	// Keep is how many days of snapshots are kept (default DefaultKeep, at
	// least MinKeep).
	Keep int
	// Refresh is how long today's snapshot of a scope stands before a
	// pass counts the scope again and replaces it; 0 never replaces it
	// (a day's point is the scope as the day's first pass found it). Past
	// days are never recounted.
	Refresh time.Duration
	// Now is the clock (default time.Now): tests move it by days.
	Now    func() time.Time
	Logger *slog.Logger // default slog.Default()
}

// Snapshotter takes each scope's snapshot of the day.
type Snapshotter struct {
	o      Options
	pruned atomic.Int64 // the day of the last prune
}

// New returns a Snapshotter.
func New(o Options) (*Snapshotter, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("trend: Options.Store is required")
	case o.Keep < 0:
		return nil, fmt.Errorf("trend: negative Keep %d", o.Keep)
	case o.Refresh < 0:
		return nil, fmt.Errorf("trend: negative Refresh %s", o.Refresh)
	case o.Keep == 0:
		o.Keep = DefaultKeep
	case o.Keep < MinKeep:
		return nil, fmt.Errorf("trend: Keep %d is under %d days", o.Keep, MinKeep)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	sn := &Snapshotter{o: o}
	sn.pruned.Store(-1)
	return sn, nil
}

// Take stores today's snapshot of every scope that has none yet, replaces
// those taken more than Refresh ago, and, at its first pass of a day,
// prunes the days past Keep. It returns today and how many snapshots this
// call stored (another process may have stored the others). A scope's
// failure does not stop the others; the failures are returned joined.
func (s *Snapshotter) Take(ctx context.Context) (day int64, taken int, err error) {
	now := s.o.Now()
	day = Day(now)
	// A snapshot of today taken before stale is recounted (none when
	// Refresh is 0: every stored snapshot was taken at or after 0).
	var stale int64
	if s.o.Refresh > 0 {
		stale = inventory.Millis(now.Add(-s.o.Refresh))
	}
	scopes, err := s.o.Store.PendingTrendScopes(ctx, day, stale)
	if err != nil {
		return day, 0, fmt.Errorf("trend: pending scopes: %w", err)
	}
	var errs []error // every scope is tried; Run logs them once
	for _, sc := range scopes {
		c, err := Count(ctx, s.o.Store, sc.ProjectID, []string{sc.EnterpriseProjectID})
		if err == nil {
			var ok bool
			ok, err = s.o.Store.PutTrendSnapshot(ctx, Snapshot{Scope: sc, Day: day, TakenAt: inventory.Millis(now), Figures: c.Figures}, stale)
			if ok {
				taken++
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("trend: snapshot of project %s, enterprise project %s: %w", sc.ProjectID,
				sc.EnterpriseProjectID, err))
		}
	}
	if s.pruned.Load() != day {
		if _, err := s.o.Store.PruneTrend(ctx, day-int64(s.o.Keep)); err != nil {
			errs = append(errs, fmt.Errorf("trend: prune: %w", err))
		} else {
			s.pruned.Store(day)
		}
	}
	return day, taken, errors.Join(errs...)
}

// Run takes the pending snapshots now and then every interval
// (DefaultEvery when 0) until ctx ends: a scope that appears during the
// day (a first connection, a first image) gets its snapshot of the day at
// the next pass, today's snapshots are recounted at the first pass after
// they are Refresh old, and a pass with nothing pending is one read.
func (s *Snapshotter) Run(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = DefaultEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		day, n, err := s.Take(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.o.Logger.Error("trend snapshots", "err", err)
		case n > 0:
			s.o.Logger.Info("trend snapshots taken", "day", Date(day).Format(time.DateOnly), "scopes", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
