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
func (s *Store) PutVulns(ctx context.Context, batch []vulndb.StoredVuln) (int, error) {
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
	var last vulndb.ImportLog
	var started, finished int64
	err = s.read.QueryRowContext(ctx,
		`SELECT source, started_at, finished_at, records, written FROM vuln_imports ORDER BY id DESC LIMIT 1`).
		Scan(&last.Source, &started, &finished, &last.Records, &last.Written)
	switch {
	case err == sql.ErrNoRows:
	case err != nil:
		return st, fmt.Errorf("sqlite: vuln status: %w", err)
	default:
		last.Started = time.UnixMilli(started).UTC()
		last.Finished = time.UnixMilli(finished).UTC()
		st.LastImport = &last
	}
	return st, nil
}

// LogVulnImport implements vulndb.Store.
func (s *Store) LogVulnImport(ctx context.Context, imp vulndb.ImportLog) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO vuln_imports (source, started_at, finished_at, records, written) VALUES (?, ?, ?, ?, ?)`,
			imp.Source, imp.Started.UnixMilli(), imp.Finished.UnixMilli(), imp.Records, imp.Written)
		if err != nil {
			return fmt.Errorf("sqlite: log vuln import: %w", err)
		}
		return nil
	})
}
