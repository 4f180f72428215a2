package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"github.com/openhss/openhss/internal/scanresult"
)

// insertAnalysis writes the analysis of digest inside tx (the caller holds
// the digest's lock and has deleted the previous one). Duplicates of a key
// are dropped (ON CONFLICT DO NOTHING): the first one is kept.
func (s *Store) insertAnalysis(ctx context.Context, tx *sql.Tx, digest string, a scanresult.Analysis) error {
	t := s.text
	for _, b := range a.Baseline {
		if _, err := tx.ExecContext(ctx, `INSERT INTO baseline_results (digest, rule_id, name, check_name, check_type, severity,
			standard, description, remediation, passed, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
			ON CONFLICT (digest, rule_id) DO NOTHING`,
			digest, t(b.RuleID), t(b.Name), t(b.CheckName), t(b.CheckType), t(b.Severity), t(b.Standard),
			t(b.Description), t(b.Remediation), b.Passed, t(b.Evidence)); err != nil {
			return s.errf("save baseline result %s of %s: %w", b.RuleID, digest, err)
		}
	}
	for _, w := range a.WeakPasswords {
		if _, err := tx.ExecContext(ctx, `INSERT INTO weak_passwords (digest, user_name, path, type, layer_digest, user_type)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest, user_name, path) DO NOTHING`,
			digest, t(w.User), t(w.Path), t(w.Type), t(w.LayerDigest), t(w.UserType)); err != nil {
			return s.errf("save weak password user of %s: %w", digest, err)
		}
	}
	if err := s.insertMalware(ctx, tx, digest, a.Malware); err != nil {
		return err
	}
	for _, f := range a.Secrets {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secret_findings (digest, id, rule_id, severity, name, description, file_path,
			line, layer_digest, content) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (digest, id) DO NOTHING`,
			digest, t(f.ID), t(f.RuleID), t(f.Severity), t(f.Name), t(f.Description), t(f.FilePath),
			int32(f.Line), t(f.LayerDigest), t(f.Content)); err != nil {
			return s.errf("save sensitive information of %s: %w", digest, err)
		}
	}
	for chunk := range slices.Chunk(a.FileHashes, min(s.d.MaxRows(5), 5000)) {
		digests := make([]string, len(chunk))
		var (
			path, sum, layer []string
			size             []int64
		)
		for i, h := range chunk {
			digests[i] = digest
			path = append(path, t(h.Path))
			sum = append(sum, strings.ToLower(t(h.SHA256)))
			size = append(size, h.Size)
			layer = append(layer, t(h.LayerDigest))
		}
		b := newBuilder(s.d)
		if _, err := tx.ExecContext(ctx, `INSERT INTO file_hashes (digest, path, sha256, size, layer_digest) `+
			b.Rows(col{Type: "text", Values: digests}, col{Type: "text", Values: path}, col{Type: "text", Values: sum},
				col{Type: "int8", Values: size}, col{Type: "text", Values: layer})+`
			ON CONFLICT (digest, path) DO NOTHING`, b.Args()...); err != nil {
			return s.errf("save file hashes of %s: %w", digest, err)
		}
	}
	return nil
}

func (s *Store) insertMalware(ctx context.Context, tx *sql.Tx, digest string, ms []scanresult.Malware) error {
	t := s.text
	for _, m := range ms {
		if _, err := tx.ExecContext(ctx, `INSERT INTO malware_findings (digest, file_path, rule, file_name, size, sha256, description,
			layer_digest) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (digest, file_path, rule) DO NOTHING`,
			digest, t(m.FilePath), t(m.Rule), t(m.FileName), m.Size, t(m.SHA256), t(m.Description), t(m.LayerDigest)); err != nil {
			return s.errf("save malware finding of %s: %w", digest, err)
		}
	}
	return nil
}

// GetAnalysis returns the stored analysis of digest, read in one snapshot.
func (s *Store) GetAnalysis(ctx context.Context, digest string) (scanresult.Analysis, error) {
	var a scanresult.Analysis
	tx, err := s.snapshot(ctx)
	if err != nil {
		return a, s.errf("analysis of %s: %w", digest, err)
	}
	defer func() { _ = tx.Rollback() }()
	each := func(query string, scan func(rowScanner) error) {
		if err == nil {
			err = queryEach(ctx, tx, scan, query, digest)
		}
	}
	each(`SELECT rule_id, name, check_name, check_type, severity, standard, description, remediation, passed, evidence
		FROM baseline_results WHERE digest = $1 ORDER BY rule_id`, func(r rowScanner) error {
		var b scanresult.BaselineResult
		err := r.Scan(&b.RuleID, &b.Name, &b.CheckName, &b.CheckType, &b.Severity, &b.Standard, &b.Description, &b.Remediation, &b.Passed, &b.Evidence)
		a.Baseline = append(a.Baseline, b)
		return err
	})
	each(`SELECT user_name, path, type, layer_digest, user_type FROM weak_passwords WHERE digest = $1 ORDER BY user_name, path`,
		func(r rowScanner) error {
			var w scanresult.WeakPassword
			err := r.Scan(&w.User, &w.Path, &w.Type, &w.LayerDigest, &w.UserType)
			a.WeakPasswords = append(a.WeakPasswords, w)
			return err
		})
	each(`SELECT file_path, rule, file_name, size, sha256, description, layer_digest FROM malware_findings
		WHERE digest = $1 ORDER BY file_path, rule`, func(r rowScanner) error {
		var m scanresult.Malware
		err := r.Scan(&m.FilePath, &m.Rule, &m.FileName, &m.Size, &m.SHA256, &m.Description, &m.LayerDigest)
		a.Malware = append(a.Malware, m)
		return err
	})
	each(`SELECT id, rule_id, severity, name, description, file_path, line, layer_digest, content FROM secret_findings
		WHERE digest = $1 ORDER BY file_path, line, id`, func(r rowScanner) error {
		var f scanresult.Secret
		err := r.Scan(&f.ID, &f.RuleID, &f.Severity, &f.Name, &f.Description, &f.FilePath, &f.Line, &f.LayerDigest, &f.Content)
		a.Secrets = append(a.Secrets, f)
		return err
	})
	each(`SELECT path, sha256, size, layer_digest FROM file_hashes WHERE digest = $1 ORDER BY path`, func(r rowScanner) error {
		var h scanresult.FileHash
		err := r.Scan(&h.Path, &h.SHA256, &h.Size, &h.LayerDigest)
		a.FileHashes = append(a.FileHashes, h)
		return err
	})
	return a, s.wrap(err, "analysis of "+digest)
}

// ReplaceMalware swaps the malware findings of digest and sets
// malicious_file_num where the last scan succeeded (a digest without a
// stored SBOM is left alone: its scan failed or was replaced).
func (s *Store) ReplaceMalware(ctx context.Context, digest string, ms []scanresult.Malware, num int32) error {
	return s.scanTx(ctx, []string{digest}, func(tx *sql.Tx, _ *sql.Conn) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sboms WHERE digest = $1`, digest).Scan(&n); err != nil {
			return s.errf("sbom of %s: %w", digest, err)
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM malware_findings WHERE digest = $1`, digest); err != nil {
			return s.errf("clear malware findings of %s: %w", digest, err)
		}
		if err := s.insertMalware(ctx, tx, digest, ms); err != nil {
			return err
		}
		// The manifest, then every row describing it.
		for _, t := range [][2]string{{"manifests", "digest"}, {"images", "manifest_digest"}} {
			if _, err := tx.ExecContext(ctx, `UPDATE `+t[0]+` SET malicious_file_num = $1 WHERE `+t[1]+` = $2
				AND scan_status = 'success' AND malicious_file_num <> $1`, num, digest); err != nil {
				return s.errf("malicious_file_num of %s: %w", digest, err)
			}
		}
		return nil
	})
}

// ImportSignatures adds the signatures whose hash is not stored yet; of a
// hash listed twice the first is kept.
func (s *Store) ImportSignatures(ctx context.Context, sigs []scanresult.Signature) (int, error) {
	var (
		seen              = make(map[string]bool, len(sigs))
		sum, name, source []string
		at                []int64
	)
	for _, sig := range sigs {
		h := strings.ToLower(s.text(sig.SHA256))
		if seen[h] {
			continue
		}
		seen[h] = true
		sum = append(sum, h)
		name = append(name, s.text(sig.Name))
		source = append(source, s.text(sig.Source))
		at = append(at, sig.ImportedAt)
	}
	added := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		added = 0
		step := min(s.d.MaxRows(4), 5000)
		for lo := 0; lo < len(sum); lo += step {
			hi := min(lo+step, len(sum))
			b := newBuilder(s.d)
			res, err := tx.ExecContext(ctx, `INSERT INTO malware_signatures (sha256, name, source, imported_at) `+
				b.Rows(col{Type: "text", Values: sum[lo:hi]}, col{Type: "text", Values: name[lo:hi]},
					col{Type: "text", Values: source[lo:hi]}, col{Type: "int8", Values: at[lo:hi]})+`
				ON CONFLICT (sha256) DO NOTHING`, b.Args()...)
			if err != nil {
				return s.errf("import signatures: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return s.errf("import signatures: %w", err)
			}
			added += int(n)
		}
		return nil
	})
	return added, err
}

// LookupSignatures returns the stored signatures of hashes.
func (s *Store) LookupSignatures(ctx context.Context, hashes []string) (map[string]scanresult.Signature, error) {
	out := map[string]scanresult.Signature{}
	byLower := make(map[string]string, len(hashes))
	lower := make([]string, 0, len(hashes))
	for _, h := range hashes {
		l := strings.ToLower(h)
		if !s.storable(l) {
			continue // names no stored signature
		}
		byLower[l] = h
		lower = append(lower, l)
	}
	for chunk := range slices.Chunk(lower, s.d.MaxRows(1)) {
		b := newBuilder(s.d)
		b.In("sha256", chunk)
		sigs, err := queryAll(ctx, s.read, func(r rowScanner) (sig scanresult.Signature, err error) {
			return sig, r.Scan(&sig.SHA256, &sig.Name, &sig.Source, &sig.ImportedAt)
		}, `SELECT sha256, name, source, imported_at FROM malware_signatures WHERE `+b.SQL(), b.Args()...)
		if err != nil {
			return nil, s.errf("look up signatures: %w", err)
		}
		for _, sig := range sigs {
			out[byLower[sig.SHA256]] = sig
		}
	}
	return out, nil
}

// HashMatches lists the stored file hashes a stored signature names.
func (s *Store) HashMatches(ctx context.Context) ([]scanresult.HashMatch, error) {
	return readAll(ctx, s, s.read, "hash matches", func(r rowScanner) (m scanresult.HashMatch, err error) {
		err = r.Scan(&m.Digest, &m.File.Path, &m.File.SHA256, &m.File.Size, &m.File.LayerDigest,
			&m.Signature.Name, &m.Signature.Source, &m.Signature.ImportedAt)
		m.Signature.SHA256 = m.File.SHA256
		return m, err
	}, `SELECT h.digest, h.path, h.sha256, h.size, h.layer_digest, m.name, m.source,
		m.imported_at FROM file_hashes h JOIN malware_signatures m ON m.sha256 = h.sha256 ORDER BY h.digest, h.path`)
}
