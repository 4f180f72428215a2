package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openhss/openhss/internal/jobs"
)

const jobCols = `id, kind, key, project_id, payload, state, attempts, owner, lease_till, error, created_at, updated_at`

func scanJob(r rowScanner) (jobs.Job, error) {
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
// kind and key exists (then that one is returned, joined). The check and the
// insert share one IMMEDIATE transaction, so no other writer, in this process
// or another, can slip a twin in between; the partial unique index jobs_live
// backs that up.
func (s *Store) Enqueue(ctx context.Context, j jobs.Job) (jobs.Job, bool, error) {
	if j.Kind == "" {
		return jobs.Job{}, false, errors.New("sqlite: enqueue: job needs a kind")
	}
	now := time.Now().UnixMilli()
	if j.CreatedAt == 0 {
		j.CreatedAt = now
	}
	var (
		out    jobs.Job
		joined bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanJob(tx.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs
			WHERE kind = ? AND key = ? AND state IN ('queued', 'running')`, j.Kind, j.Key))
		if err == nil {
			joined = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: enqueue: %w", err)
		}
		out, err = scanJob(tx.QueryRowContext(ctx, `INSERT INTO jobs (kind, key, project_id, payload, state, attempts, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'queued', 0, ?, ?) RETURNING `+jobCols, j.Kind, j.Key, j.ProjectID, j.Payload, j.CreatedAt, j.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: enqueue: %w", err)
		}
		return nil
	})
	return out, joined, err
}

// Claim leases the oldest ready job of the kinds: queued, or running with a
// lease that expired before now. One UPDATE ... RETURNING in an IMMEDIATE
// transaction: two claimers never get the same job.
func (s *Store) Claim(ctx context.Context, kinds []string, owner string, now time.Time, lease time.Duration) (jobs.Job, error) {
	if len(kinds) == 0 {
		return jobs.Job{}, jobs.ErrNoJob
	}
	nowMs := now.UnixMilli()
	args := []any{owner, now.Add(lease).UnixMilli(), nowMs}
	for _, k := range kinds {
		args = append(args, k)
	}
	args = append(args, nowMs)
	var j jobs.Job
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, `UPDATE jobs SET state = 'running', owner = ?, lease_till = ?,
				attempts = attempts + 1, updated_at = ?
			WHERE id = (SELECT id FROM jobs WHERE kind`+inList(len(kinds))+`
				AND (state = 'queued' OR (state = 'running' AND lease_till < ?)) ORDER BY id LIMIT 1)
			RETURNING `+jobCols, args...))
		if errors.Is(err, sql.ErrNoRows) {
			return jobs.ErrNoJob
		}
		if err != nil {
			return fmt.Errorf("sqlite: claim: %w", err)
		}
		return nil
	})
	return j, err
}

// Heartbeat extends the lease l to now+lease, if l is the job's current
// claim. SQLite serves one host, so the caller's clock is the clock.
func (s *Store) Heartbeat(ctx context.Context, l jobs.Lease, now time.Time, lease time.Duration) error {
	return s.leasedUpdate(ctx, l, `UPDATE jobs SET lease_till = ?, updated_at = ?
		WHERE id = ? AND owner = ? AND attempts = ? AND state = 'running'`,
		now.Add(lease).UnixMilli(), now.UnixMilli(), l.ID, l.Owner, l.Attempt)
}

// Finish ends the job of lease l: done, or failed with errMsg.
func (s *Store) Finish(ctx context.Context, l jobs.Lease, errMsg string, now time.Time) error {
	state := jobs.Done
	if errMsg != "" {
		state = jobs.Failed
	}
	return s.leasedUpdate(ctx, l, `UPDATE jobs SET state = ?, error = ?, lease_till = 0, updated_at = ?
		WHERE id = ? AND owner = ? AND attempts = ? AND state = 'running'`,
		string(state), errMsg, now.UnixMilli(), l.ID, l.Owner, l.Attempt)
}

// Release puts the job of lease l back in the queue, its attempt uncounted.
func (s *Store) Release(ctx context.Context, l jobs.Lease, now time.Time) error {
	return s.leasedUpdate(ctx, l, `UPDATE jobs SET state = 'queued', owner = '', lease_till = 0,
			attempts = attempts - 1, updated_at = ?
		WHERE id = ? AND owner = ? AND attempts = ? AND state = 'running'`,
		now.UnixMilli(), l.ID, l.Owner, l.Attempt)
}

// leasedUpdate runs an update guarded by the lease (owner and attempt) and
// state; no row changed means the lease is lost (or the job does not
// exist: ErrNotFound).
func (s *Store) leasedUpdate(ctx context.Context, l jobs.Lease, query string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("sqlite: job %d: %w", l.ID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ?`, l.ID).Scan(&one); err != nil {
			return notFound(err, fmt.Sprintf("job %d", l.ID))
		}
		return fmt.Errorf("sqlite: job %d attempt %d: %w", l.ID, l.Attempt, jobs.ErrLeaseLost)
	})
}

// purgeBatch bounds the rows one purge transaction deletes, so that a first
// purge of a large backlog never holds the write lock for long.
const purgeBatch = 1000

// PurgeJobs deletes ended jobs last updated before before, in batches.
func (s *Store) PurgeJobs(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM jobs WHERE id IN (SELECT id FROM jobs
				WHERE state IN ('done', 'failed') AND updated_at < ? LIMIT ?)`, before.UnixMilli(), purgeBatch)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sqlite: purge jobs: %w", err)
		}
		total += n
		if n < purgeBatch {
			return total, nil
		}
	}
}

// GetJob returns a job by id (inventory.ErrNotFound when there is none).
func (s *Store) GetJob(ctx context.Context, id int64) (jobs.Job, error) {
	j, err := scanJob(s.read.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return j, notFound(err, fmt.Sprintf("job %d", id))
	}
	return j, nil
}
