package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
)

const jobCols = `id, kind, key, project_id, payload, state, attempts, owner, lease_till, error, created_at, updated_at, not_before`

func scanJob(r rowScanner) (jobs.Job, error) {
	var (
		j     jobs.Job
		state string
	)
	err := r.Scan(&j.ID, &j.Kind, &j.Key, &j.ProjectID, &j.Payload, &state, &j.Attempts, &j.Owner, &j.LeaseTill,
		&j.Error, &j.CreatedAt, &j.UpdatedAt, &j.NotBefore)
	j.State = jobs.State(state)
	return j, err
}

// Enqueue adds a queued job unless a queued or running job with the same
// kind and key exists (then that one is returned, joined). The live job is
// looked for first, so joining writes nothing (nor spends an id); the
// partial unique index jobs_live decides a race between enqueuers: the
// INSERT ... ON CONFLICT DO NOTHING of the second one (waiting for the
// first one's transaction on PostgreSQL; SQLite's IMMEDIATE transactions
// never race) inserts nothing, and the next round reads the live job.
// Joining a queued job writes only to lower its not_before to j's.
func (s *Store) Enqueue(ctx context.Context, j jobs.Job) (jobs.Job, bool, error) {
	j, err := s.enqueuable(j)
	if err != nil {
		return jobs.Job{}, false, err
	}
	var (
		out    jobs.Job
		joined bool
	)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, joined, err = s.enqueueIn(ctx, tx, j)
		return err
	})
	if err != nil {
		return jobs.Job{}, false, err
	}
	return out, joined, nil
}

// enqueueIn is Enqueue in tx: rounds until one joins or inserts. A live
// job may also finish between the conflict and the next read; then the
// round after inserts. Each round's statements see what other enqueuers
// committed (READ COMMITTED on PostgreSQL). Bounded only as a guard
// against a bug.
func (s *Store) enqueueIn(ctx context.Context, tx *sql.Tx, j jobs.Job) (jobs.Job, bool, error) {
	for range maxEnqueueRounds {
		out, joined, err := s.enqueueRound(ctx, tx, j)
		if err != nil || out.ID != 0 {
			return out, joined, err
		}
	}
	return jobs.Job{}, false, s.errf("enqueue %s/%s: live job kept vanishing", j.Kind, j.Key)
}

// maxEnqueueRounds bounds the rounds of one enqueue (see Enqueue).
const maxEnqueueRounds = 100

// enqueuable is j checked and with Enqueue's defaults.
func (s *Store) enqueuable(j jobs.Job) (jobs.Job, error) {
	if j.Kind == "" {
		return j, s.errf("enqueue: job needs a kind")
	}
	j.CreatedAt = cmp.Or(j.CreatedAt, time.Now().UnixMilli())
	j.NotBefore = max(j.NotBefore, 0)
	return j, nil
}

// enqueueRound is one round of enqueueIn: the live job of j's kind and
// key, joined; else j inserted; else (another enqueuer won) no job, for
// the next round to read.
func (s *Store) enqueueRound(ctx context.Context, tx *sql.Tx, j jobs.Job) (jobs.Job, bool, error) {
	out, err := scanJob(tx.QueryRowContext(ctx, s.d.liveJob(), j.Kind, j.Key))
	if err == nil {
		if out.State != jobs.Queued || out.NotBefore <= j.NotBefore {
			return out, true, nil
		}
		// Conditional: a claim may have taken the job since the read, or
		// another joiner lowered it further.
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET not_before = $2
			WHERE id = $1 AND state = 'queued' AND not_before > $2`, out.ID, j.NotBefore); err != nil {
			return jobs.Job{}, false, s.errf("enqueue: %w", err)
		}
		out.NotBefore = j.NotBefore
		return out, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return jobs.Job{}, false, s.errf("enqueue: %w", err)
	}
	out, err = scanJob(tx.QueryRowContext(ctx, `INSERT INTO jobs (kind, key, project_id, payload, state, attempts, created_at, updated_at, not_before)
		VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5, $6)
		ON CONFLICT (kind, key) WHERE state IN ('queued', 'running') DO NOTHING
		RETURNING `+jobCols, j.Kind, j.Key, j.ProjectID, j.Payload, j.CreatedAt, j.NotBefore))
	// No rows: another enqueuer won; its job is read next round.
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return jobs.Job{}, false, s.errf("enqueue: %w", err)
	}
	return out, false, nil
}

// liveJob reads the live (queued or running) job of a kind ($1) and key
// ($2), through jobs_live on SQLite: with statistics ANALYZE took while
// jobs was empty (a new file's first ANALYZE or PRAGMA optimize), SQLite
// chose jobs_ready instead and stepped over every queued job of the kind
// on each enqueue, so a scan-all queueing 20,000 scans took five minutes.
func (d Dialect) liveJob() string {
	return `SELECT ` + jobCols + ` FROM jobs` + d.indexedBy("jobs_live") + `
		WHERE kind = $1 AND key = $2 AND state IN ('queued', 'running')`
}

// Claim leases the first ready job of the kinds in (not_before, id) order:
// queued with not_before up to now (the caller's clock on both engines:
// see jobs.Store), or running with a lease that expired (by the engine's
// lease clock; now stamps updated_at). The order keeps the walk of
// jobs_ready (kind, not_before, id) short: undelayed jobs hold 0 and come
// first, and the delayed ones past now are outside the range read (SQLite
// reads the same index under the name jobs_claim).
// One UPDATE ... RETURNING in a transaction: SQLite runs it alone (one
// writer, BEGIN IMMEDIATE); PostgreSQL
// locks the candidate FOR UPDATE SKIP LOCKED, so concurrent claimers each
// take a different job instead of queueing behind one row, and re-checks
// the locked row, so a job another claimer just took is never taken again.
func (s *Store) Claim(ctx context.Context, kinds []string, owner string, now time.Time, lease time.Duration) (jobs.Job, error) {
	if len(kinds) == 0 {
		return jobs.Job{}, jobs.ErrNoJob
	}
	b := newBuilder(s.d)
	set := `UPDATE jobs SET state = 'running', owner = ` + b.Arg(owner) + `, lease_till = ` + s.d.leaseNow(b, now) +
		` + ` + b.Arg(lease.Milliseconds()) + `, attempts = attempts + 1, updated_at = ` + b.Arg(now.UnixMilli())
	w := newBuilder(s.d, b.Args()...)
	w.In("kind", kinds)
	w.Where(`state IN ('queued', 'running')`)
	w.Op("not_before", "<=", now.UnixMilli())
	w.Where(`(state = 'queued' OR lease_till < ` + s.d.leaseNow(w, now) + `)`)
	var j jobs.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, set+` WHERE id = (SELECT id FROM jobs WHERE `+w.SQL()+
			` ORDER BY not_before, id LIMIT 1`+s.d.skipLocked()+`) RETURNING `+jobCols, w.Args()...))
		if errors.Is(err, sql.ErrNoRows) {
			return jobs.ErrNoJob
		}
		return s.wrap(err, "claim")
	})
	return j, err
}

// Heartbeat extends the lease l to now+lease by the engine's lease clock,
// if l is the job's current claim.
func (s *Store) Heartbeat(ctx context.Context, l jobs.Lease, now time.Time, lease time.Duration) error {
	b := newBuilder(s.d)
	q := `UPDATE jobs SET lease_till = ` + s.d.leaseNow(b, now) + ` + ` + b.Arg(lease.Milliseconds()) +
		`, updated_at = ` + b.Arg(now.UnixMilli())
	return s.leasedUpdate(ctx, l, b, q)
}

// Finish ends the job of lease l: done, or failed with errMsg.
func (s *Store) Finish(ctx context.Context, l jobs.Lease, errMsg string, now time.Time) error {
	state := jobs.Done
	if errMsg != "" {
		state = jobs.Failed
	}
	b := newBuilder(s.d)
	q := `UPDATE jobs SET state = ` + b.Arg(string(state)) + `, error = ` + b.Arg(errMsg) +
		`, lease_till = 0, updated_at = ` + b.Arg(now.UnixMilli())
	return s.leasedUpdate(ctx, l, b, q)
}

// Release puts the job of lease l back in the queue, its attempt uncounted.
func (s *Store) Release(ctx context.Context, l jobs.Lease, now time.Time) error {
	b := newBuilder(s.d)
	q := `UPDATE jobs SET state = 'queued', owner = '', lease_till = 0, attempts = attempts - 1, updated_at = ` +
		b.Arg(now.UnixMilli())
	return s.leasedUpdate(ctx, l, b, q)
}

// leasedUpdate runs the update set (its arguments bound in b) guarded by
// the lease (owner and attempt) and state; no row changed means the lease
// is lost (or the job does not exist: ErrNotFound).
func (s *Store) leasedUpdate(ctx context.Context, l jobs.Lease, b *builder, set string) error {
	b.Eq("id", l.ID)
	b.Eq("owner", l.Owner)
	b.Eq("attempts", l.Attempt)
	b.Where(`state = 'running'`)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := execCount(ctx, tx, set+` WHERE `+b.SQL(), b.Args()...)
		if err != nil {
			return s.errf("job %d: %w", l.ID, err)
		}
		if n > 0 {
			return nil
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = $1`, l.ID).Scan(&one); err != nil {
			return s.notFound(err, fmt.Sprintf("job %d", l.ID))
		}
		return s.errf("job %d attempt %d: %w", l.ID, l.Attempt, jobs.ErrLeaseLost)
	})
}

// purgeBatch bounds the rows one purge statement deletes, so that a first
// purge of a large backlog never holds the write lock (SQLite) or many row
// locks (PostgreSQL) for long.
const purgeBatch = 1000

// PurgeJobs deletes ended jobs last updated before before, in batches.
func (s *Store) PurgeJobs(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := execCount(ctx, s.write, `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
			WHERE state IN ('done', 'failed') AND updated_at < $1 LIMIT $2)`, before.UnixMilli(), purgeBatch)
		if err != nil {
			return total, s.errf("purge jobs: %w", err)
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// GetJob returns a job by id (inventory.ErrNotFound when there is none).
func (s *Store) GetJob(ctx context.Context, id int64) (jobs.Job, error) {
	j, err := scanJob(s.read.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	return j, s.notFound(err, fmt.Sprintf("job %d", id))
}

// LatestJob returns the newest job of kind in any state
// (inventory.ErrNotFound when there is none): the newest
// of each state through the jobs_ready index (state, kind, id), so it reads
// four index entries whatever the number of jobs of other kinds.
func (s *Store) LatestJob(ctx context.Context, kind string) (jobs.Job, error) {
	// One statement: a purge between reading the id and the row would
	// answer not found for a job that has a newer one.
	j, err := scanJob(s.read.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = (SELECT MAX(id) FROM (
		SELECT MAX(id) AS id FROM jobs WHERE state = 'queued' AND kind = $1
		UNION ALL SELECT MAX(id) AS id FROM jobs WHERE state = 'running' AND kind = $2
		UNION ALL SELECT MAX(id) AS id FROM jobs WHERE state = 'done' AND kind = $3
		UNION ALL SELECT MAX(id) AS id FROM jobs WHERE state = 'failed' AND kind = $4) AS latest)`,
		kind, kind, kind, kind))
	return j, s.notFound(err, kind+" job")
}

// QueueScans enqueues the scan jobs js (each as Enqueue does) and marks
// projectID's rows of digests waiting_for_scan, unless being scanned right
// now (a request that joins a running scan must not make it look queued
// again; a settled status is kept as projectStatus keeps it), in one
// transaction under the digests' scan locks: no worker claims a job
// before its rows say waiting, and no sweep sees rows waiting without
// their job. A scan request queues its batch so: one statement on images
// for the batch, where one per digest (each parsing the table's trigger
// programs) was most of a large scan-all. It returns the jobs as Enqueue
// would, and whether each joined a live one.
func (s *Store) QueueScans(ctx context.Context, projectID string, js []jobs.Job, digests []string) ([]jobs.Job, []bool, error) {
	for i := range js {
		var err error
		if js[i], err = s.enqueuable(js[i]); err != nil {
			return nil, nil, err
		}
	}
	ds := make([]string, 0, len(digests))
	for _, d := range digests {
		if s.storable(d) { // else no row can describe it
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	ds = slices.Compact(ds)
	out, joined := make([]jobs.Job, len(js)), make([]bool, len(js))
	err := s.scanTx(ctx, ds, func(tx *sql.Tx, _ *sql.Conn) error {
		for i, j := range js {
			var err error
			if out[i], joined[i], err = s.enqueueIn(ctx, tx, j); err != nil {
				return err
			}
		}
		if len(ds) == 0 {
			return nil
		}
		b := newBuilder(s.d)
		set := `UPDATE images SET scan_status = ` + b.Arg(string(inventory.WaitingForScan)) + `, scan_failed_desc = '', ` +
			keepSettled + ` WHERE `
		b.In("manifest_digest", ds)
		b.Eq("project_id", projectID)
		b.Where(pendingScanNot)
		_, err := tx.ExecContext(ctx, set+b.SQL(), b.Args()...)
		return s.wrap(err, fmt.Sprintf("mark %d scans waiting", len(ds)))
	})
	if err != nil {
		return nil, nil, err
	}
	return out, joined, nil
}

// pendingScanNot is true of a row whose scan is neither queued nor
// running: what QueueScans marks waiting.
const pendingScanNot = `scan_status NOT IN ('waiting_for_scan', 'scanning')`
