package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlq"
)

var _ scanresult.AnalysisStore = (*Store)(nil)

// insertAnalysis writes the analysis of digest inside tx (the caller has
// deleted the previous one).
func insertAnalysis(ctx context.Context, tx *sql.Tx, digest string, a scanresult.Analysis) error {
	for _, b := range a.Baseline {
		if _, err := tx.ExecContext(ctx, `INSERT INTO baseline_results (digest, rule_id, name, check_name, check_type, severity,
			standard, description, remediation, passed, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (digest, rule_id) DO NOTHING`,
			digest, b.RuleID, b.Name, b.CheckName, b.CheckType, b.Severity, b.Standard, b.Description, b.Remediation,
			b2i(b.Passed), b.Evidence); err != nil {
			return fmt.Errorf("sqlite: save baseline result %s of %s: %w", b.RuleID, digest, err)
		}
	}
	for _, w := range a.WeakPasswords {
		if _, err := tx.ExecContext(ctx, `INSERT INTO weak_passwords (digest, user_name, path, type, layer_digest, user_type)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (digest, user_name, path) DO NOTHING`,
			digest, w.User, w.Path, w.Type, w.LayerDigest, w.UserType); err != nil {
			return fmt.Errorf("sqlite: save weak password user of %s: %w", digest, err)
		}
	}
	if err := insertMalware(ctx, tx, digest, a.Malware); err != nil {
		return err
	}
	for _, f := range a.Secrets {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secret_findings (digest, id, rule_id, severity, name, description, file_path,
			line, layer_digest, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest, id) DO NOTHING`,
			digest, f.ID, f.RuleID, f.Severity, f.Name, f.Description, f.FilePath, f.Line, f.LayerDigest, f.Content); err != nil {
			return fmt.Errorf("sqlite: save sensitive information of %s: %w", digest, err)
		}
	}
	if len(a.FileHashes) > 0 {
		ins, err := tx.PrepareContext(ctx, `INSERT INTO file_hashes (digest, path, sha256, size, layer_digest) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (digest, path) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("sqlite: save file hashes of %s: %w", digest, err)
		}
		defer ins.Close()
		for _, h := range a.FileHashes {
			if _, err := ins.ExecContext(ctx, digest, h.Path, strings.ToLower(h.SHA256), h.Size, h.LayerDigest); err != nil {
				return fmt.Errorf("sqlite: save file hashes of %s: %w", digest, err)
			}
		}
	}
	return nil
}

func insertMalware(ctx context.Context, tx *sql.Tx, digest string, ms []scanresult.Malware) error {
	for _, m := range ms {
		if _, err := tx.ExecContext(ctx, `INSERT INTO malware_findings (digest, file_path, rule, file_name, size, sha256, description,
			layer_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest, file_path, rule) DO NOTHING`,
			digest, m.FilePath, m.Rule, m.FileName, m.Size, m.SHA256, m.Description, m.LayerDigest); err != nil {
			return fmt.Errorf("sqlite: save malware finding of %s: %w", digest, err)
		}
	}
	return nil
}

// GetAnalysis returns the stored analysis of digest.
func (s *Store) GetAnalysis(ctx context.Context, digest string) (scanresult.Analysis, error) {
	var a scanresult.Analysis
	tx, err := s.read.BeginTx(ctx, nil)
	if err != nil {
		return a, fmt.Errorf("sqlite: analysis of %s: %w", digest, err)
	}
	defer func() { _ = tx.Rollback() }()
	each := func(query string, scan func(*sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, query, digest)
		if err != nil {
			return fmt.Errorf("sqlite: analysis of %s: %w", digest, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return fmt.Errorf("sqlite: analysis of %s: %w", digest, err)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: analysis of %s: %w", digest, err)
		}
		return nil
	}
	err = each(`SELECT rule_id, name, check_name, check_type, severity, standard, description, remediation, passed, evidence
		FROM baseline_results WHERE digest = ? ORDER BY rule_id`, func(r *sql.Rows) error {
		var b scanresult.BaselineResult
		var passed int
		err := r.Scan(&b.RuleID, &b.Name, &b.CheckName, &b.CheckType, &b.Severity, &b.Standard, &b.Description, &b.Remediation, &passed, &b.Evidence)
		b.Passed = passed != 0
		a.Baseline = append(a.Baseline, b)
		return err
	})
	if err == nil {
		err = each(`SELECT user_name, path, type, layer_digest, user_type FROM weak_passwords WHERE digest = ? ORDER BY user_name, path`,
			func(r *sql.Rows) error {
				var w scanresult.WeakPassword
				err := r.Scan(&w.User, &w.Path, &w.Type, &w.LayerDigest, &w.UserType)
				a.WeakPasswords = append(a.WeakPasswords, w)
				return err
			})
	}
	if err == nil {
		err = each(`SELECT file_path, rule, file_name, size, sha256, description, layer_digest FROM malware_findings
			WHERE digest = ? ORDER BY file_path, rule`, func(r *sql.Rows) error {
			var m scanresult.Malware
			err := r.Scan(&m.FilePath, &m.Rule, &m.FileName, &m.Size, &m.SHA256, &m.Description, &m.LayerDigest)
			a.Malware = append(a.Malware, m)
			return err
		})
	}
	if err == nil {
		err = each(`SELECT id, rule_id, severity, name, description, file_path, line, layer_digest, content FROM secret_findings
			WHERE digest = ? ORDER BY file_path, line, id`, func(r *sql.Rows) error {
			var f scanresult.Secret
			err := r.Scan(&f.ID, &f.RuleID, &f.Severity, &f.Name, &f.Description, &f.FilePath, &f.Line, &f.LayerDigest, &f.Content)
			a.Secrets = append(a.Secrets, f)
			return err
		})
	}
	if err == nil {
		err = each(`SELECT path, sha256, size, layer_digest FROM file_hashes WHERE digest = ? ORDER BY path`, func(r *sql.Rows) error {
			var h scanresult.FileHash
			err := r.Scan(&h.Path, &h.SHA256, &h.Size, &h.LayerDigest)
			a.FileHashes = append(a.FileHashes, h)
			return err
		})
	}
	return a, err
}

// ReplaceMalware swaps the malware findings of digest and sets
// malicious_file_num where the last scan succeeded (a digest without a
// stored SBOM is left alone: its scan failed or was replaced).
func (s *Store) ReplaceMalware(ctx context.Context, digest string, ms []scanresult.Malware, num int32) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sboms WHERE digest = ?`, digest).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: sbom of %s: %w", digest, err)
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM malware_findings WHERE digest = ?`, digest); err != nil {
			return fmt.Errorf("sqlite: clear malware findings of %s: %w", digest, err)
		}
		if err := insertMalware(ctx, tx, digest, ms); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE manifests SET malicious_file_num = ? WHERE digest = ? AND scan_status = 'success'
			AND malicious_file_num <> ?`, num, digest, num); err != nil {
			return fmt.Errorf("sqlite: malicious_file_num of %s: %w", digest, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE images SET malicious_file_num = ? WHERE manifest_digest = ? AND scan_status = 'success'
			AND malicious_file_num <> ?`, num, digest, num); err != nil {
			return fmt.Errorf("sqlite: malicious_file_num of %s: %w", digest, err)
		}
		return nil
	})
}

// ImportSignatures adds the signatures whose hash is not stored yet.
func (s *Store) ImportSignatures(ctx context.Context, sigs []scanresult.Signature) (int, error) {
	added := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		added = 0
		ins, err := tx.PrepareContext(ctx, `INSERT INTO malware_signatures (sha256, name, source, imported_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (sha256) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("sqlite: import signatures: %w", err)
		}
		defer ins.Close()
		for _, sig := range sigs {
			res, err := ins.ExecContext(ctx, strings.ToLower(sig.SHA256), sig.Name, sig.Source, sig.ImportedAt)
			if err != nil {
				return fmt.Errorf("sqlite: import signature %s: %w", sig.SHA256, err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("sqlite: import signatures: %w", err)
			}
			added += int(n)
		}
		return nil
	})
	return added, err
}

// lookupChunk bounds the hashes of one IN (...) query, below SQLite's
// host-parameter limit.
const lookupChunk = 500

// LookupSignatures returns the stored signatures of hashes.
func (s *Store) LookupSignatures(ctx context.Context, hashes []string) (map[string]scanresult.Signature, error) {
	out := map[string]scanresult.Signature{}
	for start := 0; start < len(hashes); start += lookupChunk {
		chunk := hashes[start:min(start+lookupChunk, len(hashes))]
		args := make([]any, len(chunk))
		byLower := make(map[string]string, len(chunk))
		for i, h := range chunk {
			l := strings.ToLower(h)
			args[i] = l
			byLower[l] = h
		}
		rows, err := s.read.QueryContext(ctx, `SELECT sha256, name, source, imported_at FROM malware_signatures WHERE sha256 IN (?`+
			strings.Repeat(", ?", len(chunk)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: look up signatures: %w", err)
		}
		for rows.Next() {
			var sig scanresult.Signature
			if err := rows.Scan(&sig.SHA256, &sig.Name, &sig.Source, &sig.ImportedAt); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: look up signatures: %w", err)
			}
			out[byLower[sig.SHA256]] = sig
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("sqlite: look up signatures: %w", err)
		}
	}
	return out, nil
}

// HashMatches lists the stored file hashes a stored signature names.
func (s *Store) HashMatches(ctx context.Context) ([]scanresult.HashMatch, error) {
	rows, err := s.read.QueryContext(ctx, sqlq.HashMatchesQuery)
	if err != nil {
		return nil, fmt.Errorf("sqlite: hash matches: %w", err)
	}
	defer rows.Close()
	out, err := sqlq.Collect(rows, sqlq.ScanHashMatch)
	if err != nil {
		return nil, fmt.Errorf("sqlite: hash matches: %w", err)
	}
	return out, nil
}
