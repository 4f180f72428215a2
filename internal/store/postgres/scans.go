package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store/sqlq"
)

var _ scanresult.Store = (*Store)(nil)

// The scan writers below keep the SQLite store's semantics under
// concurrency it does not have: writers of one digest's SBOM and findings
// take a per-digest advisory lock first (SQLite's single writer serialises
// them), and every scan write runs in scanTx, which retries a transaction
// PostgreSQL aborted as a deadlock. A scan write locks a manifest and then
// the rows of every connection describing it, a sync locks one
// connection's rows in its own order; the two rarely meet, and when they
// do one of them is simply run again.

// maxTxAttempts bounds scanTx's retries of a deadlocked transaction.
const maxTxAttempts = 5

// scanTx is inTx, retried when PostgreSQL broke a deadlock or a
// serialisation conflict by aborting it. fn must be safe to run again.
func (s *Store) scanTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range maxTxAttempts {
		if err = s.inTx(ctx, fn); !retryable(err) {
			return err
		}
	}
	return err
}

// retryable reports whether err aborted a transaction that may succeed
// when run again: deadlock_detected or serialization_failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// lockDigest serialises the writers of one digest's scan data until tx
// ends.
func lockDigest(ctx context.Context, tx pgx.Tx, digest string) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey("openhss-scan:"+digest)); err != nil {
		return fmt.Errorf("postgres: lock scan of %s: %w", digest, err)
	}
	return nil
}

// clean makes s storable in a text column: invalid UTF-8 and NUL bytes,
// which scanned file names and advisory texts may hold and PostgreSQL
// cannot, become U+FFFD.
func clean(s string) string {
	if storable(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func cleanAll(ss []string) []string {
	if ss == nil {
		return []string{} // an empty array, not NULL
	}
	if !slices.ContainsFunc(ss, func(s string) bool { return !storable(s) }) {
		return ss // the common case, without a copy
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return out
}

// recordResult writes a scan result on the manifest and copies it onto
// every row describing it, inside tx (sqlq.SetScanResult's statements).
func recordResult(ctx context.Context, tx pgx.Tx, digest string, r inventory.ScanResult) error {
	r.FailedDesc = clean(r.FailedDesc)
	for _, st := range sqlq.SetScanResult(sqlq.Postgres, digest, r) {
		if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("postgres: record scan of %s: %w", digest, err)
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
	return s.execScan(ctx, digest, sqlq.ProjectScanStatus(sqlq.Postgres, projectID, digest, status, ""))
}

// MarkScanWaiting sets waiting_for_scan on the project's rows, unless they
// are being scanned right now: a request that joins a running scan must
// not make it look queued again.
func (s *Store) MarkScanWaiting(ctx context.Context, projectID, digest string) error {
	return s.execScan(ctx, digest, sqlq.ProjectScanStatus(sqlq.Postgres, projectID, digest, inventory.WaitingForScan, inventory.Scanning))
}

// SetScannable records whether the project's rows of a manifest can be
// scanned (false once it proved oversized for that project's scan).
func (s *Store) SetScannable(ctx context.Context, projectID, digest string, scannable bool) error {
	return s.execScan(ctx, digest, sqlq.ProjectScannable(sqlq.Postgres, projectID, digest, scannable))
}

// execScan runs st under the digest's scan lock, so that it is ordered
// with a save or clear of the same digest.
func (s *Store) execScan(ctx context.Context, digest string, st sqlq.Stmt) error {
	if !storable(digest) {
		return nil // no row can describe it
	}
	return s.scanTx(ctx, func(tx pgx.Tx) error {
		if err := lockDigest(ctx, tx, digest); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("postgres: scan state of %s: %w", digest, err)
		}
		return nil
	})
}

// AdoptSharedResult copies the shared result of digest onto the rows of
// projectID when it is a success recorded at or after since (ms), and
// reports whether it did: a request made before another project's scan of
// the same bytes finished needs no pull of its own.
func (s *Store) AdoptSharedResult(ctx context.Context, projectID, digest string, since int64) (bool, error) {
	if !storable(digest) || !storable(projectID) {
		return false, nil
	}
	adopted := false
	err := s.scanTx(ctx, func(tx pgx.Tx) error {
		adopted = false
		if err := lockDigest(ctx, tx, digest); err != nil {
			return err
		}
		q := sqlq.FreshSharedResult(sqlq.Postgres, digest, since)
		var r inventory.ScanResult
		err := sqlq.ScanResultCols(tx.QueryRow(ctx, q.SQL, q.Args...), &r)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("postgres: shared result of %s: %w", digest, err)
		}
		st := sqlq.ProjectScanResult(sqlq.Postgres, projectID, digest, r)
		if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("postgres: shared result of %s: %w", digest, err)
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
	d := sbom.Digest
	return s.scanTx(ctx, func(tx pgx.Tx) error {
		if err := lockDigest(ctx, tx, d); err != nil {
			return err
		}
		if err := deleteScan(ctx, tx, d); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sboms (digest, layers, os_id, os_version, os_name, scanned_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			d, cleanAll(sbom.Layers), clean(sbom.OSID), clean(sbom.OSVersion), clean(sbom.OSName), sbom.ScannedAt)
		if err != nil {
			return fmt.Errorf("postgres: save sbom of %s: %w", d, err)
		}
		if err := insertPackages(ctx, tx, d, sbom.Packages); err != nil {
			return err
		}
		if err := insertFindings(ctx, tx, d, sbom.Packages, findings); err != nil {
			return err
		}
		if err := insertAnalysis(ctx, tx, d, a); err != nil {
			return err
		}
		return recordResult(ctx, tx, d, r)
	})
}

// insertPackages writes the packages of digest, a chunk of rows per
// statement.
func insertPackages(ctx context.Context, tx pgx.Tx, digest string, pkgs []scanresult.Package) error {
	for start := 0; start < len(pkgs); start += chunkRows {
		chunk := pkgs[start:min(start+chunkRows, len(pkgs))]
		var (
			idx                                          []int32
			name, version, eco, srcName, srcVersion, typ []string
			path, layer, purl, platform                  []string
		)
		for i, p := range chunk {
			idx = append(idx, int32(start+i))
			name = append(name, clean(p.Name))
			version = append(version, clean(p.Version))
			eco = append(eco, clean(p.Ecosystem))
			srcName = append(srcName, clean(p.SourceName))
			srcVersion = append(srcVersion, clean(p.SourceVersion))
			typ = append(typ, clean(p.Type))
			path = append(path, clean(p.Path))
			layer = append(layer, clean(p.LayerDigest))
			purl = append(purl, clean(p.PURL))
			platform = append(platform, clean(p.Platform))
		}
		_, err := tx.Exec(ctx, `INSERT INTO sbom_packages (digest, idx, name, version, ecosystem, source_name, source_version,
				type, path, layer_digest, purl, platform)
			SELECT $1, * FROM unnest($2::int4[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::text[], $12::text[])`,
			digest, idx, name, version, eco, srcName, srcVersion, typ, path, layer, purl, platform)
		if err != nil {
			return fmt.Errorf("postgres: save packages of %s: %w", digest, err)
		}
	}
	return nil
}

// ClearScan removes the SBOM and findings of digest and records r.
func (s *Store) ClearScan(ctx context.Context, projectID, digest string, r inventory.ScanResult) error {
	if !storable(digest) || !storable(projectID) {
		return nil // no row can describe it
	}
	r.FailedDesc = clean(r.FailedDesc)
	return s.scanTx(ctx, func(tx pgx.Tx) error {
		if err := lockDigest(ctx, tx, digest); err != nil {
			return err
		}
		st := sqlq.ProjectScanResult(sqlq.Postgres, projectID, digest, r)
		if _, err := tx.Exec(ctx, st.SQL, st.Args...); err != nil {
			return fmt.Errorf("postgres: record scan of %s: %w", digest, err)
		}
		q := sqlq.SharedResultInUse(sqlq.Postgres, digest)
		var inUse bool
		if err := tx.QueryRow(ctx, q.SQL, q.Args...).Scan(&inUse); err != nil {
			return fmt.Errorf("postgres: rows of %s: %w", digest, err)
		}
		if inUse {
			return nil
		}
		if err := deleteScan(ctx, tx, digest); err != nil {
			return err
		}
		reset := sqlq.ResetSharedResult(sqlq.Postgres, digest)
		if _, err := tx.Exec(ctx, reset.SQL, reset.Args...); err != nil {
			return fmt.Errorf("postgres: reset scan of %s: %w", digest, err)
		}
		return nil
	})
}

func deleteScan(ctx context.Context, tx pgx.Tx, digest string) error {
	for _, table := range []string{"scan_findings", "sbom_packages", "sboms",
		"baseline_results", "weak_passwords", "malware_findings", "secret_findings", "file_hashes"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE digest = $1`, digest); err != nil {
			return fmt.Errorf("postgres: clear %s of %s: %w", table, digest, err)
		}
	}
	return nil
}

// insertFindings writes findings of digest; pkgs gives each finding's
// package type (linux_vul or app_vul). The caller holds digest's lock and
// removed its old findings.
func insertFindings(ctx context.Context, tx pgx.Tx, digest string, pkgs []scanresult.Package, findings []scanresult.Finding) error {
	types := make(map[int]string, len(pkgs))
	for i, p := range pkgs {
		types[i] = p.Type
	}
	var fr findingRows
	if err := fr.add(digest, types, findings); err != nil {
		return err
	}
	return fr.copy(ctx, tx)
}

// findingRows collects scan_findings rows of any digests for one COPY.
// COPY cannot skip conflicting rows, so the writers clear a digest's
// findings first (under its lock) and add drops a finding repeating an
// earlier one's (package, vulnerability), as the SQLite store's ON
// CONFLICT DO NOTHING drops it.
type findingRows struct {
	rows []findingRow
	next int     // CopyFromSource's cursor
	vals [11]any // the current row's values, reused
}

type findingRow struct {
	digest, vulnID, vulType string
	pkg                     int32
	f                       *scanresult.Finding
}

// add queues findings of digest (once per digest and COPY); types gives
// the type of each package of its SBOM. A finding naming a package the
// SBOM lacks is an error.
func (r *findingRows) add(digest string, types map[int]string, findings []scanresult.Finding) error {
	type key struct {
		pkg  int
		vuln string
	}
	seen := make(map[key]bool, len(findings))
	for i := range findings {
		f := &findings[i]
		typ, ok := types[f.Package]
		if !ok {
			return fmt.Errorf("postgres: finding %s of %s names package %d, which the SBOM does not have", f.VulnID, digest, f.Package)
		}
		k := key{f.Package, clean(f.VulnID)}
		if seen[k] {
			continue
		}
		seen[k] = true
		r.rows = append(r.rows, findingRow{digest: digest, vulnID: k.vuln, vulType: string(scanresult.TypeOf(typ)), pkg: int32(f.Package), f: f})
	}
	return nil
}

// findingColumns are the columns of a findingRows row.
var findingColumns = []string{"digest", "pkg", "vuln_id", "vul_type", "repair_necessity", "severity", "score",
	"fixed_version", "description", "url", "aliases"}

// Next, Values and Err make findingRows a pgx.CopyFromSource: the rows
// are turned into values one at a time instead of all held as []any.
func (r *findingRows) Next() bool { r.next++; return r.next <= len(r.rows) }
func (r *findingRows) Err() error { return nil } // add checked every row
func (r *findingRows) Values() ([]any, error) {
	row := r.rows[r.next-1]
	f := row.f
	r.vals = [11]any{row.digest, row.pkg, row.vulnID, row.vulType, clean(f.RepairNecessity), clean(f.Severity), f.Score,
		clean(f.FixedVersion), clean(f.Description), clean(f.URL), cleanAll(f.Aliases)}
	return r.vals[:], nil
}

// copy writes the queued rows with COPY: a re-match writes hundreds of
// thousands of them, and COPY streams them without a statement per chunk.
func (r *findingRows) copy(ctx context.Context, tx pgx.Tx) error {
	if len(r.rows) == 0 {
		return nil
	}
	r.next = 0
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"scan_findings"}, findingColumns, r); err != nil {
		return fmt.Errorf("postgres: save findings: %w", err)
	}
	r.rows = r.rows[:0]
	return nil
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
			return fmt.Errorf("postgres: replace findings: digest %s given twice", u.Digest)
		}
		byDigest[u.Digest] = u
		if storable(u.Digest) { // no SBOM is stored under any other
			digests = append(digests, u.Digest)
		}
	}
	if len(digests) == 0 {
		return nil
	}
	return s.scanTx(ctx, func(tx pgx.Tx) error {
		if err := lockDigests(ctx, tx, digests); err != nil {
			return err
		}
		// Digests without an SBOM were re-scanned and failed since the
		// caller read it: nothing to match any more.
		rows, err := tx.Query(ctx, `SELECT digest FROM sboms WHERE digest = ANY($1) ORDER BY digest`, digests)
		if err != nil {
			return fmt.Errorf("postgres: sboms: %w", err)
		}
		present, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("postgres: sboms: %w", err)
		}
		if len(present) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM scan_findings WHERE digest = ANY($1)`, present); err != nil {
			return fmt.Errorf("postgres: clear findings: %w", err)
		}
		types, err := packageTypes(ctx, tx, present)
		if err != nil {
			return err
		}
		var (
			fr     findingRows
			vulNum = make([]int32, len(present))
		)
		for i, d := range present {
			u := byDigest[d]
			vulNum[i] = u.VulNum
			if err := fr.add(d, types[d], u.Findings); err != nil {
				return err
			}
		}
		if err := fr.copy(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE manifests m SET vul_num = u.n FROM unnest($1::text[], $2::int4[]) AS u(d, n)
			WHERE m.digest = u.d AND m.scan_status = 'success' AND m.vul_num <> u.n`, present, vulNum); err != nil {
			return fmt.Errorf("postgres: vul_num: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE images i SET vul_num = u.n FROM unnest($1::text[], $2::int4[]) AS u(d, n)
			WHERE i.manifest_digest = u.d AND i.scan_status = 'success' AND i.vul_num <> u.n`, present, vulNum); err != nil {
			return fmt.Errorf("postgres: vul_num: %w", err)
		}
		return nil
	})
}

// lockDigests takes the scan locks of digests, in sorted order (unnest
// keeps the array's) so that two writers of overlapping sets do not wait
// on each other in a cycle; were they to, scanTx runs the loser again.
func lockDigests(ctx context.Context, tx pgx.Tx, digests []string) error {
	sorted := slices.Sorted(slices.Values(digests))
	keys := make([]int64, len(sorted))
	for i, d := range sorted {
		keys[i] = lockKey("openhss-scan:" + d)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(k) FROM unnest($1::int8[]) AS k`, keys); err != nil {
		return fmt.Errorf("postgres: lock scans: %w", err)
	}
	return nil
}

// packageTypes reads the type of each stored package of digests.
func packageTypes(ctx context.Context, tx pgx.Tx, digests []string) (map[string]map[int]string, error) {
	rows, err := tx.Query(ctx, `SELECT digest, idx, type FROM sbom_packages WHERE digest = ANY($1)`, digests)
	if err != nil {
		return nil, fmt.Errorf("postgres: packages: %w", err)
	}
	out := make(map[string]map[int]string, len(digests))
	var (
		d, t string
		i    int32
	)
	_, err = pgx.ForEachRow(rows, []any{&d, &i, &t}, func() error {
		m := out[d]
		if m == nil {
			m = map[int]string{}
			out[d] = m
		}
		m[int(i)] = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: packages: %w", err)
	}
	return out, nil
}

// GetSBOM returns the stored SBOM of digest.
func (s *Store) GetSBOM(ctx context.Context, digest string) (scanresult.SBOM, error) {
	sb := scanresult.SBOM{Digest: digest}
	if !storable(digest) {
		return sb, fmt.Errorf("postgres: sbom of %q: %w", digest, inventory.ErrNotFound)
	}
	// One snapshot for the SBOM and its packages: a scan saved in between
	// must not mix two inventories.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return sb, fmt.Errorf("postgres: sbom of %s: %w", digest, err)
	}
	defer tx.Rollback(ctx)
	err = tx.QueryRow(ctx, `SELECT layers, os_id, os_version, os_name, scanned_at FROM sboms WHERE digest = $1`, digest).
		Scan(&sb.Layers, &sb.OSID, &sb.OSVersion, &sb.OSName, &sb.ScannedAt)
	if err != nil {
		return sb, notFound(err, "sbom of "+digest)
	}
	if sb.Layers == nil {
		sb.Layers = []string{}
	}
	rows, err := tx.Query(ctx, `SELECT name, version, ecosystem, source_name, source_version, type, path, layer_digest, purl,
		platform FROM sbom_packages WHERE digest = $1 ORDER BY idx`, digest)
	if err != nil {
		return sb, fmt.Errorf("postgres: packages of %s: %w", digest, err)
	}
	var p scanresult.Package
	_, err = pgx.ForEachRow(rows, []any{&p.Name, &p.Version, &p.Ecosystem, &p.SourceName, &p.SourceVersion, &p.Type, &p.Path,
		&p.LayerDigest, &p.PURL, &p.Platform}, func() error {
		sb.Packages = append(sb.Packages, p)
		return nil
	})
	if err != nil {
		return sb, fmt.Errorf("postgres: packages of %s: %w", digest, err)
	}
	return sb, nil
}

// SBOMDigests lists every digest with a stored SBOM.
func (s *Store) SBOMDigests(ctx context.Context) ([]string, error) {
	return s.strings(ctx, `SELECT digest FROM sboms ORDER BY digest`)
}

func (s *Store) strings(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if len(out) == 0 {
		return nil, nil // as the SQLite store: no rows, nil slice
	}
	return out, nil
}

// necessityRank orders findings most urgent first.
const necessityRank = `CASE f.repair_necessity WHEN 'immediate_repair' THEN 0 WHEN 'delay_repair' THEN 1 ELSE 2 END`

// ListVulns returns one page of the findings of a manifest, most urgent
// first, then by vulnerability id, package name and path.
func (s *Store) ListVulns(ctx context.Context, f scanresult.VulnFilter) (int64, []scanresult.VulnRow, error) {
	out := []scanresult.VulnRow{}
	if !storable(f.Digest) || !storable(f.RepairNecessity) || !storable(f.VulnID) || !storable(f.AppName) || !storable(string(f.Type)) {
		return 0, out, nil // no stored string contains one PostgreSQL cannot hold
	}
	var q query
	where := `f.digest = ` + q.arg(f.Digest)
	if f.RepairNecessity != "" {
		where += ` AND f.repair_necessity = ` + q.arg(f.RepairNecessity)
	}
	if f.VulnID != "" {
		where += ` AND strpos(f.vuln_id, ` + q.arg(f.VulnID) + `) > 0`
	}
	if f.AppName != "" {
		where += ` AND strpos(p.name, ` + q.arg(f.AppName) + `) > 0`
	}
	if f.Type != "" {
		where += ` AND f.vul_type = ` + q.arg(string(f.Type))
	}
	from := ` FROM scan_findings f JOIN sbom_packages p ON p.digest = f.digest AND p.idx = f.pkg WHERE ` + where
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: findings of %s: %w", f.Digest, err)
	}
	defer tx.Rollback(ctx)
	var total int64
	if err := tx.QueryRow(ctx, `SELECT count(*)`+from, q.args...).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("postgres: count findings of %s: %w", f.Digest, err)
	}
	limit, offset := q.arg(limitOf(f.Limit)), q.arg(max(f.Offset, 0))
	rows, err := tx.Query(ctx, `SELECT f.vuln_id, f.repair_necessity, f.description, p.layer_digest, p.name, p.path, p.version,
		f.fixed_version, f.url, f.vul_type, f.severity`+from+` ORDER BY `+necessityRank+`, f.vuln_id, p.name, p.path, f.pkg
		LIMIT `+limit+` OFFSET `+offset, q.args...)
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: findings of %s: %w", f.Digest, err)
	}
	var (
		r   scanresult.VulnRow
		typ string
	)
	_, err = pgx.ForEachRow(rows, []any{&r.VulnID, &r.RepairNecessity, &r.Description, &r.LayerDigest, &r.AppName, &r.AppPath,
		&r.Version, &r.FixedVersion, &r.URL, &typ, &r.Severity}, func() error {
		r.Type = scanresult.VulType(typ)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: findings of %s: %w", f.Digest, err)
	}
	return total, out, nil
}

// ListApps returns one page of the packages of a manifest by name, version
// and path, each with its number of distinct vulnerabilities.
func (s *Store) ListApps(ctx context.Context, f scanresult.AppFilter) (int64, []scanresult.AppRow, error) {
	out := []scanresult.AppRow{}
	if !storable(f.Digest) || !storable(f.AppName) {
		return 0, out, nil
	}
	var q query
	where := `p.digest = ` + q.arg(f.Digest)
	if f.AppName != "" {
		where += ` AND strpos(p.name, ` + q.arg(f.AppName) + `) > 0`
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: packages of %s: %w", f.Digest, err)
	}
	defer tx.Rollback(ctx)
	var total int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM sbom_packages p WHERE `+where, q.args...).Scan(&total); err != nil {
		return 0, nil, fmt.Errorf("postgres: count packages of %s: %w", f.Digest, err)
	}
	// (digest, pkg, vuln_id) is the findings' key: count(*) per package is
	// its number of distinct vulnerabilities.
	limit, offset := q.arg(limitOf(f.Limit)), q.arg(max(f.Offset, 0))
	rows, err := tx.Query(ctx, `SELECT p.name, p.type, p.version, p.path, p.layer_digest,
		(SELECT count(*) FROM scan_findings f WHERE f.digest = p.digest AND f.pkg = p.idx)::int4
		FROM sbom_packages p WHERE `+where+` ORDER BY p.name, p.version, p.path, p.idx LIMIT `+limit+` OFFSET `+offset, q.args...)
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: packages of %s: %w", f.Digest, err)
	}
	var r scanresult.AppRow
	_, err = pgx.ForEachRow(rows, []any{&r.Name, &r.Type, &r.Version, &r.Path, &r.LayerDigest, &r.VulNum}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("postgres: packages of %s: %w", f.Digest, err)
	}
	return total, out, nil
}

// limitOf turns "no limit" (0) into NULL, PostgreSQL's LIMIT ALL.
func limitOf(n int) *int {
	if n <= 0 {
		return nil
	}
	return &n
}

// ImagesByDigest returns the rows of a project whose tag digest or
// described manifest is digest: what HSS's image_id names.
func (s *Store) ImagesByDigest(ctx context.Context, projectID, digest string) ([]inventory.Image, error) {
	if !storable(projectID) || !storable(digest) {
		return nil, nil
	}
	// Through images_manifest only: a row whose tag digest is an index
	// describes one of the index's members.
	return s.images(ctx, `SELECT `+imageCols+` FROM images i
		WHERE i.project_id = $1 AND (i.manifest_digest = $2
			OR i.manifest_digest IN (SELECT member_digest FROM index_members WHERE index_digest = $2))
		AND (i.digest = $2 OR i.manifest_digest = $2)
		ORDER BY i.id`, projectID, digest)
}

// ImagesByRef returns the rows of a project with exactly this type,
// namespace, name and tag (one per registry connection that has it).
func (s *Store) ImagesByRef(ctx context.Context, projectID string, t inventory.ImageType, namespace, name, tag string) ([]inventory.Image, error) {
	if !storable(projectID) || !storable(string(t)) || !storable(namespace) || !storable(name) || !storable(tag) {
		return nil, nil
	}
	return s.images(ctx, `SELECT `+imageCols+` FROM images i WHERE i.project_id = $1 AND i.image_type = $2 AND i.namespace = $3
		AND i.name = $4 AND i.tag = $5 ORDER BY i.id`, projectID, string(t), namespace, name, tag)
}

func (s *Store) images(ctx context.Context, query string, args ...any) ([]inventory.Image, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: images: %w", err)
	}
	defer rows.Close()
	now := time.Now().UnixMilli()
	out, err := sqlq.Collect(rows, func(r sqlq.Scanner) (inventory.Image, error) { return sqlq.ScanImage(sqlq.Postgres, r, now) })
	if err != nil {
		return nil, fmt.Errorf("postgres: images: %w", err)
	}
	return out, nil
}

// SetLocalSource records the file or directory a local_image row was
// imported from.
func (s *Store) SetLocalSource(ctx context.Context, imageID int64, path, ref string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO local_sources (image_id, path, ref) VALUES ($1, $2, $3)
		ON CONFLICT (image_id) DO UPDATE SET path = excluded.path, ref = excluded.ref`, imageID, []byte(path), clean(ref))
	if err != nil {
		return fmt.Errorf("postgres: local source of image %d: %w", imageID, err)
	}
	return nil
}

// LocalSource returns where a local_image row was imported from.
func (s *Store) LocalSource(ctx context.Context, imageID int64) (path, ref string, err error) {
	var p []byte
	err = s.pool.QueryRow(ctx, `SELECT path, ref FROM local_sources WHERE image_id = $1`, imageID).Scan(&p, &ref)
	if err != nil {
		return "", "", notFound(err, fmt.Sprintf("local source of image %d", imageID))
	}
	return string(p), ref, nil
}

// OrphanedScans lists the (project, digest) requests whose rows show
// waiting_for_scan or scanning that no queued or running job of kind will
// ever finish (the job was given up, or the database was restored without
// it).
func (s *Store) OrphanedScans(ctx context.Context, kind string) ([]inventory.ScanRequest, error) {
	q := sqlq.OrphanedScans(sqlq.Postgres, clean(kind))
	rows, err := s.pool.Query(ctx, q.SQL, q.Args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: orphaned scans: %w", err)
	}
	defer rows.Close()
	out, err := sqlq.Collect(rows, func(r sqlq.Scanner) (inventory.ScanRequest, error) {
		var o inventory.ScanRequest
		return o, r.Scan(&o.ProjectID, &o.Digest)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: orphaned scans: %w", err)
	}
	return out, nil
}

// ScanMeta reads a number the scan service keeps (0 when never set).
func (s *Store) ScanMeta(ctx context.Context, key string) (int64, error) {
	if !storable(key) {
		return 0, nil
	}
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT value FROM scan_meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: scan meta %s: %w", key, err)
	}
	return v, nil
}

// SetScanMeta writes a number the scan service keeps.
func (s *Store) SetScanMeta(ctx context.Context, key string, value int64) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO scan_meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("postgres: scan meta %s: %w", key, err)
	}
	return nil
}
