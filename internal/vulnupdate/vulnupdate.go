// Package vulnupdate is `openhss db update`: download the OSV archives
// (<base-url>/<Ecosystem>/all.zip), import them, and re-match every stored
// inventory when the data changed, so vul_num and the findings follow the
// new data at once. The CLI runs it in the foreground; the console's
// "Update now" queues it as a "vulndb-update" job that the workers of
// `openhss serve` run, one at a time (docs/console.md, Settings).
package vulnupdate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/vulndb"
)

// JobKind is the job kind of an update. Every update job has the key
// jobKey: the queue keeps at most one queued or running job per kind and
// key, so a second request while one is queued or running joins it.
const JobKind = "vulndb-update"

const jobKey = "all"

// Importer downloads and imports the archives: *vulndb.DB.
type Importer interface {
	Update(ctx context.Context, baseURL string, ecosystems []string) ([]vulndb.ImportResult, error)
}

// Rematcher re-matches every stored inventory: *scanjob.Service.
type Rematcher interface {
	Rematch(ctx context.Context) (scanjob.RematchStats, error)
}

// Queue is the job queue the console's requests go to, and where their
// state is read.
type Queue interface {
	Enqueue(ctx context.Context, j jobs.Job) (jobs.Job, bool, error)
	// LatestJob is the newest job of kind in any state
	// (inventory.ErrNotFound when there is none).
	LatestJob(ctx context.Context, kind string) (jobs.Job, error)
}

// Options configure an Updater. DB and Rematch are required; Queue only
// for Request and Latest.
type Options struct {
	DB      Importer
	Rematch Rematcher
	Queue   Queue
	// BaseURL and Ecosystems are what a job fetches (default
	// vulndb.DefaultBaseURL and vulndb.DefaultEcosystems).
	BaseURL    string
	Ecosystems []string
	// MinInterval (0: none) is how long after an update finished Request
	// takes another; sooner it answers a *TooSoonError. Update now is open
	// to the operators of every project, and each update downloads the
	// archives and re-matches the images of every project: this bounds how
	// often one tenant can make the server do that (docs/security.md). A
	// failed update does not count: it may be retried at once.
	MinInterval time.Duration
	// Wake tells the workers a job is queued (optional).
	Wake   func()
	Logger *slog.Logger     // default: discard
	Now    func() time.Time // default time.Now
}

// Updater runs updates, and queues them as jobs.
type Updater struct {
	o Options
}

// New returns an Updater.
func New(o Options) (*Updater, error) {
	switch {
	case o.DB == nil:
		return nil, errors.New("vulnupdate: Options.DB is required")
	case o.Rematch == nil:
		return nil, errors.New("vulnupdate: Options.Rematch is required")
	}
	if o.BaseURL == "" {
		o.BaseURL = vulndb.DefaultBaseURL
	}
	if len(o.Ecosystems) == 0 {
		o.Ecosystems = vulndb.DefaultEcosystems
	}
	o.Ecosystems = slices.Clone(o.Ecosystems)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Updater{o: o}, nil
}

// Run imports <baseURL>/<Ecosystem>/all.zip for each ecosystem (the
// Options' when empty), then re-matches the stored inventories when an
// import wrote records or completed an interrupted one (whose writes may
// never have been matched). What was imported before a failure is matched
// too; the error joins the failures.
func (u *Updater) Run(ctx context.Context, baseURL string, ecosystems []string) ([]vulndb.ImportResult, error) {
	if baseURL == "" {
		baseURL = u.o.BaseURL
	}
	if len(ecosystems) == 0 {
		ecosystems = u.o.Ecosystems
	}
	results, err := u.o.DB.Update(ctx, baseURL, ecosystems)
	if rerr := u.MatchAfter(ctx, results); rerr != nil {
		err = errors.Join(err, rerr)
	}
	return results, err
}

// MatchAfter re-matches every stored inventory when one of the imports
// wrote records, or completed an interrupted one (whose writes may never
// have been matched), so vul_num and the findings follow the new data at
// once (`openhss db import` too).
func (u *Updater) MatchAfter(ctx context.Context, results []vulndb.ImportResult) error {
	changed := false
	for _, r := range results {
		changed = changed || r.Changed()
	}
	if !changed {
		return nil
	}
	st, err := u.o.Rematch.Rematch(ctx)
	if err != nil {
		return fmt.Errorf("re-match stored images: %w", err)
	}
	u.o.Logger.Info("re-matched scanned images", "images", st.Images, "findings", st.Findings, "duration", st.Duration)
	return nil
}

// TooSoonError is Request's answer within Options.MinInterval of the end
// of the last update.
type TooSoonError struct {
	Finished time.Time // when the last update finished
	Next     time.Time // from when a request is taken again
}

func (e *TooSoonError) Error() string {
	return fmt.Sprintf("vulnupdate: the last update finished at %s; another is taken from %s",
		e.Finished.UTC().Format(time.RFC3339), e.Next.UTC().Format(time.RFC3339))
}

// Request queues an update job, or joins the one already queued or
// running (joined true): one update at a time, however many ask, and with
// Options.MinInterval none sooner than that after the last one finished.
func (u *Updater) Request(ctx context.Context) (jobs.Job, bool, error) {
	if u.o.Queue == nil {
		return jobs.Job{}, false, errors.New("vulnupdate: no queue")
	}
	at := u.o.Now()
	if u.o.MinInterval > 0 {
		// Two requests may both pass this check: the queue still keeps
		// one job, which the second joins.
		last, found, err := u.Latest(ctx)
		if err != nil {
			return jobs.Job{}, false, err
		}
		if found && last.State == jobs.Done {
			finished := time.UnixMilli(last.UpdatedAt)
			if next := finished.Add(u.o.MinInterval); at.Before(next) {
				return jobs.Job{}, false, &TooSoonError{Finished: finished, Next: next}
			}
		}
	}
	now := inventory.Millis(at)
	j, joined, err := u.o.Queue.Enqueue(ctx, jobs.Job{Kind: JobKind, Key: jobKey, State: jobs.Queued, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return jobs.Job{}, false, fmt.Errorf("vulnupdate: queue update: %w", err)
	}
	if u.o.Wake != nil {
		u.o.Wake()
	}
	return j, joined, nil
}

// Latest is the newest update job (queued, running, done or failed with
// its error); found false when there has been none since the last purge.
func (u *Updater) Latest(ctx context.Context) (jobs.Job, bool, error) {
	if u.o.Queue == nil {
		return jobs.Job{}, false, errors.New("vulnupdate: no queue")
	}
	j, err := u.o.Queue.LatestJob(ctx, JobKind)
	if errors.Is(err, inventory.ErrNotFound) {
		return jobs.Job{}, false, nil
	}
	if err != nil {
		return jobs.Job{}, false, fmt.Errorf("vulnupdate: latest update: %w", err)
	}
	return j, true, nil
}

// Handle runs an update job with the Options' base URL and ecosystems.
// A failure is the job's error, which the Settings page shows; the next
// request tries again.
func (u *Updater) Handle(ctx context.Context, j jobs.Job) error {
	if j.Kind != JobKind {
		return fmt.Errorf("vulnupdate: job %d has kind %q, not %q", j.ID, j.Kind, JobKind)
	}
	results, err := u.Run(ctx, "", nil)
	var written int
	for _, r := range results {
		written += r.Written
	}
	u.o.Logger.Info("vulnerability data update", "job", j.ID, "imports", len(results), "written", written, "err", err)
	return err
}
