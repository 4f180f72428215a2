package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/jobs"
)

const jobCols = `id, kind, key, project_id, payload, state, attempts, owner, lease_till, error, created_at, updated_at`

func scanJob(r pgx.Row) (jobs.Job, error) {
	var (
		j     jobs.Job
		state string
	)
	err := r.Scan(&j.ID, &j.Kind, &j.Key, &j.ProjectID, &j.Payload, &state, &j.Attempts, &j.Owner, &j.LeaseTill,
		&j.Error, &j.CreatedAt, &j.UpdatedAt)
	j.State = jobs.State(state)
	return j, err
}

// Enqueue adds a queued job unless a queued or running job with the same
// kind and key exists (then that one is returned, joined). The partial
// unique index jobs_live decides: the INSERT ... ON CONFLICT DO NOTHING of
// a second enqueuer waits for the first one's transaction and then inserts
// nothing, and reading the live job follows.
func (s *Store) Enqueue(ctx context.Context, j jobs.Job) (jobs.Job, bool, error) {
	if j.Kind == "" {
		return jobs.Job{}, false, errors.New("postgres: enqueue: job needs a kind")
	}
	if j.CreatedAt == 0 {
		j.CreatedAt = time.Now().UnixMilli()
	}
	// The live job found by the conflict may finish before it is read; then
	// the next round inserts. Bounded only as a guard against a bug.
	for range 100 {
		out, err := scanJob(s.pool.QueryRow(ctx, `INSERT INTO jobs (kind, key, project_id, payload, state, attempts, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5)
			ON CONFLICT (kind, key) WHERE state IN ('queued', 'running') DO NOTHING
			RETURNING `+jobCols, j.Kind, j.Key, j.ProjectID, j.Payload, j.CreatedAt))
		if err == nil {
			return out, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return jobs.Job{}, false, fmt.Errorf("postgres: enqueue: %w", err)
		}
		out, err = scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs
			WHERE kind = $1 AND key = $2 AND state IN ('queued', 'running')`, j.Kind, j.Key))
		if err == nil {
			return out, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return jobs.Job{}, false, fmt.Errorf("postgres: enqueue: %w", err)
		}
	}
	return jobs.Job{}, false, fmt.Errorf("postgres: enqueue %s/%s: live job kept vanishing", j.Kind, j.Key)
}

// dbNowMs is the database's clock in ms. Leases are set and judged by it,
// never by the caller's clock: hosts sharing the database may disagree
// about the time, and a host whose clock runs ahead must not take a job
// whose lease another host keeps renewing. clock_timestamp(), not now():
// now() is the start of the transaction.
const dbNowMs = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`

// Claim leases the oldest ready job of the kinds: queued, or running with a
// lease that expired by the database's clock (now only stamps updated_at).
// The candidate is locked FOR UPDATE SKIP LOCKED, so concurrent claimers in
// any process each take a different job instead of queueing behind one row,
// and the locked row is re-checked after the lock, so a job another claimer
// just took is never taken again.
func (s *Store) Claim(ctx context.Context, kinds []string, owner string, now time.Time, lease time.Duration) (jobs.Job, error) {
	if len(kinds) == 0 {
		return jobs.Job{}, jobs.ErrNoJob
	}
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET state = 'running', owner = $1, lease_till = `+dbNowMs+` + $2,
			attempts = attempts + 1, updated_at = $3
		WHERE id = (SELECT id FROM jobs WHERE kind = ANY($4) AND state IN ('queued', 'running')
			AND (state = 'queued' OR lease_till < `+dbNowMs+`) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobCols, owner, lease.Milliseconds(), now.UnixMilli(), kinds))
	if errors.Is(err, pgx.ErrNoRows) {
		return jobs.Job{}, jobs.ErrNoJob
	}
	if err != nil {
		return jobs.Job{}, fmt.Errorf("postgres: claim: %w", err)
	}
	return j, nil
}

// Heartbeat extends the lease l to the database's now+lease, if l is the
// job's current claim.
func (s *Store) Heartbeat(ctx context.Context, l jobs.Lease, now time.Time, lease time.Duration) error {
	return s.leasedUpdate(ctx, l, `UPDATE jobs SET lease_till = `+dbNowMs+` + $1, updated_at = $2
		WHERE id = $3 AND owner = $4 AND attempts = $5 AND state = 'running'`,
		lease.Milliseconds(), now.UnixMilli(), l.ID, l.Owner, l.Attempt)
}

// Finish ends the job of lease l: done, or failed with errMsg.
func (s *Store) Finish(ctx context.Context, l jobs.Lease, errMsg string, now time.Time) error {
	state := jobs.Done
	if errMsg != "" {
		state = jobs.Failed
	}
	return s.leasedUpdate(ctx, l, `UPDATE jobs SET state = $1, error = $2, lease_till = 0, updated_at = $3
		WHERE id = $4 AND owner = $5 AND attempts = $6 AND state = 'running'`,
		string(state), errMsg, now.UnixMilli(), l.ID, l.Owner, l.Attempt)
}

// Release puts the job of lease l back in the queue, its attempt uncounted.
func (s *Store) Release(ctx context.Context, l jobs.Lease, now time.Time) error {
	return s.leasedUpdate(ctx, l, `UPDATE jobs SET state = 'queued', owner = '', lease_till = 0,
			attempts = attempts - 1, updated_at = $1
		WHERE id = $2 AND owner = $3 AND attempts = $4 AND state = 'running'`,
		now.UnixMilli(), l.ID, l.Owner, l.Attempt)
}

// leasedUpdate runs an update guarded by the lease (owner and attempt) and
// state; no row changed means the lease is lost (or the job does not
// exist: ErrNotFound).
func (s *Store) leasedUpdate(ctx context.Context, l jobs.Lease, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("postgres: job %d: %w", l.ID, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM jobs WHERE id = $1`, l.ID).Scan(&one); err != nil {
		return notFound(err, fmt.Sprintf("job %d", l.ID))
	}
	return fmt.Errorf("postgres: job %d attempt %d: %w", l.ID, l.Attempt, jobs.ErrLeaseLost)
}

// purgeBatch bounds the rows one purge statement deletes, so that a first
// purge of a large backlog never holds many row locks for long.
const purgeBatch = 1000

// PurgeJobs deletes ended jobs last updated before before, in batches.
func (s *Store) PurgeJobs(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
			WHERE state IN ('done', 'failed') AND updated_at < $1 LIMIT $2)`, before.UnixMilli(), purgeBatch)
		if err != nil {
			return total, fmt.Errorf("postgres: purge jobs: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < purgeBatch {
			return total, nil
		}
	}
}

// GetJob returns a job by id (inventory.ErrNotFound when there is none).
func (s *Store) GetJob(ctx context.Context, id int64) (jobs.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	if err != nil {
		return j, notFound(err, fmt.Sprintf("job %d", id))
	}
	return j, nil
}
