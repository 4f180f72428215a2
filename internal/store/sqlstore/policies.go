package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/policy"
)

const policyCols = `project_id, enabled, scan_cycle, scan_scope, rate_limit, time_scope, next_run_at, updated_at`

func scanPolicy(r rowScanner) (policy.Policy, error) {
	var p policy.Policy
	err := r.Scan(&p.ProjectID, &p.Enabled, &p.ScanCycle, &p.ScanScope, &p.RateLimit, &p.TimeScope, &p.NextRunAt, &p.UpdatedAt)
	return p, err
}

// policyRegistries reads the connections p selects.
func (s *Store) policyRegistries(ctx context.Context, projectID string) ([]int64, error) {
	return readAll(ctx, s, s.read, "scan policy registries of "+projectID, func(r rowScanner) (id int64, err error) { return id, r.Scan(&id) },
		`SELECT registry_id FROM scan_policy_registries WHERE project_id = $1 ORDER BY registry_id`, projectID)
}

// ScanPolicy returns the project's stored scan policy, or the default
// (found false) when it never set one.
func (s *Store) ScanPolicy(ctx context.Context, projectID string) (policy.Policy, bool, error) {
	p, err := scanPolicy(s.read.QueryRowContext(ctx, `SELECT `+policyCols+` FROM scan_policies WHERE project_id = $1`,
		projectID))
	if errors.Is(err, sql.ErrNoRows) {
		return policy.Default(projectID), false, nil
	}
	if err != nil {
		return policy.Policy{}, false, s.errf("scan policy of %s: %w", projectID, err)
	}
	if p.RegistryIDs, err = s.policyRegistries(ctx, projectID); err != nil {
		return policy.Policy{}, false, err
	}
	return p, true, nil
}

// SetScanPolicy replaces the project's scan policy and its selected
// connections in one transaction; the next run is policy.NextRun of the
// policy it replaces, read in the same transaction.
func (s *Store) SetScanPolicy(ctx context.Context, p policy.Policy, now int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var old *policy.Policy
		cur, err := scanPolicy(tx.QueryRowContext(ctx, `SELECT `+policyCols+` FROM scan_policies WHERE project_id = $1`+
			s.d.forUpdate(), p.ProjectID))
		switch {
		case err == nil:
			old = &cur
		case !errors.Is(err, sql.ErrNoRows):
			return s.errf("scan policy of %s: %w", p.ProjectID, err)
		}
		next := policy.NextRun(old, p, now)
		if _, err := tx.ExecContext(ctx, `INSERT INTO scan_policies (`+policyCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (project_id) DO UPDATE SET enabled = excluded.enabled, scan_cycle = excluded.scan_cycle,
			scan_scope = excluded.scan_scope, rate_limit = excluded.rate_limit, time_scope = excluded.time_scope,
			next_run_at = excluded.next_run_at, updated_at = excluded.updated_at`,
			p.ProjectID, p.Enabled, p.ScanCycle, p.ScanScope, p.RateLimit, p.TimeScope, next, now); err != nil {
			return s.errf("store scan policy of %s: %w", p.ProjectID, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM scan_policy_registries WHERE project_id = $1`, p.ProjectID); err != nil {
			return s.errf("store scan policy registries of %s: %w", p.ProjectID, err)
		}
		for _, id := range p.RegistryIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO scan_policy_registries (project_id, registry_id) VALUES ($1, $2)
				ON CONFLICT DO NOTHING`, p.ProjectID, id); err != nil {
				return s.errf("store scan policy registries of %s: %w", p.ProjectID, err)
			}
		}
		return nil
	})
}

// DueScanPolicies returns up to limit enabled policies whose next run is
// due at now (ms), the longest due first, with their connections.
func (s *Store) DueScanPolicies(ctx context.Context, now int64, limit int) ([]policy.Policy, error) {
	out, err := queryAll(ctx, s.read, scanPolicy, `SELECT `+policyCols+` FROM scan_policies
		WHERE `+s.d.IsTrue("enabled")+` AND next_run_at <= $1 ORDER BY next_run_at, project_id LIMIT $2`, now, limit)
	if err != nil {
		return nil, s.errf("due scan policies: %w", err)
	}
	for i := range out {
		if out[i].RegistryIDs, err = s.policyRegistries(ctx, out[i].ProjectID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ClaimScanRun claims the project's scheduled scan due at due: in one
// transaction it moves next_run_at from due to next, if it still is due
// (and the policy enabled), and queues j. false: another claim (another
// server's, or a change of the policy) got there first, and nothing was
// queued.
func (s *Store) ClaimScanRun(ctx context.Context, projectID string, due, next int64, j jobs.Job) (bool, error) {
	return s.claimSlot(ctx, `UPDATE scan_policies SET next_run_at = $1 WHERE project_id = $2 AND next_run_at = $3 AND `+
		s.d.IsTrue("enabled"), projectID, due, next, j)
}

// DueSyncs makes a sync slot, due at first (ms), for every project with a
// registry connection and none yet, and returns up to limit projects whose
// slot is due at now (ms), with the time it fell due.
func (s *Store) DueSyncs(ctx context.Context, now, first int64, limit int) (map[string]int64, error) {
	// Read first: a tick that finds every project slotted (the common
	// case) takes no write transaction, which on SQLite would wait for
	// every other writer of the file.
	var missing int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM registries r
		WHERE NOT EXISTS (SELECT 1 FROM sync_schedule q WHERE q.project_id = r.project_id) LIMIT 1) m`).Scan(&missing)
	if err != nil {
		return nil, s.errf("sync slots: %w", err)
	}
	if missing > 0 {
		if err := s.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO sync_schedule (project_id, next_sync_at)
				SELECT DISTINCT r.project_id, CAST($1 AS BIGINT) FROM registries r
				WHERE NOT EXISTS (SELECT 1 FROM sync_schedule q WHERE q.project_id = r.project_id)
				ON CONFLICT (project_id) DO NOTHING`, first)
			return err
		}); err != nil {
			return nil, s.errf("sync slots: %w", err)
		}
	}
	out, err := queryCounts(ctx, s.read, `SELECT project_id, next_sync_at FROM sync_schedule q
		WHERE next_sync_at <= $1 AND EXISTS (SELECT 1 FROM registries r WHERE r.project_id = q.project_id)
		ORDER BY next_sync_at, project_id LIMIT $2`, now, limit)
	if err != nil {
		return nil, s.errf("due syncs: %w", err)
	}
	return out, nil
}

// ClaimSync is ClaimScanRun for the project's periodic sync slot.
func (s *Store) ClaimSync(ctx context.Context, projectID string, due, next int64, j jobs.Job) (bool, error) {
	return s.claimSlot(ctx, `UPDATE sync_schedule SET next_sync_at = $1 WHERE project_id = $2 AND next_sync_at = $3`,
		projectID, due, next, j)
}

// claimSlot runs update (next, project, due) and, when it moved the slot,
// inserts j queued, all in one transaction: a crash leaves both or
// neither. On PostgreSQL a concurrent claim of the same slot waits for the
// row lock and then finds next_run_at moved; SQLite runs writers one at a
// time.
func (s *Store) claimSlot(ctx context.Context, update, projectID string, due, next int64, j jobs.Job) (bool, error) {
	if j.Kind == "" || j.Key == "" {
		return false, s.errf("claim %s: job needs a kind and a key", projectID)
	}
	claimed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		n, err := execCount(ctx, tx, update, next, projectID, due)
		if err != nil {
			return s.errf("claim %s at %d: %w", projectID, due, err)
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO jobs (kind, key, project_id, payload, state, attempts, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'queued', 0, $5, $5)
			ON CONFLICT (kind, key) WHERE state IN ('queued', 'running') DO NOTHING`,
			j.Kind, j.Key, j.ProjectID, j.Payload, j.CreatedAt); err != nil {
			return s.errf("claim %s at %d: queue %s: %w", projectID, due, j.Kind, err)
		}
		claimed = true
		return nil
	})
	return claimed, err
}
