package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/openhss/openhss/internal/vulndb"
)

// PutVulns implements vulndb.Store: one transaction per batch; a row is
// replaced only by a later `modified`, or an equal one with other content.
//
// The batch goes in as bulk rows (builder.Rows). An id listed twice
// cannot be upserted twice by one statement, so the batch is split into
// rounds in which every id occurs once, applied in order: the same
// outcome, and the same count, as one upsert per record. The import's log
// grows in the same transaction.
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		written = 0
		for _, round := range rounds {
			for chunk := range slices.Chunk(round, s.d.MaxRows(5)) {
				n, err := s.putVulnRound(ctx, tx, chunk)
				if err != nil {
					return err
				}
				written += n
			}
		}
		if importID != 0 {
			_, err := tx.ExecContext(ctx, `UPDATE vuln_imports SET records = records + $1, written = written + $2 WHERE id = $3`,
				len(batch), written, importID)
			if err != nil {
				return s.errf("put vulns: log: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return written, nil
}

func (s *Store) putVulnRound(ctx context.Context, tx *sql.Tx, round []vulndb.StoredVuln) (int, error) {
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
	b := newBuilder(s.d)
	written, err := queryAll(ctx, tx, scanString, `INSERT INTO vulns AS v (id, modified, withdrawn, hash, data) `+
		b.Rows(col{Type: "text", Values: ids}, col{Type: "int8", Values: modified}, col{Type: "bool", Values: withdrawn},
			col{Type: "bytea", Values: hashes}, col{Type: "bytea", Values: data})+`
		ON CONFLICT (id) DO UPDATE SET
			modified = excluded.modified, withdrawn = excluded.withdrawn,
			hash = excluded.hash, data = excluded.data
		WHERE excluded.modified > v.modified
		   OR (excluded.modified = v.modified AND excluded.hash <> v.hash)
		RETURNING id`, b.Args()...)
	if err != nil {
		return 0, s.errf("put vulns: %w", err)
	}
	if len(written) == 0 {
		return 0, nil
	}
	del := newBuilder(s.d)
	del.In("vuln_id", written)
	if _, err := tx.ExecContext(ctx, `DELETE FROM vuln_affected WHERE `+del.SQL(), del.Args()...); err != nil {
		return 0, s.errf("put vulns: %w", err)
	}
	var eco, names, vids []string
	for _, id := range written {
		for _, k := range byID[id].Keys {
			eco = append(eco, k.Ecosystem)
			names = append(names, k.Name)
			vids = append(vids, id)
		}
	}
	for lo := 0; lo < len(vids); lo += s.d.MaxRows(3) {
		hi := min(lo+s.d.MaxRows(3), len(vids))
		b := newBuilder(s.d)
		_, err = tx.ExecContext(ctx, `INSERT INTO vuln_affected (ecosystem, name, vuln_id) `+
			b.Rows(col{Type: "text", Values: eco[lo:hi]}, col{Type: "text", Values: names[lo:hi]},
				col{Type: "text", Values: vids[lo:hi]})+` ON CONFLICT DO NOTHING`, b.Args()...)
		if err != nil {
			return 0, s.errf("put vulns: %w", err)
		}
	}
	return len(written), nil
}

// VulnsFor implements vulndb.Store with one query for all keys.
func (s *Store) VulnsFor(ctx context.Context, keys []vulndb.Key) ([]vulndb.Hit, error) {
	var hits []vulndb.Hit
	eco := make([]string, 0, len(keys))
	names := make([]string, 0, len(keys))
	for _, k := range keys {
		if !s.storable(k.Ecosystem, k.Name) {
			continue // indexes no record
		}
		eco = append(eco, k.Ecosystem)
		names = append(names, k.Name)
	}
	for lo := 0; lo < len(eco); lo += s.d.MaxRows(2) {
		hi := min(lo+s.d.MaxRows(2), len(eco))
		b := newBuilder(s.d)
		more, err := queryAll(ctx, s.read, func(r rowScanner) (h vulndb.Hit, err error) {
			return h, r.Scan(&h.Key.Ecosystem, &h.Key.Name, &h.ID, &h.Data)
		}, `SELECT a.ecosystem, a.name, v.id, v.data
			FROM vuln_affected a JOIN vulns v ON v.id = a.vuln_id
			WHERE NOT (`+s.d.IsTrue("v.withdrawn")+`) AND (a.ecosystem, a.name) IN (`+
			b.Rows(col{Type: "text", Values: eco[lo:hi]}, col{Type: "text", Values: names[lo:hi]})+`)`, b.Args()...)
		if err != nil {
			return nil, s.errf("vulns for: %w", err)
		}
		hits = append(hits, more...)
	}
	return hits, nil
}

// VulnStatus implements vulndb.Store, from one snapshot.
func (s *Store) VulnStatus(ctx context.Context) (vulndb.Status, error) {
	var st vulndb.Status
	tx, err := s.snapshot(ctx)
	if err != nil {
		return st, s.errf("vuln status: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN `+s.d.IsTrue("withdrawn")+` THEN 1 ELSE 0 END), 0)
		FROM vulns`).Scan(&st.Records, &st.Withdrawn)
	if err == nil {
		st.Ecosystems, err = queryAll(ctx, tx, func(r rowScanner) (c vulndb.EcosystemCount, err error) {
			return c, r.Scan(&c.Ecosystem, &c.Records)
		}, `SELECT ecosystem, count(DISTINCT vuln_id) FROM vuln_affected GROUP BY ecosystem ORDER BY ecosystem`)
	}
	var last []vulndb.ImportLog
	if err == nil {
		last, err = queryAll(ctx, tx, scanImport, `SELECT `+importCols+` FROM vuln_imports
			WHERE state = 'complete' ORDER BY id DESC LIMIT 1`)
	}
	if err == nil {
		st.Unfinished, err = queryAll(ctx, tx, scanImport, `SELECT `+importCols+` FROM vuln_imports i
			WHERE `+unfinishedImport+` ORDER BY id DESC LIMIT 100`)
	}
	if err != nil {
		return st, s.errf("vuln status: %w", err)
	}
	if len(last) > 0 {
		st.LastImport = &last[0]
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

func scanImport(r rowScanner) (vulndb.ImportLog, error) {
	var (
		imp               vulndb.ImportLog
		started, finished int64
	)
	err := r.Scan(&imp.ID, &imp.Source, &imp.State, &imp.Owner, &started, &finished, &imp.Records, &imp.Written)
	imp.Started, imp.Finished = msTime(started), msTime(finished)
	return imp, err
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
		unfinished, err = queryAll(ctx, tx, scanImport, `SELECT `+importCols+` FROM vuln_imports i
			WHERE i.source = $1 AND `+unfinishedImport+` ORDER BY id DESC`, imp.Source)
		if err != nil {
			return s.errf("begin vuln import: %w", err)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO vuln_imports (source, state, owner, started_at, finished_at, records, written)
			VALUES ($1, $2, $3, $4, 0, 0, 0) RETURNING id`, imp.Source, string(imp.State), imp.Owner, imp.Started.UnixMilli()).Scan(&id)
		return s.wrap(err, "begin vuln import")
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
				_, err = tx.ExecContext(ctx, `UPDATE vuln_imports SET state = $1 WHERE id = $2`, string(state), id)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE vuln_imports SET state = $1, finished_at = $2 WHERE id = $3`,
					string(state), finished.UnixMilli(), id)
			}
			if err != nil {
				return s.errf("finish vuln import: %w", err)
			}
		}
		return nil
	})
}
