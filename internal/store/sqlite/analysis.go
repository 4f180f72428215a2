package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/openhss/openhss/internal/scanresult"
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
