package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlq"
)

var _ scanresult.AnalysisStore = (*Store)(nil)

// insertAnalysis writes the analysis of digest inside tx (the caller holds
// the digest's lock and has deleted the previous one). Duplicates of a key
// are dropped, as the SQLite store's ON CONFLICT DO NOTHING drops them.
func insertAnalysis(ctx context.Context, tx pgx.Tx, digest string, a scanresult.Analysis) error {
	for _, b := range a.Baseline {
		if _, err := tx.Exec(ctx, `INSERT INTO baseline_results (digest, rule_id, name, check_name, check_type, severity,
			standard, description, remediation, passed, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (digest, rule_id) DO NOTHING`,
			digest, clean(b.RuleID), clean(b.Name), clean(b.CheckName), clean(b.CheckType), clean(b.Severity), clean(b.Standard),
			clean(b.Description), clean(b.Remediation), b.Passed, clean(b.Evidence)); err != nil {
			return fmt.Errorf("postgres: save baseline result %s of %s: %w", b.RuleID, digest, err)
		}
	}
	for _, w := range a.WeakPasswords {
		if _, err := tx.Exec(ctx, `INSERT INTO weak_passwords (digest, user_name, path, type, layer_digest, user_type)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest, user_name, path) DO NOTHING`,
			digest, clean(w.User), clean(w.Path), clean(w.Type), clean(w.LayerDigest), clean(w.UserType)); err != nil {
			return fmt.Errorf("postgres: save weak password user of %s: %w", digest, err)
		}
	}
	if err := insertMalware(ctx, tx, digest, a.Malware); err != nil {
		return err
	}
	for _, f := range a.Secrets {
		if _, err := tx.Exec(ctx, `INSERT INTO secret_findings (digest, id, rule_id, severity, name, description, file_path,
			line, layer_digest, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (digest, id) DO NOTHING`,
			digest, clean(f.ID), clean(f.RuleID), clean(f.Severity), clean(f.Name), clean(f.Description), clean(f.FilePath),
			int32(f.Line), clean(f.LayerDigest), clean(f.Content)); err != nil {
			return fmt.Errorf("postgres: save sensitive information of %s: %w", digest, err)
		}
	}
	for start := 0; start < len(a.FileHashes); start += chunkRows {
		chunk := a.FileHashes[start:min(start+chunkRows, len(a.FileHashes))]
		var (
			path, sum, layer []string
			size             []int64
		)
		for _, h := range chunk {
			path = append(path, clean(h.Path))
			sum = append(sum, strings.ToLower(clean(h.SHA256)))
			size = append(size, h.Size)
			layer = append(layer, clean(h.LayerDigest))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO file_hashes (digest, path, sha256, size, layer_digest)
			SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int8[], $5::text[])
			ON CONFLICT (digest, path) DO NOTHING`, digest, path, sum, size, layer); err != nil {
			return fmt.Errorf("postgres: save file hashes of %s: %w", digest, err)
		}
	}
	return nil
}

func insertMalware(ctx context.Context, tx pgx.Tx, digest string, ms []scanresult.Malware) error {
	for _, m := range ms {
		if _, err := tx.Exec(ctx, `INSERT INTO malware_findings (digest, file_path, rule, file_name, size, sha256, description,
			layer_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (digest, file_path, rule) DO NOTHING`,
			digest, clean(m.FilePath), clean(m.Rule), clean(m.FileName), m.Size, clean(m.SHA256), clean(m.Description),
			clean(m.LayerDigest)); err != nil {
			return fmt.Errorf("postgres: save malware finding of %s: %w", digest, err)
		}
	}
	return nil
}

// GetAnalysis returns the stored analysis of digest, read in one snapshot.
func (s *Store) GetAnalysis(ctx context.Context, digest string) (scanresult.Analysis, error) {
	var a scanresult.Analysis
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return a, fmt.Errorf("postgres: analysis of %s: %w", digest, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	each := func(query string, scan func(pgx.Rows) error) error {
		rows, err := tx.Query(ctx, query, digest)
		if err != nil {
			return fmt.Errorf("postgres: analysis of %s: %w", digest, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("postgres: analysis of %s: %w", digest, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: analysis of %s: %w", digest, err)
		}
		return nil
	}
	err = each(`SELECT rule_id, name, check_name, check_type, severity, standard, description, remediation, passed, evidence
		FROM baseline_results WHERE digest = $1 ORDER BY rule_id`, func(r pgx.Rows) error {
		var b scanresult.BaselineResult
		err := r.Scan(&b.RuleID, &b.Name, &b.CheckName, &b.CheckType, &b.Severity, &b.Standard, &b.Description, &b.Remediation, &b.Passed, &b.Evidence)
		a.Baseline = append(a.Baseline, b)
		return err
	})
	if err == nil {
		err = each(`SELECT user_name, path, type, layer_digest, user_type FROM weak_passwords WHERE digest = $1 ORDER BY user_name, path`,
			func(r pgx.Rows) error {
				var w scanresult.WeakPassword
				err := r.Scan(&w.User, &w.Path, &w.Type, &w.LayerDigest, &w.UserType)
				a.WeakPasswords = append(a.WeakPasswords, w)
				return err
			})
	}
	if err == nil {
		err = each(`SELECT file_path, rule, file_name, size, sha256, description, layer_digest FROM malware_findings
			WHERE digest = $1 ORDER BY file_path, rule`, func(r pgx.Rows) error {
			var m scanresult.Malware
			err := r.Scan(&m.FilePath, &m.Rule, &m.FileName, &m.Size, &m.SHA256, &m.Description, &m.LayerDigest)
			a.Malware = append(a.Malware, m)
			return err
		})
	}
	if err == nil {
		err = each(`SELECT id, rule_id, severity, name, description, file_path, line, layer_digest, content FROM secret_findings
			WHERE digest = $1 ORDER BY file_path, line, id`, func(r pgx.Rows) error {
			var f scanresult.Secret
			var line int32
			err := r.Scan(&f.ID, &f.RuleID, &f.Severity, &f.Name, &f.Description, &f.FilePath, &line, &f.LayerDigest, &f.Content)
			f.Line = int(line)
			a.Secrets = append(a.Secrets, f)
			return err
		})
	}
	if err == nil {
		err = each(`SELECT path, sha256, size, layer_digest FROM file_hashes WHERE digest = $1 ORDER BY path`, func(r pgx.Rows) error {
			var h scanresult.FileHash
			err := r.Scan(&h.Path, &h.SHA256, &h.Size, &h.LayerDigest)
			a.FileHashes = append(a.FileHashes, h)
			return err
		})
	}
	return a, err
}

// ReplaceMalware swaps the malware findings of digest and sets
// malicious_file_num where the last scan succeeded.
func (s *Store) ReplaceMalware(ctx context.Context, digest string, ms []scanresult.Malware, num int32) error {
	return s.scanTx(ctx, func(tx pgx.Tx) error {
		if err := lockDigest(ctx, tx, digest); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM sboms WHERE digest = $1`, digest).Scan(&n); err != nil {
			return fmt.Errorf("postgres: sbom of %s: %w", digest, err)
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM malware_findings WHERE digest = $1`, digest); err != nil {
			return fmt.Errorf("postgres: clear malware findings of %s: %w", digest, err)
		}
		if err := insertMalware(ctx, tx, digest, ms); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE manifests SET malicious_file_num = $1 WHERE digest = $2 AND scan_status = 'success'
			AND malicious_file_num <> $1`, num, digest); err != nil {
			return fmt.Errorf("postgres: malicious_file_num of %s: %w", digest, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE images SET malicious_file_num = $1 WHERE manifest_digest = $2 AND scan_status = 'success'
			AND malicious_file_num <> $1`, num, digest); err != nil {
			return fmt.Errorf("postgres: malicious_file_num of %s: %w", digest, err)
		}
		return nil
	})
}

// ImportSignatures adds the signatures whose hash is not stored yet.
func (s *Store) ImportSignatures(ctx context.Context, sigs []scanresult.Signature) (int, error) {
	added := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		added = 0
		for start := 0; start < len(sigs); start += chunkRows {
			chunk := sigs[start:min(start+chunkRows, len(sigs))]
			var (
				sum, name, source []string
				at                []int64
			)
			for _, sig := range chunk {
				sum = append(sum, strings.ToLower(clean(sig.SHA256)))
				name = append(name, clean(sig.Name))
				source = append(source, clean(sig.Source))
				at = append(at, sig.ImportedAt)
			}
			// DISTINCT ON keeps the first of a hash repeated within the
			// chunk, as the SQLite store's row-by-row insert does.
			tag, err := tx.Exec(ctx, `INSERT INTO malware_signatures (sha256, name, source, imported_at)
				SELECT DISTINCT ON (h) h, n, src, t FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[]) WITH ORDINALITY AS u(h, n, src, t, i)
				ORDER BY h, i
				ON CONFLICT (sha256) DO NOTHING`, sum, name, source, at)
			if err != nil {
				return fmt.Errorf("postgres: import signatures: %w", err)
			}
			added += int(tag.RowsAffected())
		}
		return nil
	})
	return added, err
}

// LookupSignatures returns the stored signatures of hashes.
func (s *Store) LookupSignatures(ctx context.Context, hashes []string) (map[string]scanresult.Signature, error) {
	out := map[string]scanresult.Signature{}
	if len(hashes) == 0 {
		return out, nil
	}
	byLower := make(map[string]string, len(hashes))
	lower := make([]string, 0, len(hashes))
	for _, h := range hashes {
		l := strings.ToLower(h)
		byLower[l] = h
		lower = append(lower, l)
	}
	rows, err := s.pool.Query(ctx, `SELECT sha256, name, source, imported_at FROM malware_signatures WHERE sha256 = ANY($1::text[])`, lower)
	if err != nil {
		return nil, fmt.Errorf("postgres: look up signatures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sig scanresult.Signature
		if err := rows.Scan(&sig.SHA256, &sig.Name, &sig.Source, &sig.ImportedAt); err != nil {
			return nil, fmt.Errorf("postgres: look up signatures: %w", err)
		}
		out[byLower[sig.SHA256]] = sig
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: look up signatures: %w", err)
	}
	return out, nil
}

// HashMatches lists the stored file hashes a stored signature names.
func (s *Store) HashMatches(ctx context.Context) ([]scanresult.HashMatch, error) {
	rows, err := s.pool.Query(ctx, sqlq.HashMatchesQuery)
	if err != nil {
		return nil, fmt.Errorf("postgres: hash matches: %w", err)
	}
	defer rows.Close()
	out, err := sqlq.Collect(rows, sqlq.ScanHashMatch)
	if err != nil {
		return nil, fmt.Errorf("postgres: hash matches: %w", err)
	}
	return out, nil
}
