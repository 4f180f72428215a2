package sqlstore

import "github.com/openhss/openhss/internal/inventory"

// A scan's waiting, running and failed states are a project's own: they
// are written on the rows of the requesting project only, never on the
// manifest row (which new rows of any project copy) nor on another
// project's rows. Only a successful scan, whose findings follow from the
// image's bytes, is shared by digest (SetScanResult).

// ProjectScanStatus moves the rows of projectID describing digest to status
// (waiting_for_scan, scanning), leaving rows already in status or in unless
// alone and the previous scan's counts and time as they are.
func ProjectScanStatus(d Dialect, projectID, digest string, status, unless inventory.ScanStatus) Stmt {
	b := newBuilder(d)
	q := `UPDATE images SET scan_status = ` + b.Arg(string(status)) + `, scan_failed_desc = ''
		WHERE manifest_digest = ` + b.Arg(digest) + ` AND project_id = ` + b.Arg(projectID) + `
		AND scan_status <> ` + b.Arg(string(status)) + ` AND scan_status <> ` + b.Arg(string(unless))
	return Stmt{q, b.Args()}
}

// ProjectScanResult records r on the rows of projectID describing digest.
func ProjectScanResult(d Dialect, projectID, digest string, r inventory.ScanResult) Stmt {
	if r.Status == "" {
		r.Status = inventory.Unscan
	}
	b := newBuilder(d)
	q := `UPDATE images SET scan_status = ` + b.Arg(string(r.Status)) + `, scan_failed_desc = ` + b.Arg(r.FailedDesc) +
		`, latest_scan_time = ` + b.Arg(r.ScanTime) + `, vul_num = ` + b.Arg(r.VulNum) +
		`, unsafe_setting_num = ` + b.Arg(r.UnsafeSettingNum) + `, malicious_file_num = ` + b.Arg(r.MaliciousFileNum) +
		`, severity_level = ` + b.Arg(r.SeverityLevel) + `
		WHERE manifest_digest = ` + b.Arg(digest) + ` AND project_id = ` + b.Arg(projectID)
	return Stmt{q, b.Args()}
}

// ProjectScannable sets scannable (given as the dialect stores booleans) on
// the rows of projectID describing digest.
func ProjectScannable(d Dialect, projectID, digest string, scannable any) Stmt {
	b := newBuilder(d)
	v := b.Arg(scannable)
	q := `UPDATE images SET scannable = ` + v + ` WHERE manifest_digest = ` + b.Arg(digest) +
		` AND project_id = ` + b.Arg(projectID) + ` AND scannable <> ` + b.Arg(scannable)
	return Stmt{q, b.Args()}
}

// SharedResultInUse reads whether a row of any project still shows, or
// waits to replace, the shared result of digest: while one does, a failed
// scan of another project must not remove the stored inventory and
// findings it reads.
func SharedResultInUse(d Dialect, digest string) Stmt {
	b := newBuilder(d)
	return Stmt{`SELECT EXISTS (SELECT 1 FROM images WHERE manifest_digest = ` + b.Arg(digest) +
		` AND scan_status IN ('success', 'waiting_for_scan', 'scanning'))`, b.Args()}
}

// ResetSharedResult forgets the shared result of digest on its manifest
// row, once no row uses it and its inventory is removed: a row synced
// later starts unscanned.
func ResetSharedResult(d Dialect, digest string) Stmt {
	b := newBuilder(d)
	return Stmt{`UPDATE manifests SET scan_status = 'unscan', scan_failed_desc = '', latest_scan_time = 0, vul_num = 0,
		unsafe_setting_num = 0, malicious_file_num = 0, severity_level = '' WHERE digest = ` + b.Arg(digest), b.Args()}
}

// FreshSharedResult reads the shared result of digest when it is a success
// recorded at or after since (ms) by a scan of every part parts selects
// (scanresult.Scope.Parts), whose inventory is stored: columns
// scan_status, scan_failed_desc, latest_scan_time, vul_num,
// unsafe_setting_num, malicious_file_num, severity_level; no row otherwise.
func FreshSharedResult(d Dialect, digest string, since int64, parts int32) Stmt {
	b := newBuilder(d)
	return Stmt{`SELECT m.scan_status, m.scan_failed_desc, m.latest_scan_time, m.vul_num, m.unsafe_setting_num, m.malicious_file_num,
		m.severity_level FROM manifests m WHERE m.digest = ` + b.Arg(digest) + ` AND m.scan_status = 'success'
		AND m.latest_scan_time >= ` + b.Arg(since) + ` AND (m.scan_scope & ` + b.Arg(parts) + `) = ` + b.Arg(parts) + `
		AND EXISTS (SELECT 1 FROM sboms s WHERE s.digest = m.digest)`, b.Args()}
}

// OrphanedScans lists (project, digest) pairs whose rows show
// waiting_for_scan or scanning that no queued or running job of kind will
// finish. A job is the project's by its key (inventory.ScanJobKey); a job
// queued before scan jobs were per project is keyed by the digest alone
// and carries its project.
func OrphanedScans(d Dialect, kind string) Stmt {
	b := newBuilder(d)
	return Stmt{`SELECT DISTINCT i.project_id, i.manifest_digest FROM images i
		WHERE i.scan_status IN ('waiting_for_scan', 'scanning')
		AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = ` + b.Arg(kind) + ` AND j.state IN ('queued', 'running')
			AND (j.key = i.project_id || '/' || i.manifest_digest
				OR (j.key = i.manifest_digest AND j.project_id = i.project_id)))
		ORDER BY i.project_id, i.manifest_digest`, b.Args()}
}

// ScanResultCols scans FreshSharedResult's columns into r.
func ScanResultCols(row rowScanner, r *inventory.ScanResult) error {
	var status string
	if err := row.Scan(&status, &r.FailedDesc, &r.ScanTime, &r.VulNum, &r.UnsafeSettingNum, &r.MaliciousFileNum, &r.SeverityLevel); err != nil {
		return err
	}
	r.Status = inventory.ScanStatus(status)
	return nil
}
