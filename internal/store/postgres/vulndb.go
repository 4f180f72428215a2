package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/vulndb"
)

// PutVulns implements vulndb.Store: one transaction per batch; a row is
// replaced only by a later `modified`, or an equal one with other content.
//
// The batch goes in as arrays. An id listed twice cannot be upserted twice
// by one statement, so the batch is split into rounds in which every id
// occurs once, applied in order: the same outcome, and the same count, as
// one upsert per record. The import's log grows in the same transaction.
func (s *Store) PutVulns(ctx context.Context, importID int64, batch []vulndb.StoredVuln) (int, error) {
	var rounds [][]vulndb.StoredVuln
	seen := make(map[string]int, len(batch))
	for _, v := range batch {
		r := seen[v.ID]
		seen[v.ID] = r + 1
		if r == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[r] = append(rounds[r], v)
	}
	written := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		written = 0
		for _, round := range rounds {
			n, err := putVulnRound(ctx, tx, round)
			if err != nil {
				return err
			}
			written += n
		}
		if importID != 0 {
			_, err := tx.Exec(ctx, `UPDATE vuln_imports SET records = records + $1, written = written + $2 WHERE id = $3`,
				len(batch), written, importID)
			if err != nil {
				return fmt.Errorf("postgres: put vulns: log: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return written, nil
}

func putVulnRound(ctx context.Context, tx pgx.Tx, round []vulndb.StoredVuln) (int, error) {
	var (
		ids       []string
		modified  []int64
		withdrawn []bool
		hashes    [][]byte
		data      [][]byte
	)
	byID := make(map[string]vulndb.StoredVuln, len(round))
	for _, v := range round {
		ids = append(ids, v.ID)
		modified = append(modified, v.Modified.UnixMilli())
		withdrawn = append(withdrawn, v.Withdrawn)
		hashes = append(hashes, v.Hash)
		data = append(data, v.Data)
		byID[v.ID] = v
	}
	rows, err := tx.Query(ctx, `INSERT INTO vulns AS v (id, modified, withdrawn, hash, data)
		SELECT * FROM unnest($1::text[], $2::int8[], $3::bool[], $4::bytea[], $5::bytea[])
		ON CONFLICT (id) DO UPDATE SET
			modified = excluded.modified, withdrawn = excluded.withdrawn,
			hash = excluded.hash, data = excluded.data
		WHERE excluded.modified > v.modified
		   OR (excluded.modified = v.modified AND excluded.hash <> v.hash)
		RETURNING id`, ids, modified, withdrawn, hashes, data)
	if err != nil {
		return 0, fmt.Errorf("postgres: put vulns: %w", err)
	}
	written, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("postgres: put vulns: %w", err)
	}
	if len(written) == 0 {
		return 0, nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM vuln_affected WHERE vuln_id = ANY($1)`, written); err != nil {
		return 0, fmt.Errorf("postgres: put vulns: %w", err)
	}
	var eco, names, vids []string
	for _, id := range written {
		for _, k := range byID[id].Keys {
			eco = append(eco, k.Ecosystem)
			names = append(names, k.Name)
			vids = append(vids, id)
		}
	}
	if len(vids) > 0 {
		_, err = tx.Exec(ctx, `INSERT INTO vuln_affected (ecosystem, name, vuln_id)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`, eco, names, vids)
		if err != nil {
			return 0, fmt.Errorf("postgres: put vulns: %w", err)
		}
	}
	return len(written), nil
}

// VulnsFor implements vulndb.Store with one query for all keys.
func (s *Store) VulnsFor(ctx context.Context, keys []vulndb.Key) ([]vulndb.Hit, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	eco := make([]string, 0, len(keys))
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if !storable(k.Ecosystem) || !storable(k.Name) {
			continue // indexes no record
		}
		eco = append(eco, k.Ecosystem)
		names = append(names, k.Name)
	}
	rows, err := s.pool.Query(ctx, `SELECT a.ecosystem, a.name, v.id, v.data
		FROM vuln_affected a JOIN vulns v ON v.id = a.vuln_id
		WHERE NOT v.withdrawn AND (a.ecosystem, a.name) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, eco, names)
	if err != nil {
		return nil, fmt.Errorf("postgres: vulns for: %w", err)
	}
	defer rows.Close()
	var hits []vulndb.Hit
	for rows.Next() {
		var h vulndb.Hit
		if err := rows.Scan(&h.Key.Ecosystem, &h.Key.Name, &h.ID, &h.Data); err != nil {
			return nil, fmt.Errorf("postgres: vulns for: %w", err)
		}
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: vulns for: %w", err)
	}
	return hits, nil
}

// VulnStatus implements vulndb.Store, from one snapshot.
func (s *Store) VulnStatus(ctx context.Context) (vulndb.Status, error) {
	var st vulndb.Status
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return st, fmt.Errorf("postgres: vuln status: %w", err)
	}
	defer tx.Rollback(ctx)
	err = tx.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE withdrawn) FROM vulns`).Scan(&st.Records, &st.Withdrawn)
	if err != nil {
		return st, fmt.Errorf("postgres: vuln status: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT ecosystem, count(DISTINCT vuln_id) FROM vuln_affected GROUP BY ecosystem ORDER BY ecosystem`)
	if err != nil {
		return st, fmt.Errorf("postgres: vuln status: %w", err)
	}
	st.Ecosystems = []vulndb.EcosystemCount{}
	for rows.Next() {
		var c vulndb.EcosystemCount
		if err := rows.Scan(&c.Ecosystem, &c.Records); err != nil {
			rows.Close()
			return st, fmt.Errorf("postgres: vuln status: %w", err)
		}
		st.Ecosystems = append(st.Ecosystems, c)
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("postgres: vuln status: %w", err)
	}
	last, err := scanImports(tx.Query(ctx, `SELECT `+importCols+` FROM vuln_imports
		WHERE state = 'complete' ORDER BY id DESC LIMIT 1`))
	if err != nil {
		return st, fmt.Errorf("postgres: vuln status: %w", err)
	}
	if len(last) > 0 {
		st.LastImport = &last[0]
	}
	st.Unfinished, err = scanImports(tx.Query(ctx, `SELECT `+importCols+` FROM vuln_imports i
		WHERE `+unfinishedImport+` ORDER BY id DESC LIMIT 100`))
	if err != nil {
		return st, fmt.Errorf("postgres: vuln status: %w", err)
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

func scanImports(rows pgx.Rows, err error) ([]vulndb.ImportLog, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []vulndb.ImportLog{}
	for rows.Next() {
		var imp vulndb.ImportLog
		var state string
		var started, finished int64
		var records, written int32
		if err := rows.Scan(&imp.ID, &imp.Source, &state, &imp.Owner, &started, &finished, &records, &written); err != nil {
			return nil, err
		}
		imp.State = vulndb.ImportState(state)
		imp.Records, imp.Written = int(records), int(written)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		unfinished, err = scanImports(tx.Query(ctx, `SELECT `+importCols+` FROM vuln_imports i
			WHERE i.source = $1 AND `+unfinishedImport+` ORDER BY id DESC`, imp.Source))
		if err != nil {
			return fmt.Errorf("postgres: begin vuln import: %w", err)
		}
		err = tx.QueryRow(ctx, `INSERT INTO vuln_imports (source, state, owner, started_at, finished_at, records, written)
			VALUES ($1, $2, $3, $4, 0, 0, 0) RETURNING id`, imp.Source, string(imp.State), imp.Owner, imp.Started.UnixMilli()).Scan(&id)
		if err != nil {
			return fmt.Errorf("postgres: begin vuln import: %w", err)
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
	var err error
	if finished.IsZero() {
		_, err = s.pool.Exec(ctx, `UPDATE vuln_imports SET state = $1 WHERE id = ANY($2)`, string(state), ids)
	} else {
		_, err = s.pool.Exec(ctx, `UPDATE vuln_imports SET state = $1, finished_at = $2 WHERE id = ANY($3)`,
			string(state), finished.UnixMilli(), ids)
	}
	if err != nil {
		return fmt.Errorf("postgres: finish vuln import: %w", err)
	}
	return nil
}
