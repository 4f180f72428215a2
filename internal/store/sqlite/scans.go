package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlq"
)

var _ scanresult.Store = (*Store)(nil)

// recordResult writes a scan result on the manifest and copies it onto
// every row describing it, inside tx (sqlq.SetScanResult's statements).
func recordResult(ctx context.Context, tx *sql.Tx, digest string, r inventory.ScanResult) error {
	for _, st := range sqlq.SetScanResult(sqlq.SQLite, digest, r) {
		if _, err := tx.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("sqlite: record scan of %s: %w", digest, err)
		}
	}
	return nil
}

// SetScanStatus moves the rows of projectID describing digest to status
// (waiting_for_scan, scanning) without touching the previous scan's counts
// and time: a client keeps seeing the last known vul_num while a re-scan
// runs. Other projects' rows and the manifest's shared result are left
// alone.
func (s *Store) SetScanStatus(ctx context.Context, projectID, digest string, status inventory.ScanStatus) error {
	return s.execScan(ctx, digest, sqlq.ProjectScanStatus(sqlq.SQLite, projectID, digest, status, ""))
}

// MarkScanWaiting sets waiting_for_scan on the project's rows, unless they
// are being scanned right now: a request that joins a running scan must
// not make it look queued again.
func (s *Store) MarkScanWaiting(ctx context.Context, projectID, digest string) error {
	return s.execScan(ctx, digest, sqlq.ProjectScanStatus(sqlq.SQLite, projectID, digest, inventory.WaitingForScan, inventory.Scanning))
}

// SetScannable records whether the project's rows of a manifest can be
// scanned (false once it proved oversized for that project's scan).
func (s *Store) SetScannable(ctx context.Context, projectID, digest string, scannable bool) error {
	return s.execScan(ctx, digest, sqlq.ProjectScannable(sqlq.SQLite, projectID, digest, b2i(scannable)))
}

func (s *Store) execScan(ctx context.Context, digest string, st sqlq.Stmt) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("sqlite: scan state of %s: %w", digest, err)
		}
		return nil
	})
}

// AdoptSharedResult copies the shared result of digest onto the rows of
// projectID when it is a success recorded at or after since (ms), and
// reports whether it did: a request made before another project's scan of
// the same bytes finished needs no pull of its own.
func (s *Store) AdoptSharedResult(ctx context.Context, projectID, digest string, since int64) (bool, error) {
	adopted := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		q := sqlq.FreshSharedResult(sqlq.SQLite, digest, since)
		var r inventory.ScanResult
		err := sqlq.ScanResultCols(tx.QueryRowContext(ctx, q.SQL, q.Args...), &r)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlite: shared result of %s: %w", digest, err)
		}
		st := sqlq.ProjectScanResult(sqlq.SQLite, projectID, digest, r)
		if _, err := tx.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("sqlite: shared result of %s: %w", digest, err)
		}
		adopted = true
		return nil
	})
	return adopted, err
}

// SaveScan replaces the SBOM and findings of sbom.Digest and records r, in
// one transaction.
func (s *Store) SaveScan(ctx context.Context, sbom scanresult.SBOM, findings []scanresult.Finding, r inventory.ScanResult) error {
	return s.SaveAnalyzedScan(ctx, sbom, findings, scanresult.Analysis{}, r)
}

// SaveAnalyzedScan is SaveScan that also replaces the analysis of
// sbom.Digest, in the same transaction.
func (s *Store) SaveAnalyzedScan(ctx context.Context, sbom scanresult.SBOM, findings []scanresult.Finding, a scanresult.Analysis, r inventory.ScanResult) error {
	layers, err := json.Marshal(nonNil(sbom.Layers))
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := deleteScan(ctx, tx, sbom.Digest); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sboms (digest, layers, os_id, os_version, os_name, scanned_at) VALUES (?, ?, ?, ?, ?, ?)`,
			sbom.Digest, string(layers), sbom.OSID, sbom.OSVersion, sbom.OSName, sbom.ScannedAt)
		if err != nil {
			return fmt.Errorf("sqlite: save sbom of %s: %w", sbom.Digest, err)
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO sbom_packages (digest, idx, name, version, ecosystem, source_name, source_version,
			type, path, layer_digest, purl, platform) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: save sbom of %s: %w", sbom.Digest, err)
		}
		defer ins.Close()
		for i, p := range sbom.Packages {
			if _, err := ins.ExecContext(ctx, sbom.Digest, i, p.Name, p.Version, p.Ecosystem, p.SourceName, p.SourceVersion,
				p.Type, p.Path, p.LayerDigest, p.PURL, p.Platform); err != nil {
				return fmt.Errorf("sqlite: save package %s of %s: %w", p.Name, sbom.Digest, err)
			}
		}
		if err := insertFindings(ctx, tx, sbom.Digest, sbom.Packages, findings); err != nil {
			return err
		}
		if err := insertAnalysis(ctx, tx, sbom.Digest, a); err != nil {
			return err
		}
		return recordResult(ctx, tx, sbom.Digest, r)
	})
}

// ClearScan records the failed scan r on the rows of projectID describing
// digest. The stored inventory and findings of digest, and the manifest's
// shared result, are removed only when no row of any project still shows
// or waits to replace them: another project's failure never takes away a
// result it did not produce.
func (s *Store) ClearScan(ctx context.Context, projectID, digest string, r inventory.ScanResult) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		st := sqlq.ProjectScanResult(sqlq.SQLite, projectID, digest, r)
		if _, err := tx.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("sqlite: record scan of %s: %w", digest, err)
		}
		q := sqlq.SharedResultInUse(sqlq.SQLite, digest)
		var inUse bool
		if err := tx.QueryRowContext(ctx, q.SQL, q.Args...).Scan(&inUse); err != nil {
			return fmt.Errorf("sqlite: rows of %s: %w", digest, err)
		}
		if inUse {
			return nil
		}
		if err := deleteScan(ctx, tx, digest); err != nil {
			return err
		}
		reset := sqlq.ResetSharedResult(sqlq.SQLite, digest)
		if _, err := tx.ExecContext(ctx, reset.SQL, reset.Args...); err != nil {
			return fmt.Errorf("sqlite: reset scan of %s: %w", digest, err)
		}
		return nil
	})
}

func deleteScan(ctx context.Context, tx *sql.Tx, digest string) error {
	for _, table := range []string{"scan_findings", "sbom_packages", "sboms",
		"baseline_results", "weak_passwords", "malware_findings", "secret_findings", "file_hashes"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE digest = ?`, digest); err != nil {
			return fmt.Errorf("sqlite: clear %s of %s: %w", table, digest, err)
		}
	}
	return nil
}

// insertFindings writes findings of digest; pkgs gives each finding's
// package type (linux_vul or app_vul).
func insertFindings(ctx context.Context, tx *sql.Tx, digest string, pkgs []scanresult.Package, findings []scanresult.Finding) error {
	types := make(map[int]string, len(pkgs))
	for i, p := range pkgs {
		types[i] = p.Type
	}
	w := findingWriter{tx: tx}
	if err := w.add(ctx, digest, types, findings); err != nil {
		return err
	}
	return w.flush(ctx)
}

// findingRows is how many findings one INSERT writes. A statement per
// row made a re-match spend most of its time in the driver, once per
// row; 11 parameters a row keeps 64 rows far under SQLite's limit of
// 32,766.
const findingRows = 64

// insertFindingsSQL is the INSERT of n findings.
func insertFindingsSQL(n int) string {
	return `INSERT INTO scan_findings (digest, pkg, vuln_id, vul_type, repair_necessity, severity, score,
		fixed_version, description, url, aliases) VALUES ` +
		strings.TrimSuffix(strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), `, n), ", ") +
		` ON CONFLICT (digest, pkg, vuln_id) DO NOTHING`
}

// findingWriter collects finding rows of any digests inside tx and
// writes them findingRows at a time; flush writes the rest.
type findingWriter struct {
	tx   *sql.Tx
	full *sql.Stmt // the INSERT of findingRows rows, prepared on first use
	args []any
}

// add queues findings of digest; types gives the type of each package of
// its SBOM. A finding naming a package the SBOM lacks is an error.
func (w *findingWriter) add(ctx context.Context, digest string, types map[int]string, findings []scanresult.Finding) error {
	for _, f := range findings {
		typ, ok := types[f.Package]
		if !ok {
			return fmt.Errorf("sqlite: finding %s of %s names package %d, which the SBOM does not have", f.VulnID, digest, f.Package)
		}
		aliases, err := json.Marshal(nonNil(f.Aliases))
		if err != nil {
			return err
		}
		w.args = append(w.args, digest, f.Package, f.VulnID, string(scanresult.TypeOf(typ)), f.RepairNecessity, f.Severity,
			f.Score, f.FixedVersion, f.Description, f.URL, string(aliases))
		if len(w.args) == findingRows*findingCols {
			if err := w.writeFull(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// findingCols is the number of parameters of one finding row.
const findingCols = 11

func (w *findingWriter) writeFull(ctx context.Context) error {
	if w.full == nil {
		st, err := w.tx.PrepareContext(ctx, insertFindingsSQL(findingRows))
		if err != nil {
			return fmt.Errorf("sqlite: save findings: %w", err)
		}
		w.full = st
	}
	if _, err := w.full.ExecContext(ctx, w.args...); err != nil {
		return fmt.Errorf("sqlite: save findings: %w", err)
	}
	w.args = w.args[:0]
	return nil
}

// flush writes the queued rows.
func (w *findingWriter) flush(ctx context.Context) error {
	if n := len(w.args) / findingCols; n > 0 {
		if _, err := w.tx.ExecContext(ctx, insertFindingsSQL(n), w.args...); err != nil {
			return fmt.Errorf("sqlite: save findings: %w", err)
		}
		w.args = w.args[:0]
	}
	return nil
}

// ReplaceFindings applies a re-match's updates in one transaction: for
// each digest that still has an SBOM, its findings are swapped and
// vul_num is set where the manifest's last scan succeeded. Rows whose
// count does not change are not written, so a re-match that changes
// nothing leaves the list's count cache valid.
func (s *Store) ReplaceFindings(ctx context.Context, updates []scanresult.FindingsUpdate) error {
	if err := distinctDigests(updates); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		stmts, err := prepareAll(ctx, tx,
			`SELECT EXISTS (SELECT 1 FROM sboms WHERE digest = ?)`,
			`DELETE FROM scan_findings WHERE digest = ?`,
			`SELECT idx, type FROM sbom_packages WHERE digest = ?`,
			`UPDATE manifests SET vul_num = ?1 WHERE digest = ?2 AND scan_status = 'success' AND vul_num <> ?1`,
			`UPDATE images SET vul_num = ?1 WHERE manifest_digest = ?2 AND scan_status = 'success' AND vul_num <> ?1`)
		if err != nil {
			return fmt.Errorf("sqlite: replace findings: %w", err)
		}
		hasSBOM, clear, pkgTypes, manifestVul, imageVul := stmts[0], stmts[1], stmts[2], stmts[3], stmts[4]
		w := findingWriter{tx: tx}
		for _, u := range updates {
			var ok bool
			if err := hasSBOM.QueryRowContext(ctx, u.Digest).Scan(&ok); err != nil {
				return fmt.Errorf("sqlite: sbom of %s: %w", u.Digest, err)
			}
			if !ok {
				// The manifest was re-scanned and failed since the caller
				// read its SBOM: nothing to match any more.
				continue
			}
			if _, err := clear.ExecContext(ctx, u.Digest); err != nil {
				return fmt.Errorf("sqlite: clear findings of %s: %w", u.Digest, err)
			}
			if len(u.Findings) > 0 {
				types, err := packageTypes(ctx, pkgTypes, u.Digest)
				if err != nil {
					return err
				}
				if err := w.add(ctx, u.Digest, types, u.Findings); err != nil {
					return err
				}
			}
			if _, err := manifestVul.ExecContext(ctx, u.VulNum, u.Digest); err != nil {
				return fmt.Errorf("sqlite: vul_num of %s: %w", u.Digest, err)
			}
			if _, err := imageVul.ExecContext(ctx, u.VulNum, u.Digest); err != nil {
				return fmt.Errorf("sqlite: vul_num of %s: %w", u.Digest, err)
			}
		}
		return w.flush(ctx)
	})
}

// distinctDigests rejects updates naming one digest twice: which of the
// two would win is not defined.
func distinctDigests(updates []scanresult.FindingsUpdate) error {
	seen := make(map[string]bool, len(updates))
	for _, u := range updates {
		if seen[u.Digest] {
			return fmt.Errorf("sqlite: replace findings: digest %s given twice", u.Digest)
		}
		seen[u.Digest] = true
	}
	return nil
}

// prepareAll prepares queries in tx; they close with it.
func prepareAll(ctx context.Context, tx *sql.Tx, queries ...string) ([]*sql.Stmt, error) {
	out := make([]*sql.Stmt, len(queries))
	for i, q := range queries {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// packageTypes reads the type of each stored package of digest.
func packageTypes(ctx context.Context, st *sql.Stmt, digest string) (map[int]string, error) {
	rows, err := st.QueryContext(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("sqlite: packages of %s: %w", digest, err)
	}
	defer rows.Close()
	types := map[int]string{}
	for rows.Next() {
		var (
			i int
			t string
		)
		if err := rows.Scan(&i, &t); err != nil {
			return nil, fmt.Errorf("sqlite: packages of %s: %w", digest, err)
		}
		types[i] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: packages of %s: %w", digest, err)
	}
	return types, nil
}

// GetSBOM returns the stored SBOM of digest.
func (s *Store) GetSBOM(ctx context.Context, digest string) (scanresult.SBOM, error) {
	sb := scanresult.SBOM{Digest: digest}
	var layers string
	err := s.read.QueryRowContext(ctx, `SELECT layers, os_id, os_version, os_name, scanned_at FROM sboms WHERE digest = ?`, digest).
		Scan(&layers, &sb.OSID, &sb.OSVersion, &sb.OSName, &sb.ScannedAt)
	if err != nil {
		return sb, notFound(err, "sbom of "+digest)
	}
	if err := json.Unmarshal([]byte(layers), &sb.Layers); err != nil {
		return sb, fmt.Errorf("sqlite: layers of %s: %w", digest, err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT name, version, ecosystem, source_name, source_version, type, path, layer_digest, purl,
		platform FROM sbom_packages WHERE digest = ? ORDER BY idx`, digest)
	if err != nil {
		return sb, fmt.Errorf("sqlite: packages of %s: %w", digest, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p scanresult.Package
		if err := rows.Scan(&p.Name, &p.Version, &p.Ecosystem, &p.SourceName, &p.SourceVersion, &p.Type, &p.Path, &p.LayerDigest, &p.PURL,
			&p.Platform); err != nil {
			return sb, fmt.Errorf("sqlite: packages of %s: %w", digest, err)
		}
		sb.Packages = append(sb.Packages, p)
	}
	if err := rows.Err(); err != nil {
		return sb, fmt.Errorf("sqlite: packages of %s: %w", digest, err)
	}
	return sb, nil
}

// SBOMDigests lists every digest with a stored SBOM.
func (s *Store) SBOMDigests(ctx context.Context) ([]string, error) {
	return s.strings(ctx, `SELECT digest FROM sboms ORDER BY digest`)
}

func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return out, nil
}

// necessityRank orders findings most urgent first.
const necessityRank = `CASE f.repair_necessity WHEN 'immediate_repair' THEN 0 WHEN 'delay_repair' THEN 1 ELSE 2 END`

// ListVulns returns one page of the findings of a manifest, most urgent
// first, then by vulnerability id, package name and path.
func (s *Store) ListVulns(ctx context.Context, f scanresult.VulnFilter) (int64, []scanresult.VulnRow, error) {
	where := `f.digest = ?`
	args := []any{f.Digest}
	if f.RepairNecessity != "" {
		where += ` AND f.repair_necessity = ?`
		args = append(args, f.RepairNecessity)
	}
	if f.VulnID != "" {
		where += ` AND instr(f.vuln_id, ?) > 0`
		args = append(args, f.VulnID)
	}
	if f.AppName != "" {
		where += ` AND instr(p.name, ?) > 0`
		args = append(args, f.AppName)
	}
	if f.Type != "" {
		where += ` AND f.vul_type = ?`
		args = append(args, string(f.Type))
	}
	from := ` FROM scan_findings f JOIN sbom_packages p ON p.digest = f.digest AND p.idx = f.pkg WHERE ` + where
	var total int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*)`+from, args...).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("sqlite: count findings of %s: %w", f.Digest, err)
	}
	rows, err := s.read.QueryContext(ctx, `SELECT f.vuln_id, f.repair_necessity, f.description, p.layer_digest, p.name, p.path, p.version,
		f.fixed_version, f.url, f.vul_type, f.severity`+from+` ORDER BY `+necessityRank+`, f.vuln_id, p.name, p.path, f.pkg LIMIT ? OFFSET ?`,
		append(args, limitOf(f.Limit), f.Offset)...)
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: findings of %s: %w", f.Digest, err)
	}
	defer rows.Close()
	out := []scanresult.VulnRow{}
	for rows.Next() {
		var (
			r   scanresult.VulnRow
			typ string
		)
		if err := rows.Scan(&r.VulnID, &r.RepairNecessity, &r.Description, &r.LayerDigest, &r.AppName, &r.AppPath, &r.Version,
			&r.FixedVersion, &r.URL, &typ, &r.Severity); err != nil {
			return 0, nil, fmt.Errorf("sqlite: findings of %s: %w", f.Digest, err)
		}
		r.Type = scanresult.VulType(typ)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("sqlite: findings of %s: %w", f.Digest, err)
	}
	return total, out, nil
}

// ListApps returns one page of the packages of a manifest by name, version
// and path, each with its number of distinct vulnerabilities.
func (s *Store) ListApps(ctx context.Context, f scanresult.AppFilter) (int64, []scanresult.AppRow, error) {
	where := `p.digest = ?`
	args := []any{f.Digest}
	if f.AppName != "" {
		where += ` AND instr(p.name, ?) > 0`
		args = append(args, f.AppName)
	}
	var total int64
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM sbom_packages p WHERE `+where, args...).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("sqlite: count packages of %s: %w", f.Digest, err)
	}
	// (digest, pkg, vuln_id) is the findings' key: count(*) per package is
	// its number of distinct vulnerabilities.
	rows, err := s.read.QueryContext(ctx, `SELECT p.name, p.type, p.version, p.path, p.layer_digest,
		(SELECT count(*) FROM scan_findings f WHERE f.digest = p.digest AND f.pkg = p.idx)
		FROM sbom_packages p WHERE `+where+` ORDER BY p.name, p.version, p.path, p.idx LIMIT ? OFFSET ?`,
		append(args, limitOf(f.Limit), f.Offset)...)
	if err != nil {
		return 0, nil, fmt.Errorf("sqlite: packages of %s: %w", f.Digest, err)
	}
	defer rows.Close()
	out := []scanresult.AppRow{}
	for rows.Next() {
		var r scanresult.AppRow
		if err := rows.Scan(&r.Name, &r.Type, &r.Version, &r.Path, &r.LayerDigest, &r.VulNum); err != nil {
			return 0, nil, fmt.Errorf("sqlite: packages of %s: %w", f.Digest, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return 0, nil, fmt.Errorf("sqlite: packages of %s: %w", f.Digest, err)
	}
	return total, out, nil
}

// limitOf turns "no limit" (0) into SQLite's -1.
func limitOf(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// ImagesByDigest returns the rows of a project whose tag digest or
// described manifest is digest: what HSS's image_id names.
func (s *Store) ImagesByDigest(ctx context.Context, projectID, digest string) ([]inventory.Image, error) {
	// Through images_manifest only: a row whose tag digest is an index
	// describes one of the index's members.
	return s.images(ctx, `SELECT `+imageCols+` FROM images i
		WHERE i.project_id = ?1 AND (i.manifest_digest = ?2
			OR i.manifest_digest IN (SELECT member_digest FROM index_members WHERE index_digest = ?2))
		AND (i.digest = ?2 OR i.manifest_digest = ?2)
		ORDER BY i.id`, projectID, digest)
}

// ImagesByRef returns the rows of a project with exactly this type,
// namespace, name and tag (one per registry connection that has it).
func (s *Store) ImagesByRef(ctx context.Context, projectID string, t inventory.ImageType, namespace, name, tag string) ([]inventory.Image, error) {
	return s.images(ctx, `SELECT `+imageCols+` FROM images i WHERE i.project_id = ? AND i.image_type = ? AND i.namespace = ?
		AND i.name = ? AND i.tag = ? ORDER BY i.id`, projectID, string(t), namespace, name, tag)
}

func (s *Store) images(ctx context.Context, query string, args ...any) ([]inventory.Image, error) {
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: images: %w", err)
	}
	defer rows.Close()
	now := time.Now().UnixMilli()
	out, err := sqlq.Collect(rows, func(r sqlq.Scanner) (inventory.Image, error) { return sqlq.ScanImage(sqlq.SQLite, r, now) })
	if err != nil {
		return nil, fmt.Errorf("sqlite: images: %w", err)
	}
	return out, nil
}

// SetLocalSource records the file or directory a local_image row was
// imported from.
func (s *Store) SetLocalSource(ctx context.Context, imageID int64, path, ref string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO local_sources (image_id, path, ref) VALUES (?, ?, ?)
			ON CONFLICT (image_id) DO UPDATE SET path = excluded.path, ref = excluded.ref`, imageID, path, ref)
		if err != nil {
			return fmt.Errorf("sqlite: local source of image %d: %w", imageID, err)
		}
		return nil
	})
}

// LocalSource returns where a local_image row was imported from.
func (s *Store) LocalSource(ctx context.Context, imageID int64) (path, ref string, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT path, ref FROM local_sources WHERE image_id = ?`, imageID).Scan(&path, &ref)
	if err != nil {
		return "", "", notFound(err, fmt.Sprintf("local source of image %d", imageID))
	}
	return path, ref, nil
}

// OrphanedScans lists the (project, digest) requests whose rows show
// waiting_for_scan or scanning that no queued or running job of kind will
// ever finish (the job was given up, or the database was restored without
// it).
func (s *Store) OrphanedScans(ctx context.Context, kind string) ([]inventory.ScanRequest, error) {
	q := sqlq.OrphanedScans(sqlq.SQLite, kind)
	rows, err := s.read.QueryContext(ctx, q.SQL, q.Args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: orphaned scans: %w", err)
	}
	defer rows.Close()
	out, err := sqlq.Collect(rows, func(r sqlq.Scanner) (inventory.ScanRequest, error) {
		var o inventory.ScanRequest
		return o, r.Scan(&o.ProjectID, &o.Digest)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: orphaned scans: %w", err)
	}
	return out, nil
}

// ScanMeta reads a number the scan service keeps (0 when never set).
func (s *Store) ScanMeta(ctx context.Context, key string) (int64, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT value FROM scan_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: scan meta %s: %w", key, err)
	}
	return v, nil
}

// SetScanMeta writes a number the scan service keeps.
func (s *Store) SetScanMeta(ctx context.Context, key string, value int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO scan_meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		if err != nil {
			return fmt.Errorf("sqlite: scan meta %s: %w", key, err)
		}
		return nil
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
