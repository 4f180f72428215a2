package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/vulndb"
)

var _ vulndb.Store = (*Store)(nil)

// PutVulns implements vulndb.Store: one transaction per batch; a row is
// replaced only by a later `modified`, or an equal one with other content.
// The import's log grows in the same transaction.
func (s *Store) PutVulns(ctx context.Context, importID int64, batch []vulndb.StoredVuln) (int, error) {
	written := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		upsert, err := tx.PrepareContext(ctx, `
			INSERT INTO vulns (id, modified, withdrawn, hash, data) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET
				modified = excluded.modified, withdrawn = excluded.withdrawn,
				hash = excluded.hash, data = excluded.data
			WHERE excluded.modified > vulns.modified
			   OR (excluded.modified = vulns.modified AND excluded.hash <> vulns.hash)`)
		if err != nil {
			return fmt.Errorf("sqlite: put vulns: %w", err)
		}
		defer upsert.Close()
		unindex, err := tx.PrepareContext(ctx, `DELETE FROM vuln_affected WHERE vuln_id = ?`)
		if err != nil {
			return fmt.Errorf("sqlite: put vulns: %w", err)
		}
		defer unindex.Close()
		index, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO vuln_affected (ecosystem, name, vuln_id) VALUES (?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: put vulns: %w", err)
		}
		defer index.Close()

		for _, v := range batch {
			res, err := upsert.ExecContext(ctx, v.ID, v.Modified.UnixMilli(), b2i(v.Withdrawn), v.Hash, v.Data)
			if err != nil {
				return fmt.Errorf("sqlite: put vuln %s: %w", v.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				continue // the stored copy is as new or newer
			}
			written++
			if _, err := unindex.ExecContext(ctx, v.ID); err != nil {
				return fmt.Errorf("sqlite: put vuln %s: %w", v.ID, err)
			}
			for _, k := range v.Keys {
				if _, err := index.ExecContext(ctx, k.Ecosystem, k.Name, v.ID); err != nil {
					return fmt.Errorf("sqlite: put vuln %s: %w", v.ID, err)
				}
			}
		}
		if importID != 0 {
			_, err := tx.ExecContext(ctx, `UPDATE vuln_imports SET records = records + ?, written = written + ? WHERE id = ?`,
				len(batch), written, importID)
			if err != nil {
				return fmt.Errorf("sqlite: put vulns: log: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return written, nil
}

// VulnsFor implements vulndb.Store with one query for all keys.
func (s *Store) VulnsFor(ctx context.Context, keys []vulndb.Key) ([]vulndb.Hit, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString(`SELECT a.ecosystem, a.name, v.id, v.data
		FROM vuln_affected a JOIN vulns v ON v.id = a.vuln_id
		WHERE v.withdrawn = 0 AND (a.ecosystem, a.name) IN (VALUES `)
	args := make([]any, 0, 2*len(keys))
	for i, k := range keys {
		if i > 0 {
			q.WriteString(",")
		}
		q.WriteString("(?,?)")
		args = append(args, k.Ecosystem, k.Name)
	}
	q.WriteString(")")
	rows, err := s.read.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: vulns for: %w", err)
	}
	defer rows.Close()
	var hits []vulndb.Hit
	for rows.Next() {
		var h vulndb.Hit
		if err := rows.Scan(&h.Key.Ecosystem, &h.Key.Name, &h.ID, &h.Data); err != nil {
			return nil, fmt.Errorf("sqlite: vulns for: %w", err)
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: vulns for: %w", err)
	}
	return hits, nil
}

// VulnStatus implements vulndb.Store.
func (s *Store) VulnStatus(ctx context.Context) (vulndb.Status, error) {
	var st vulndb.Status
	err := s.read.QueryRowContext(ctx,
		`SELECT COUNT(*), COALESCE(SUM(withdrawn <> 0), 0) FROM vulns`).Scan(&st.Records, &st.Withdrawn)
	if err != nil {
		return st, fmt.Errorf("sqlite: vuln status: %w", err)
	}
	rows, err := s.read.QueryContext(ctx,
		`SELECT ecosystem, COUNT(DISTINCT vuln_id) FROM vuln_affected GROUP BY ecosystem ORDER BY ecosystem`)
	if err != nil {
		return st, fmt.Errorf("sqlite: vuln status: %w", err)
	}
	defer rows.Close()
	st.Ecosystems = []vulndb.EcosystemCount{}
	for rows.Next() {
		var c vulndb.EcosystemCount
		if err := rows.Scan(&c.Ecosystem, &c.Records); err != nil {
			return st, fmt.Errorf("sqlite: vuln status: %w", err)
		}
		st.Ecosystems = append(st.Ecosystems, c)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("sqlite: vuln status: %w", err)
	}
	last, err := scanImports(s.read.QueryContext(ctx, `SELECT `+importCols+` FROM vuln_imports
		WHERE state = 'complete' ORDER BY id DESC LIMIT 1`))
	if err != nil {
		return st, fmt.Errorf("sqlite: vuln status: %w", err)
	}
	if len(last) > 0 {
		st.LastImport = &last[0]
	}
	st.Unfinished, err = scanImports(s.read.QueryContext(ctx, `SELECT `+importCols+` FROM vuln_imports i
		WHERE `+unfinishedImport+` ORDER BY id DESC LIMIT 100`))
	if err != nil {
		return st, fmt.Errorf("sqlite: vuln status: %w", err)
	}
	return st, nil
}

const (
	importCols = `id, source, state, owner, started_at, finished_at, records, written`
	// unfinishedImport selects, from vuln_imports i, the imports not
	// complete whose source was not imported completely since.
	unfinishedImport = `i.state <> 'complete' AND NOT EXISTS (SELECT 1 FROM vuln_imports c
		WHERE c.source = i.source AND c.state = 'complete' AND c.id > i.id)`
)

func scanImports(rows *sql.Rows, err error) ([]vulndb.ImportLog, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []vulndb.ImportLog{}
	for rows.Next() {
		var imp vulndb.ImportLog
		var started, finished int64
		if err := rows.Scan(&imp.ID, &imp.Source, &imp.State, &imp.Owner, &started, &finished, &imp.Records, &imp.Written); err != nil {
			return nil, err
		}
		imp.Started = msTime(started)
		imp.Finished = msTime(finished)
		out = append(out, imp)
	}
	return out, rows.Err()
}

// msTime is the UTC time of unix ms; 0 is the zero time (not finished).
func msTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// BeginVulnImport implements vulndb.Store.
func (s *Store) BeginVulnImport(ctx context.Context, imp vulndb.ImportLog) (int64, []vulndb.ImportLog, error) {
	var id int64
	var unfinished []vulndb.ImportLog
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		unfinished, err = scanImports(tx.QueryContext(ctx, `SELECT `+importCols+` FROM vuln_imports i
			WHERE i.source = ? AND `+unfinishedImport+` ORDER BY id DESC`, imp.Source))
		if err != nil {
			return fmt.Errorf("sqlite: begin vuln import: %w", err)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO vuln_imports (source, state, owner, started_at, finished_at, records, written)
			VALUES (?, ?, ?, ?, 0, 0, 0) RETURNING id`, imp.Source, string(imp.State), imp.Owner, imp.Started.UnixMilli()).Scan(&id)
		if err != nil {
			return fmt.Errorf("sqlite: begin vuln import: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	return id, unfinished, nil
}

// FinishVulnImport implements vulndb.Store; a zero finished keeps the
// finish time unknown.
func (s *Store) FinishVulnImport(ctx context.Context, state vulndb.ImportState, finished time.Time, ids ...int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			var err error
			if finished.IsZero() {
				_, err = tx.ExecContext(ctx, `UPDATE vuln_imports SET state = ? WHERE id = ?`, string(state), id)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE vuln_imports SET state = ?, finished_at = ? WHERE id = ?`,
					string(state), finished.UnixMilli(), id)
			}
			if err != nil {
				return fmt.Errorf("sqlite: finish vuln import: %w", err)
			}
		}
		return nil
	})
}
