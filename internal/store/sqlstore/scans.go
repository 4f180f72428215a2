package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

var (
	_ scanresult.Store         = (*Store)(nil)
	_ scanresult.AnalysisStore = (*Store)(nil)
)

// The scan writers keep one digest's SBOM, findings and analysis
// consistent under concurrent writers: each runs in scanTx, which takes
// the digests' locks first (Dialect.xactLock; SQLite's single writer needs
// none) and runs a transaction the engine aborted to break a deadlock again.
//
// A scan's waiting, running and failed states are a project's own: they
// are written on the rows of the requesting project only, never on the
// manifest row (which new rows of any project copy) nor on another
// project's rows. Only a successful scan, whose findings follow from the
// image's bytes, is shared by digest (SetScanResult).

// recordResult writes a scan result on the manifest and copies it onto
// every row describing it, inside tx (SetScanResult's statements).
func (s *Store) recordResult(ctx context.Context, tx *sql.Tx, digest string, r inventory.ScanResult) error {
	r.FailedDesc = s.text(r.FailedDesc)
	for _, st := range SetScanResult(s.d, digest, r) {
		if _, err := tx.ExecContext(ctx, st.SQL, st.Args...); err != nil {
			return s.errf("record scan of %s: %w", digest, err)
		}
	}
	return nil
}

// SetScanResult records the newest finished scan of a manifest and copies it
// onto every row describing that manifest, in one transaction. A digest the
// store has not seen yet gets a manifest row holding only the result, so the
// result is not lost if a sync records the manifest later.
func (s *Store) SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.recordResult(ctx, tx, digest, r) })
}

// SetScanStatus moves the rows of projectID describing digest to status
// (waiting_for_scan, scanning) without touching the previous scan's counts
// and time: a client keeps seeing the last known vul_num while a re-scan
// runs. Other projects' rows and the manifest's shared result are left
// alone.
func (s *Store) SetScanStatus(ctx context.Context, projectID, digest string, status inventory.ScanStatus) error {
	return s.projectStatus(ctx, projectID, digest, status)
}

// RestoreScanStatus puts the project's rows of digest still waiting for or
// running a scan back to the status they had before it was asked for
// (unscan when they had none): a stopped task cancelled the scan, which will
// record nothing. Their counts and scan time were never changed.
func (s *Store) RestoreScanStatus(ctx context.Context, projectID, digest string) error {
	return s.execScan(ctx, digest, `UPDATE images SET scan_failed_desc = prev_scan_failed_desc,
		scan_status = CASE WHEN prev_scan_status = '' THEN 'unscan' ELSE prev_scan_status END
		WHERE manifest_digest = $1 AND project_id = $2 AND `+pendingScan, digest, projectID)
}

// pendingScan is true of a row whose scan is queued or running.
const pendingScan = `scan_status IN ('waiting_for_scan', 'scanning')`

// projectStatus moves the rows of projectID describing digest to status,
// leaving rows already in it alone and the previous scan's counts and time
// as they are. A row leaving a settled status keeps it in prev_scan_status
// (its failure in prev_scan_failed_desc) for RestoreScanStatus. Marking
// rows waiting is QueueScans' (with their jobs, in one transaction).
func (s *Store) projectStatus(ctx context.Context, projectID, digest string, status inventory.ScanStatus) error {
	return s.execScan(ctx, digest, `UPDATE images SET scan_status = $1, scan_failed_desc = '', `+keepSettled+`
		WHERE manifest_digest = $2 AND project_id = $3 AND scan_status <> $1`,
		string(status), digest, projectID)
}

// keepSettled is the SET of a row's prev_scan_status and
// prev_scan_failed_desc when its scan is asked for: a settled status (and
// its failure) is kept for RestoreScanStatus; a pending one leaves them.
const keepSettled = `prev_scan_status = CASE WHEN ` + pendingScan + ` THEN prev_scan_status ELSE scan_status END,
		prev_scan_failed_desc = CASE WHEN ` + pendingScan + ` THEN prev_scan_failed_desc ELSE scan_failed_desc END`

// SetScannable records whether the project's rows of a manifest can be
// scanned (false once it proved oversized for that project's scan).
func (s *Store) SetScannable(ctx context.Context, projectID, digest string, scannable bool) error {
	return s.execScan(ctx, digest, `UPDATE images SET scannable = $1 WHERE manifest_digest = $2 AND project_id = $3
		AND scannable <> $1`, scannable, digest, projectID)
}

// execScan runs query under the digest's scan lock, so that it is ordered
// with a save or clear of the same digest.
func (s *Store) execScan(ctx context.Context, digest string, query string, args ...any) error {
	if !s.storable(digest) {
		return nil // no row can describe it
	}
	return s.scanTx(ctx, []string{digest}, func(tx *sql.Tx, _ *sql.Conn) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return s.wrap(err, "scan state of "+digest)
	})
}

// AdoptSharedScope copies the shared result of digest onto the rows of
// projectID when it is a success recorded at or after since (ms) by a scan
// of every part scope selects (a result of fewer parts holds older
// findings of the others), and reports whether it did: a request made
// before another project's scan of the same bytes finished needs no pull
// of its own. The project's scan history gets the result, at its scan
// time, in the same transaction.
func (s *Store) AdoptSharedScope(ctx context.Context, projectID, digest string, since int64, scope scanresult.Scope) (bool, error) {
	if !s.storable(digest, projectID) {
		return false, nil
	}
	adopted := false
	err := s.scanTx(ctx, []string{digest}, func(tx *sql.Tx, _ *sql.Conn) error {
		adopted = false
		r, err := s.freshShared(ctx, tx, digest, since, scope.Parts())
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err == nil {
			err = s.projectResult(ctx, tx, projectID, digest, r)
		}
		if err != nil {
			return s.errf("shared result of %s: %w", digest, err)
		}
		adopted = true
		return s.addHistory(ctx, tx, projectID, digest, r)
	})
	return adopted && err == nil, err
}

// freshShared reads the shared result of digest when it is a success
// recorded at or after since (ms) by a scan of every part parts selects
// (scanresult.Scope.Parts), whose inventory is stored; sql.ErrNoRows
// otherwise.
func (s *Store) freshShared(ctx context.Context, tx *sql.Tx, digest string, since int64, parts scanresult.Scope) (inventory.ScanResult, error) {
	var r inventory.ScanResult
	err := tx.QueryRowContext(ctx, `SELECT m.scan_status, m.scan_failed_desc, m.latest_scan_time, m.vul_num,
		m.unsafe_setting_num, m.malicious_file_num, m.severity_level FROM manifests m
		WHERE m.digest = $1 AND m.scan_status = 'success' AND m.latest_scan_time >= $2 AND (m.scan_scope & $3) = $3
			AND EXISTS (SELECT 1 FROM sboms s WHERE s.digest = m.digest)`, digest, since, int32(parts)).
		Scan(&r.Status, &r.FailedDesc, &r.ScanTime, &r.VulNum, &r.UnsafeSettingNum, &r.MaliciousFileNum, &r.SeverityLevel)
	return r, err
}

// SaveScan replaces the SBOM and findings of sbom.Digest and records r, in
// one transaction, for no project's scan history.
func (s *Store) SaveScan(ctx context.Context, sbom scanresult.SBOM, findings []scanresult.Finding, r inventory.ScanResult) error {
	return s.SaveScopedScan(ctx, "", scanresult.ScopeAll, sbom, findings, scanresult.Analysis{}, r)
}

// SaveScopedScan is SaveScan of a scan of the parts scope selects, with
// their analysis (docs/scanner.md, Scan scope): it replaces only their
// stored results and counts, and keeps the other parts' as the last
// successful scan left them (none and 0 when there was none). Without
// vulnerabilities, sbom's packages and findings are ignored: the stored
// inventory stays, or, when there is none, the image's layers are stored
// without packages (so vul_num is 0 until a scan with vulnerabilities).
// The manifest records which parts the scan ran (AdoptSharedScope). The
// scan history of projectID, the project whose scan it was (none when
// empty), gets r in the same transaction.
func (s *Store) SaveScopedScan(ctx context.Context, projectID string, scope scanresult.Scope, sbom scanresult.SBOM, findings []scanresult.Finding, a scanresult.Analysis, r inventory.ScanResult) error {
	d := sbom.Digest
	vulns := scope.Has(scanresult.ScopeVulnerabilities)
	if !vulns {
		sbom.Packages, findings = nil, nil
	}
	a = scope.Keep(a)
	if r.Status == inventory.ScanSuccess {
		// Derived here, from the findings saved with it, so that the
		// level always agrees with them (and re-matches keep it so).
		r.SeverityLevel = scanresult.SeverityLevel(findings)
	}
	layersJSON, err := json.Marshal(nonNil(s.texts(sbom.Layers)))
	if err != nil {
		return err
	}
	historyJSON, err := s.layerHistory(sbom.History, len(sbom.Layers))
	if err != nil {
		return err
	}
	types := make(map[int]string, len(sbom.Packages))
	for i, p := range sbom.Packages {
		types[i] = p.Type
	}
	var fr findingRows
	if err := fr.add(s, d, types, findings); err != nil {
		return err
	}
	return s.scanTx(ctx, []string{d}, func(tx *sql.Tx, conn *sql.Conn) error {
		saveSBOM := true
		if scope.Complete() {
			if err := s.deleteParts(ctx, tx, d, scanresult.ScopeAll); err != nil {
				return err
			}
		} else {
			var err error
			if saveSBOM, err = s.keepOtherParts(ctx, tx, scope, d, &r); err != nil {
				return err
			}
		}
		if saveSBOM {
			_, err := tx.ExecContext(ctx, `INSERT INTO sboms (digest, layers, os_id, os_version, os_name, scanned_at, layer_history)
				VALUES ($1, `+s.d.StringsFromJSON("$2")+`, $3, $4, $5, $6, $7)`,
				d, string(layersJSON), s.text(sbom.OSID), s.text(sbom.OSVersion), s.text(sbom.OSName), sbom.ScannedAt, historyJSON)
			if err != nil {
				return s.errf("save sbom of %s: %w", d, err)
			}
			if err := s.load(ctx, tx, conn, "sbom_packages", packageColumns, packageRows{s: s, digest: d, pkgs: sbom.Packages}); err != nil {
				return err
			}
			if err := s.load(ctx, tx, conn, "scan_findings", findingColumns, &fr); err != nil {
				return err
			}
		}
		if err := s.insertAnalysis(ctx, tx, d, a); err != nil {
			return err
		}
		if err := s.recordResult(ctx, tx, d, r); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE manifests SET scan_scope = $2 WHERE digest = $1`, d, int32(scope.Parts())); err != nil {
			return s.errf("scan scope of %s: %w", d, err)
		}
		return s.addHistory(ctx, tx, projectID, d, r)
	})
}

// layerHistory is the layer_history column of h, the history of n layers:
// empty when not recorded (nil, or not one entry per layer, which no reader
// could map), else its JSON with every step as a text column holds it.
func (s *Store) layerHistory(h []scanresult.LayerHistory, n int) (string, error) {
	if h == nil || len(h) != n {
		return "", nil
	}
	out := make([]scanresult.LayerHistory, len(h))
	for i, l := range h {
		out[i] = scanresult.LayerHistory{Size: l.Size, CreatedBy: s.text(l.CreatedBy)}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", s.errf("layer history: %w", err)
	}
	return string(b), nil
}

// deleteParts deletes the stored results of digest of the parts scope
// selects (ScopeAll: every part, the whole scan) inside tx.
func (s *Store) deleteParts(ctx context.Context, tx *sql.Tx, digest string, scope scanresult.Scope) error {
	for _, p := range scopeTables {
		if !scope.Has(p.part) {
			continue
		}
		for _, table := range p.tables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE digest = $1`, digest); err != nil {
				return s.errf("clear %s of %s: %w", table, digest, err)
			}
		}
	}
	return nil
}

// scopeTables are the tables of each part's stored results.
var scopeTables = []struct {
	part   scanresult.Scope
	tables []string
}{
	{scanresult.ScopeVulnerabilities, []string{"scan_findings", "sbom_packages", "sboms"}},
	{scanresult.ScopeBaseline, []string{"baseline_results", "weak_passwords"}},
	{scanresult.ScopeMalware, []string{"malware_findings", "file_hashes"}},
	{scanresult.ScopeSecrets, []string{"secret_findings"}},
}

// keepOtherParts prepares the save of a scan of some parts of digest
// inside tx: it deletes the stored results of the parts scope selects,
// sets r's counts of the other parts to those of the last successful scan
// (0 and nothing kept when there is none), and reports whether an SBOM is
// to be saved (the scan has vulnerabilities, or none is stored).
func (s *Store) keepOtherParts(ctx context.Context, tx *sql.Tx, scope scanresult.Scope, digest string, r *inventory.ScanResult) (bool, error) {
	prev, err := s.freshShared(ctx, tx, digest, 0, 0)
	saveSBOM := scope.Has(scanresult.ScopeVulnerabilities)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Nothing successful is stored (a failure's leftovers, if any,
		// are not a result): the other parts start empty and 0.
		prev = inventory.ScanResult{SeverityLevel: scanresult.SeverityLevel(nil)}
		if err := s.deleteParts(ctx, tx, digest, scanresult.ScopeAll); err != nil {
			return false, err
		}
		saveSBOM = true
	case err != nil:
		return false, s.errf("last scan of %s: %w", digest, err)
	default:
		if err := s.deleteParts(ctx, tx, digest, scope); err != nil {
			return false, err
		}
	}
	if !scope.Has(scanresult.ScopeVulnerabilities) {
		r.VulNum, r.SeverityLevel = prev.VulNum, prev.SeverityLevel
	}
	if !scope.Has(scanresult.ScopeBaseline) {
		r.UnsafeSettingNum = prev.UnsafeSettingNum
	}
	if !scope.Has(scanresult.ScopeMalware) {
		r.MaliciousFileNum = prev.MaliciousFileNum
	}
	return saveSBOM, nil
}

// packageColumns are the columns of a packageRows row.
var packageColumns = []string{"digest", "idx", "name", "version", "ecosystem", "source_name", "source_version",
	"type", "path", "layer_digest", "purl", "platform"}

// packageRows are the sbom_packages rows of an SBOM, a RowSource.
type packageRows struct {
	s      *Store
	digest string
	pkgs   []scanresult.Package
}

func (r packageRows) Len() int { return len(r.pkgs) }
func (r packageRows) Row(i int, dst []any) {
	p, t := &r.pkgs[i], r.s.text
	dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6], dst[7], dst[8], dst[9], dst[10], dst[11] = r.digest, int32(i),
		t(p.Name), t(p.Version), t(p.Ecosystem), t(p.SourceName), t(p.SourceVersion), t(p.Type), t(p.Path),
		t(p.LayerDigest), t(p.PURL), t(p.Platform)
}

// ClearScan records the failed scan r on the rows of projectID describing
// digest, and in the project's scan history. The stored inventory and
// findings of digest, and the manifest's shared result, are removed only
// when no row of any project still shows or waits to replace them: another
// project's failure never takes away a result it did not produce.
func (s *Store) ClearScan(ctx context.Context, projectID, digest string, r inventory.ScanResult) error {
	if !s.storable(digest, projectID) {
		return nil // no row can describe it
	}
	r.FailedDesc = s.text(r.FailedDesc)
	return s.scanTx(ctx, []string{digest}, func(tx *sql.Tx, _ *sql.Conn) error {
		if err := s.projectResult(ctx, tx, projectID, digest, r); err != nil {
			return s.errf("record scan of %s: %w", digest, err)
		}
		if err := s.addHistory(ctx, tx, projectID, digest, r); err != nil {
			return err
		}
		// While a row of any project still shows, or waits to replace, the
		// shared result, the stored inventory and findings stay.
		var inUse bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM images WHERE manifest_digest = $1
			AND scan_status IN ('success', 'waiting_for_scan', 'scanning'))`, digest).Scan(&inUse); err != nil {
			return s.errf("rows of %s: %w", digest, err)
		}
		if inUse {
			return nil
		}
		if err := s.deleteParts(ctx, tx, digest, scanresult.ScopeAll); err != nil {
			return err
		}
		// A row synced later starts unscanned.
		if _, err := tx.ExecContext(ctx, `UPDATE manifests SET scan_status = 'unscan', scan_failed_desc = '', latest_scan_time = 0,
			vul_num = 0, unsafe_setting_num = 0, malicious_file_num = 0, severity_level = '' WHERE digest = $1`, digest); err != nil {
			return s.errf("reset scan of %s: %w", digest, err)
		}
		return nil
	})
}

// projectResult records r on the rows of projectID describing digest.
func (s *Store) projectResult(ctx context.Context, tx *sql.Tx, projectID, digest string, r inventory.ScanResult) error {
	if r.Status == "" {
		r.Status = inventory.Unscan
	}
	_, err := tx.ExecContext(ctx, `UPDATE images SET scan_status = $1, scan_failed_desc = $2, latest_scan_time = $3,
		vul_num = $4, unsafe_setting_num = $5, malicious_file_num = $6, severity_level = $7
		WHERE manifest_digest = $8 AND project_id = $9`, string(r.Status), r.FailedDesc, r.ScanTime, r.VulNum,
		r.UnsafeSettingNum, r.MaliciousFileNum, r.SeverityLevel, digest, projectID)
	return err
}

// findingRows collects scan_findings rows of any digests for one load, a
// RowSource. A load cannot skip conflicting rows (COPY), so the writers
// clear a digest's findings first (under its lock) and add drops a finding
// repeating an earlier one's (package, vulnerability).
type findingRows struct {
	s    *Store
	rows []findingRow
}

type findingRow struct {
	digest, vulnID, vulType string
	pkg                     int32
	f                       *scanresult.Finding
}

// findingColumns are the columns of a findingRows row.
var findingColumns = []string{"digest", "pkg", "vuln_id", "vul_type", "repair_necessity", "severity", "score",
	"fixed_version", "description", "url", "aliases"}

// add queues findings of digest (once per digest and load); types gives
// the type of each package of its SBOM. A finding naming a package the
// SBOM lacks is an error.
func (r *findingRows) add(s *Store, digest string, types map[int]string, findings []scanresult.Finding) error {
	r.s = s
	type key struct {
		pkg  int
		vuln string
	}
	seen := make(map[key]bool, len(findings))
	for i := range findings {
		f := &findings[i]
		typ, ok := types[f.Package]
		if !ok {
			return s.errf("finding %s of %s names package %d, which the SBOM does not have", f.VulnID, digest, f.Package)
		}
		k := key{f.Package, s.text(f.VulnID)}
		if seen[k] {
			continue
		}
		seen[k] = true
		r.rows = append(r.rows, findingRow{digest: digest, vulnID: k.vuln, vulType: string(scanresult.TypeOf(typ)), pkg: int32(f.Package), f: f})
	}
	return nil
}

func (r *findingRows) Len() int { return len(r.rows) }
func (r *findingRows) Row(i int, dst []any) {
	row, t := &r.rows[i], r.s.text
	f := row.f
	dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6], dst[7], dst[8], dst[9], dst[10] = row.digest, row.pkg, row.vulnID,
		row.vulType, t(f.RepairNecessity), t(f.Severity), f.Score, t(f.FixedVersion), t(f.Description), t(f.URL), nonNil(r.s.texts(f.Aliases))
}

// ReplaceFindings applies a re-match's updates in one transaction: for
// each digest that still has an SBOM, its findings are swapped and
// vul_num is set where the manifest's last scan succeeded. Rows whose
// count does not change are not written, so a re-match that changes
// nothing leaves the list's count cache valid.
func (s *Store) ReplaceFindings(ctx context.Context, updates []scanresult.FindingsUpdate) error {
	byDigest := make(map[string]scanresult.FindingsUpdate, len(updates))
	var digests []string
	for _, u := range updates {
		if _, dup := byDigest[u.Digest]; dup {
			return s.errf("replace findings: digest %s given twice", u.Digest)
		}
		byDigest[u.Digest] = u
		if s.storable(u.Digest) { // no SBOM is stored under any other
			digests = append(digests, u.Digest)
		}
	}
	if len(digests) == 0 {
		return nil
	}
	slices.Sort(digests)
	return s.scanTx(ctx, digests, func(tx *sql.Tx, conn *sql.Conn) error {
		var (
			fr      findingRows
			present []string
			vulNum  []int32
			levels  []string
		)
		for chunk := range slices.Chunk(digests, s.d.MaxRows(1)) {
			// Digests without an SBOM were re-scanned and failed since
			// the caller read it: nothing to match any more.
			b := newBuilder(s.d)
			b.In("digest", chunk)
			have, err := queryAll(ctx, tx, scanString, `SELECT digest FROM sboms WHERE `+b.SQL()+` ORDER BY digest`, b.Args()...)
			if err != nil {
				return s.errf("sboms: %w", err)
			}
			if len(have) == 0 {
				continue
			}
			b = newBuilder(s.d)
			b.In("digest", have)
			if _, err := tx.ExecContext(ctx, `DELETE FROM scan_findings WHERE `+b.SQL(), b.Args()...); err != nil {
				return s.errf("clear findings: %w", err)
			}
			types, err := s.packageTypes(ctx, tx, have)
			if err != nil {
				return err
			}
			for _, d := range have {
				u := byDigest[d]
				if err := fr.add(s, d, types[d], u.Findings); err != nil {
					return err
				}
				present = append(present, d)
				vulNum = append(vulNum, u.VulNum)
				levels = append(levels, scanresult.SeverityLevel(u.Findings))
			}
		}
		if len(present) == 0 {
			return nil
		}
		if err := s.load(ctx, tx, conn, "scan_findings", findingColumns, &fr); err != nil {
			return err
		}
		return s.setVulNums(ctx, tx, present, vulNum, levels)
	})
}

// setVulNums sets vul_num n[i] and severity_level levels[i] on the
// manifest digests[i] and the rows describing it, where its last scan
// succeeded and either differs.
func (s *Store) setVulNums(ctx context.Context, tx *sql.Tx, digests []string, n []int32, levels []string) error {
	step := s.d.MaxRows(3)
	for lo := 0; lo < len(digests); lo += step {
		hi := min(lo+step, len(digests))
		for _, target := range [][2]string{{"manifests", "digest"}, {"images", "manifest_digest"}} {
			table, key := target[0], target[1]
			b := newBuilder(s.d)
			// IN (SELECT ...) walks the table's index on key for each
			// digest on both engines, where a join could scan the table.
			q := `WITH u(d, n, l) AS (` + b.Rows(col{Type: "text", Values: digests[lo:hi]}, col{Type: "int4", Values: n[lo:hi]},
				col{Type: "text", Values: levels[lo:hi]}) + `)
				UPDATE ` + table + ` SET vul_num = (SELECT u.n FROM u WHERE u.d = ` + table + `.` + key + `),
					severity_level = (SELECT u.l FROM u WHERE u.d = ` + table + `.` + key + `)
				WHERE ` + key + ` IN (SELECT d FROM u) AND scan_status = 'success'
					AND (vul_num <> (SELECT u.n FROM u WHERE u.d = ` + table + `.` + key + `)
						OR severity_level <> (SELECT u.l FROM u WHERE u.d = ` + table + `.` + key + `))`
			if _, err := tx.ExecContext(ctx, q, b.Args()...); err != nil {
				return s.errf("vul_num: %w", err)
			}
		}
	}
	return nil
}

// packageTypes reads the type of each stored package of digests.
func (s *Store) packageTypes(ctx context.Context, tx *sql.Tx, digests []string) (map[string]map[int]string, error) {
	b := newBuilder(s.d)
	b.In("digest", digests)
	out := make(map[string]map[int]string, len(digests))
	err := queryEach(ctx, tx, func(r rowScanner) error {
		var (
			d, t string
			i    int
		)
		err := r.Scan(&d, &i, &t)
		if out[d] == nil {
			out[d] = map[int]string{}
		}
		out[d][i] = t
		return err
	}, `SELECT digest, idx, type FROM sbom_packages WHERE `+b.SQL(), b.Args()...)
	if err != nil {
		return nil, s.errf("packages: %w", err)
	}
	return out, nil
}

// GetSBOM returns the stored SBOM of digest, read in one snapshot: a scan
// saved in between must not mix two inventories.
func (s *Store) GetSBOM(ctx context.Context, digest string) (scanresult.SBOM, error) {
	sb := scanresult.SBOM{Digest: digest}
	if !s.storable(digest) {
		return sb, s.errf("sbom of %q: %w", digest, inventory.ErrNotFound)
	}
	tx, err := s.snapshot(ctx)
	if err != nil {
		return sb, s.errf("sbom of %s: %w", digest, err)
	}
	defer tx.Rollback()
	// Through the statement cache: a re-match reads every SBOM.
	var layers, history string
	err = s.txQueryRow(ctx, tx, `SELECT `+s.d.StringsToJSON("layers")+`, os_id, os_version, os_name, scanned_at, layer_history
		FROM sboms WHERE digest = $1`, digest).Scan(&layers, &sb.OSID, &sb.OSVersion, &sb.OSName, &sb.ScannedAt, &history)
	if err != nil {
		return sb, s.notFound(err, "sbom of "+digest)
	}
	if err := json.Unmarshal([]byte(layers), &sb.Layers); err != nil {
		return sb, s.errf("layers of %s: %w", digest, err)
	}
	if history != "" { // '': stored before the history was (migration 01000)
		if err := json.Unmarshal([]byte(history), &sb.History); err != nil || len(sb.History) != len(sb.Layers) {
			return sb, s.errf("layer history of %s: %q does not describe its %d layers", digest, history, len(sb.Layers))
		}
	}
	sb.Packages, err = queryAll(ctx, cachedTx{s, tx}, func(r rowScanner) (p scanresult.Package, err error) {
		return p, r.Scan(&p.Name, &p.Version, &p.Ecosystem, &p.SourceName, &p.SourceVersion, &p.Type, &p.Path, &p.LayerDigest,
			&p.PURL, &p.Platform)
	}, `SELECT name, version, ecosystem, source_name, source_version, type, path, layer_digest, purl,
		platform FROM sbom_packages WHERE digest = $1 ORDER BY idx`, digest)
	if err != nil {
		return sb, s.errf("packages of %s: %w", digest, err)
	}
	if s.stmts != nil {
		tx.Rollback()
		s.stmts.PrepareMissed(ctx) // the connection is back: prepare what the transaction missed
	}
	return sb, nil
}

// SBOMDigests lists every digest with a stored SBOM.
func (s *Store) SBOMDigests(ctx context.Context) ([]string, error) {
	return readAll(ctx, s, s.read, "sbom digests", scanString, `SELECT digest FROM sboms ORDER BY digest`)
}

// necessityRank orders findings most urgent first.
const necessityRank = `CASE f.repair_necessity WHEN 'immediate_repair' THEN 0 WHEN 'delay_repair' THEN 1 ELSE 2 END`

// limitOf is n as a LIMIT argument, "no limit" (0) as the largest one,
// which both engines read as no limit.
func limitOf(n int) int64 {
	if n <= 0 {
		return math.MaxInt64
	}
	return int64(n)
}

// ListVulns returns one page of the findings of a manifest, most urgent
// first, then by vulnerability id, package name and path.
func (s *Store) ListVulns(ctx context.Context, f scanresult.VulnFilter) (int64, []scanresult.VulnRow, error) {
	if !s.storable(f.Digest, f.RepairNecessity, f.VulnID, f.AppName, string(f.Type), f.LayerDigest) {
		return 0, []scanresult.VulnRow{}, nil // no stored string contains one the engine cannot hold
	}
	b := newBuilder(s.d)
	b.Eq("f.digest", f.Digest)
	if f.RepairNecessity != "" {
		b.Eq("f.repair_necessity", f.RepairNecessity)
	}
	if f.VulnID != "" {
		b.Contains("f.vuln_id", f.VulnID)
	}
	if f.AppName != "" {
		b.Contains("p.name", f.AppName)
	}
	if f.Type != "" {
		b.Eq("f.vul_type", string(f.Type))
	}
	if f.SeverityClass != "" {
		labels, unknown := scanresult.SeverityLabels(f.SeverityClass)
		if len(labels) == 0 {
			return 0, []scanresult.VulnRow{}, nil // not a class: no finding is in it
		}
		op := " IN "
		if unknown {
			op = " NOT IN "
		}
		b.Where("lower(f.severity)" + op + "(" + b.List(anys(labels)...) + ")")
	}
	if f.LayerDigest != "" {
		b.Eq("p.layer_digest", f.LayerDigest)
	}
	if f.Fixable != nil {
		op := "<>"
		if !*f.Fixable {
			op = "="
		}
		b.Where("f.fixed_version " + op + " ''")
	}
	return pageOf(ctx, s, "findings of "+f.Digest, b, `f.vuln_id, f.repair_necessity, f.description, p.layer_digest, p.name,
		p.path, p.version, f.fixed_version, f.url, f.vul_type, f.severity, `+s.d.StringsToJSON("f.aliases"),
		`FROM scan_findings f JOIN sbom_packages p ON p.digest = f.digest AND p.idx = f.pkg WHERE `+b.SQL(),
		necessityRank+`, f.vuln_id, p.name, p.path, f.pkg`, f.Offset, f.Limit,
		func(row rowScanner) (r scanresult.VulnRow, err error) {
			var aliases string
			if err := row.Scan(&r.VulnID, &r.RepairNecessity, &r.Description, &r.LayerDigest, &r.AppName, &r.AppPath,
				&r.Version, &r.FixedVersion, &r.URL, &r.Type, &r.Severity, &aliases); err != nil {
				return r, err
			}
			if err := json.Unmarshal([]byte(aliases), &r.Aliases); err != nil || r.Aliases == nil {
				return r, fmt.Errorf("aliases of %s: %q is not a JSON array of strings", r.VulnID, aliases)
			}
			return r, nil
		})
}

// anys is vs as arguments.
func anys[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// CountFindings counts, by severity label, the findings of the manifests
// whose successful scan a project's rows in enterpriseProjects (nil: all)
// show: each manifest once however many rows show it. The web console's
// overview reads it (docs/console.md).
func (s *Store) CountFindings(ctx context.Context, projectID string, enterpriseProjects []string) ([]scanresult.SeverityCount, error) {
	b, ok := s.projectRows(projectID, enterpriseProjects)
	if !ok {
		return []scanresult.SeverityCount{}, nil
	}
	b.Eq("i.scan_status", string(inventory.ScanSuccess))
	// Driven from the findings, each manifest's checked through
	// images_manifest: an IN over the rows' manifests built a set of every
	// scanned row first, seconds at 10^6 rows (docs/benchmarks.md, Web
	// console), whatever the findings.
	return readAll(ctx, s, s.read, "count findings of project "+projectID, func(r rowScanner) (c scanresult.SeverityCount, err error) {
		return c, r.Scan(&c.Severity, &c.Findings, &c.Fixable)
	}, `SELECT f.severity, count(*), sum(CASE WHEN f.fixed_version <> '' THEN 1 ELSE 0 END)
		FROM scan_findings f WHERE EXISTS (SELECT 1 FROM images i WHERE i.manifest_digest = f.digest AND `+b.SQL()+`)
		GROUP BY f.severity ORDER BY f.severity`, b.Args()...)
}

// scopeCanMatch reports whether any row of a project in
// enterpriseProjects (nil: all) can exist: not when none is granted, nor
// when a string is one the engine cannot store.
func (s *Store) scopeCanMatch(projectID string, enterpriseProjects []string) bool {
	return s.storable(append([]string{projectID}, enterpriseProjects...)...) &&
		(enterpriseProjects == nil || len(enterpriseProjects) > 0)
}

// projectRows is the condition over images aliased i selecting a project's
// rows in enterpriseProjects (nil: all), bound in a new builder; ok is
// false when no row can match.
func (s *Store) projectRows(projectID string, enterpriseProjects []string) (b *builder, ok bool) {
	if !s.scopeCanMatch(projectID, enterpriseProjects) {
		return nil, false
	}
	return newScoped(s.d, "i.", projectID, enterpriseProjects), true
}

// TopImages implements scanresult.FindingsStore: the web console's top
// images (docs/console.md), ordered by the rank of severity_level, then
// vul_num, then id (a stable order between equals).
//
// One query over every row with vulnerabilities sorted a third of a
// million rows at 10^6, and one per rank a level's 78,000 (seconds and
// half a second, docs/benchmarks.md, Web console). So image_counts first
// names the enterprise projects and severity levels that have such rows,
// and each (enterprise project, level) is read on its own, most severe
// rank first, as one range of images_top in order (topQuery), stopped at
// the places left; the ranges of a rank are merged here. A query per
// enterprise project rather than one with an IN: no index gives the rows
// of several enterprise projects in vul_num order, so an IN reads and
// sorts them all. The answer is cached for the images generation it was
// read at (topCache).
func (s *Store) TopImages(ctx context.Context, projectID string, enterpriseProjects []string, n int) ([]scanresult.TopImage, error) {
	out := []scanresult.TopImage{}
	if !s.scopeCanMatch(projectID, enterpriseProjects) || n <= 0 {
		return out, nil
	}
	// Answered before at the current generation: one statement outside a
	// transaction, as ListImages checks its cache, so a hit opens none.
	genQuery, genArgs := s.d.listGeneration(projectID)
	key := topKey(projectID, enterpriseProjects, n)
	var gen, changes int64
	if err := s.queryRow(ctx, genQuery, genArgs...).Scan(&gen, &changes); err != nil {
		return nil, s.errf("top images of project %s: %w", projectID, err)
	}
	if rows, ok := s.tops.get(key, gen); ok {
		return rows, nil
	}
	tx, err := s.snapshot(ctx)
	if err != nil {
		return nil, s.errf("top images of project %s: %w", projectID, err)
	}
	defer tx.Rollback()
	if err := s.txQueryRow(ctx, tx, genQuery, genArgs...).Scan(&gen, &changes); err != nil {
		return nil, s.errf("top images of project %s: %w", projectID, err)
	}
	ranks, err := s.topRanks(ctx, tx, projectID, enterpriseProjects)
	if err != nil {
		return nil, s.errf("top images of project %s: %w", projectID, err)
	}
	for r := len(ranks) - 1; r >= 0 && len(out) < n; r-- {
		var rank []scanresult.TopImage
		for _, g := range ranks[r] {
			q, args := s.topQuery(projectID, g, n-len(out))
			rows, err := queryAll(ctx, tx, func(row rowScanner) (t scanresult.TopImage, err error) {
				return t, row.Scan(&t.ID, &t.Type, &t.Namespace, &t.Name, &t.Tag, &t.SeverityLevel, &t.VulNum)
			}, q, args...)
			if err != nil {
				return nil, s.errf("top images of project %s: %w", projectID, err)
			}
			rank = append(rank, rows...)
		}
		// Each range is in order and at most the places left long: their
		// first places, merged, are the rank's.
		slices.SortFunc(rank, func(a, b scanresult.TopImage) int {
			if c := cmp.Compare(b.VulNum, a.VulNum); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		out = append(out, rank[:min(len(rank), n-len(out))]...)
	}
	s.tops.put(key, gen, out)
	return out, nil
}

// topGroup is one range of images_top: the rows of an enterprise project
// at a severity level.
type topGroup struct{ enterpriseProject, level string }

// topRanks returns the (enterprise project, level) pairs of the project's
// rows with vulnerabilities in enterpriseProjects (nil: all), as
// image_counts knows them, by rank of the level (severities); rank 0
// holds every other level (Security, none, any unknown one) as one.
func (s *Store) topRanks(ctx context.Context, tx querier, projectID string, enterpriseProjects []string) ([][]topGroup, error) {
	c := newScoped(s.d, "c.", projectID, enterpriseProjects)
	c.Where(s.d.IsTrue("c.vul"))
	groups, err := queryAll(ctx, tx, func(r rowScanner) (g topGroup, err error) { return g, r.Scan(&g.enterpriseProject, &g.level) },
		`SELECT c.enterprise_project_id, c.severity_level FROM image_counts c WHERE `+c.SQL()+`
		GROUP BY c.enterprise_project_id, c.severity_level HAVING sum(c.rows) > 0`, c.Args()...)
	if err != nil {
		return nil, err
	}
	ranks := make([][]topGroup, len(severities))
	for _, g := range groups {
		r := max(slices.Index(severities, g.level), 0)
		ranks[r] = append(ranks[r], g)
	}
	return ranks, nil
}

// topQuery reads the first limit rows of g in TopImages' order: equalities
// on images_top's first three columns and its order after them, so a walk
// of one range that stops at limit, with no sort. vul_num > 0 is written
// out, not bound: a partial index is used only when the query's text
// implies its condition (PostgreSQL's generic plans know no argument).
func (s *Store) topQuery(projectID string, g topGroup, limit int) (string, []any) {
	q := newBuilder(s.d)
	q.Eq("i.project_id", projectID)
	q.Eq("i.enterprise_project_id", g.enterpriseProject)
	q.Eq("i.severity_level", g.level)
	q.Where("i.vul_num > 0")
	return `SELECT i.id, i.image_type, i.namespace, i.name, i.tag, i.severity_level, i.vul_num
		FROM images i WHERE ` + q.SQL() + ` ORDER BY i.vul_num DESC, i.id LIMIT ` + q.Arg(limit), q.Args()
}

// TopVulns implements scanresult.FindingsStore: the web console's top
// vulnerabilities (docs/console.md). The ids and counts are one grouped
// query over the rows' scanned manifests (the manifests CountFindings
// reads); their aliases and severity a second one over those ids. Both
// walk the findings and look each manifest's rows up (images_manifest),
// as CountFindings: the other way round, every scanned row was read.
func (s *Store) TopVulns(ctx context.Context, projectID string, enterpriseProjects []string, n int) ([]scanresult.TopVuln, error) {
	out := []scanresult.TopVuln{}
	b, ok := s.projectRows(projectID, enterpriseProjects)
	if !ok || n <= 0 {
		return out, nil
	}
	b.Eq("i.scan_status", string(inventory.ScanSuccess))
	tx, err := s.snapshot(ctx)
	if err != nil {
		return nil, s.errf("top vulnerabilities of project %s: %w", projectID, err)
	}
	defer tx.Rollback()
	out, err = queryAll(ctx, tx, func(r rowScanner) (v scanresult.TopVuln, err error) {
		v.Aliases = []string{}
		return v, r.Scan(&v.VulnID, &v.Images)
	}, `SELECT f.vuln_id, count(DISTINCT i.id) FROM scan_findings f `+s.d.outerFirstJoin()+` images i ON i.manifest_digest = f.digest
		WHERE `+b.SQL()+` GROUP BY f.vuln_id ORDER BY count(DISTINCT i.id) DESC, `+s.d.bytewise("f.vuln_id")+` LIMIT `+b.Arg(n), b.Args()...)
	if err != nil {
		return nil, s.errf("top vulnerabilities of project %s: %w", projectID, err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]string, len(out))
	for i, v := range out {
		ids[i] = v.VulnID
	}
	d, _ := s.projectRows(projectID, enterpriseProjects)
	d.Eq("i.scan_status", string(inventory.ScanSuccess))
	d.In("f.vuln_id", ids)
	type detail struct{ id, aliases, severity string }
	details, err := queryAll(ctx, tx, func(r rowScanner) (x detail, err error) {
		return x, r.Scan(&x.id, &x.aliases, &x.severity)
	}, `SELECT DISTINCT f.vuln_id, `+s.d.StringsToJSON("f.aliases")+`, f.severity FROM scan_findings f
		`+s.d.outerFirstJoin()+` images i ON i.manifest_digest = f.digest WHERE `+d.SQL(), d.Args()...)
	if err != nil {
		return nil, s.errf("top vulnerabilities of project %s: %w", projectID, err)
	}
	// A record matched in several packages is stored once per package;
	// the finding naming the most aliases and a severity speaks for it.
	for i := range out {
		for _, x := range details {
			if x.id != out[i].VulnID {
				continue
			}
			var aliases []string
			if err := json.Unmarshal([]byte(x.aliases), &aliases); err != nil {
				return nil, s.errf("top vulnerabilities of project %s: aliases of %s: %w", projectID, x.id, err)
			}
			if len(aliases) > len(out[i].Aliases) {
				out[i].Aliases = aliases
			}
			if out[i].Severity == "" {
				out[i].Severity = x.severity
			}
		}
	}
	return out, nil
}

// ListApps returns one page of the packages of a manifest by name, version
// and path, each with its number of distinct vulnerabilities.
func (s *Store) ListApps(ctx context.Context, f scanresult.AppFilter) (int64, []scanresult.AppRow, error) {
	if !s.storable(f.Digest, f.AppName, f.LayerDigest) {
		return 0, []scanresult.AppRow{}, nil
	}
	b := newBuilder(s.d)
	b.Eq("p.digest", f.Digest)
	if f.AppName != "" {
		b.Contains("p.name", f.AppName)
	}
	if f.LayerDigest != "" {
		b.Eq("p.layer_digest", f.LayerDigest)
	}
	// (digest, pkg, vuln_id) is the findings' key: count(*) per package is
	// its number of distinct vulnerabilities.
	return pageOf(ctx, s, "packages of "+f.Digest, b, `p.name, p.type, p.version, p.path, p.layer_digest,
		(SELECT count(*) FROM scan_findings f WHERE f.digest = p.digest AND f.pkg = p.idx)`,
		`FROM sbom_packages p WHERE `+b.SQL(), `p.name, p.version, p.path, p.idx`, f.Offset, f.Limit,
		func(row rowScanner) (r scanresult.AppRow, err error) {
			return r, row.Scan(&r.Name, &r.Type, &r.Version, &r.Path, &r.LayerDigest, &r.VulNum)
		})
}

// ImagesByDigest returns the rows of a project whose tag digest or
// described manifest is digest: what HSS's image_id names.
func (s *Store) ImagesByDigest(ctx context.Context, projectID, digest string) ([]inventory.Image, error) {
	if !s.storable(projectID, digest) {
		return nil, nil
	}
	// Through images_manifest only: a row whose tag digest is an index
	// describes one of the index's members.
	return s.images(ctx, `SELECT `+s.d.ImageCols()+` FROM images i
		WHERE i.project_id = $1 AND (i.manifest_digest = $2
			OR i.manifest_digest IN (SELECT member_digest FROM index_members WHERE index_digest = $2))
		AND (i.digest = $2 OR i.manifest_digest = $2)
		ORDER BY i.id`, projectID, digest)
}

// ImagesByRef returns the rows of a project with exactly this type,
// namespace, name and tag (one per registry connection that has it).
func (s *Store) ImagesByRef(ctx context.Context, projectID string, t inventory.ImageType, namespace, name, tag string) ([]inventory.Image, error) {
	if !s.storable(projectID, string(t), namespace, name, tag) {
		return nil, nil
	}
	return s.images(ctx, `SELECT `+s.d.ImageCols()+` FROM images i WHERE i.project_id = $1 AND i.image_type = $2
		AND i.namespace = $3 AND i.name = $4 AND i.tag = $5 ORDER BY i.id`, projectID, string(t), namespace, name, tag)
}

func (s *Store) images(ctx context.Context, query string, args ...any) ([]inventory.Image, error) {
	now := time.Now().UnixMilli()
	return readAll(ctx, s, s.read, "images", func(r rowScanner) (inventory.Image, error) { return ScanImage(r, now) }, query, args...)
}

// SetLocalSource records the file or directory a local_image row was
// imported from. The path is kept as bytes: a file name need not be
// UTF-8.
func (s *Store) SetLocalSource(ctx context.Context, imageID int64, path, ref string) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO local_sources (image_id, path, ref) VALUES ($1, $2, $3)
		ON CONFLICT (image_id) DO UPDATE SET path = excluded.path, ref = excluded.ref`, imageID, []byte(path), s.text(ref))
	return s.wrap(err, fmt.Sprintf("local source of image %d", imageID))
}

// LocalSource returns where a local_image row was imported from.
func (s *Store) LocalSource(ctx context.Context, imageID int64) (path, ref string, err error) {
	var p []byte
	err = s.read.QueryRowContext(ctx, `SELECT path, ref FROM local_sources WHERE image_id = $1`, imageID).Scan(&p, &ref)
	if err != nil {
		return "", "", s.notFound(err, fmt.Sprintf("local source of image %d", imageID))
	}
	return string(p), ref, nil
}

// OrphanedScans lists the (project, digest) requests whose rows show
// waiting_for_scan or scanning that no queued or running job of kind will
// ever finish (the job was given up, or the database was restored without
// it). A job is the project's by its key (inventory.ScanJobKey); a job
// queued before scan jobs were per project is keyed by the digest alone
// and carries its project.
func (s *Store) OrphanedScans(ctx context.Context, kind string) ([]inventory.ScanRequest, error) {
	return readAll(ctx, s, s.read, "orphaned scans", func(r rowScanner) (o inventory.ScanRequest, err error) {
		return o, r.Scan(&o.ProjectID, &o.Digest)
	}, `SELECT DISTINCT i.project_id, i.manifest_digest FROM images i
		WHERE i.scan_status IN ('waiting_for_scan', 'scanning')
		AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = $1 AND j.state IN ('queued', 'running')
			AND (j.key = i.project_id || '/' || i.manifest_digest
				OR (j.key = i.manifest_digest AND j.project_id = i.project_id)))
		ORDER BY i.project_id, i.manifest_digest`, s.text(kind))
}

// ScanMeta reads a number the scan service keeps (0 when never set).
func (s *Store) ScanMeta(ctx context.Context, key string) (int64, error) {
	if !s.storable(key) {
		return 0, nil
	}
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT value FROM scan_meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.errf("scan meta %s: %w", key, err)
	}
	return v, nil
}

// SetScanMeta writes a number the scan service keeps.
func (s *Store) SetScanMeta(ctx context.Context, key string, value int64) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO scan_meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return s.wrap(err, "scan meta "+key)
}
