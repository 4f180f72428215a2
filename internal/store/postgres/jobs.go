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

// Claim leases the oldest ready job of the kinds: queued, or running with a
// lease that expired before now. The candidate is locked FOR UPDATE SKIP
// LOCKED, so concurrent claimers in any process each take a different job
// instead of queueing behind one row, and the locked row is re-checked
// after the lock, so a job another claimer just took is never taken again.
func (s *Store) Claim(ctx context.Context, kinds []string, owner string, now time.Time, lease time.Duration) (jobs.Job, error) {
	if len(kinds) == 0 {
		return jobs.Job{}, jobs.ErrNoJob
	}
	nowMs := now.UnixMilli()
	j, err := scanJob(s.pool.QueryRow(ctx, `UPDATE jobs SET state = 'running', owner = $1, lease_till = $2,
			attempts = attempts + 1, updated_at = $3
		WHERE id = (SELECT id FROM jobs WHERE kind = ANY($4) AND state IN ('queued', 'running')
			AND (state = 'queued' OR lease_till < $3) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+jobCols, owner, now.Add(lease).UnixMilli(), nowMs, kinds))
	if errors.Is(err, pgx.ErrNoRows) {
		return jobs.Job{}, jobs.ErrNoJob
	}
	if err != nil {
		return jobs.Job{}, fmt.Errorf("postgres: claim: %w", err)
	}
	return j, nil
}

// Heartbeat extends the lease of a running job the owner holds.
func (s *Store) Heartbeat(ctx context.Context, id int64, owner string, until time.Time) error {
	return s.ownedUpdate(ctx, id, `UPDATE jobs SET lease_till = $1, updated_at = $2 WHERE id = $3 AND owner = $4 AND state = 'running'`,
		until.UnixMilli(), time.Now().UnixMilli(), id, owner)
}

// Finish ends a running job the owner holds: done, or failed with errMsg.
func (s *Store) Finish(ctx context.Context, id int64, owner string, errMsg string, now time.Time) error {
	state := jobs.Done
	if errMsg != "" {
		state = jobs.Failed
	}
	return s.ownedUpdate(ctx, id, `UPDATE jobs SET state = $1, error = $2, lease_till = 0, updated_at = $3
		WHERE id = $4 AND owner = $5 AND state = 'running'`, string(state), errMsg, now.UnixMilli(), id, owner)
}

// ownedUpdate runs an update guarded by owner and state; no row changed
// means the lease is lost (or the job does not exist: ErrNotFound).
func (s *Store) ownedUpdate(ctx context.Context, id int64, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("postgres: job %d: %w", id, err)
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM jobs WHERE id = $1`, id).Scan(&one); err != nil {
		return notFound(err, fmt.Sprintf("job %d", id))
	}
	return fmt.Errorf("postgres: job %d: %w", id, jobs.ErrLeaseLost)
}

// GetJob returns a job by id (inventory.ErrNotFound when there is none).
func (s *Store) GetJob(ctx context.Context, id int64) (jobs.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = $1`, id))
	if err != nil {
		return j, notFound(err, fmt.Sprintf("job %d", id))
	}
	return j, nil
}
