package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/openhss/openhss/internal/scanresult"
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
