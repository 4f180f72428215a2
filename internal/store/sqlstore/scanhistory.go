package sqlstore

import (
	"context"
	"database/sql"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

var _ scanresult.ScanHistoryStore = (*Store)(nil)

// addHistory adds r, a finished scan projectID ran of digest, to the
// project's scan history inside tx, the transaction that records r: an
// entry is never lost to a crash between the two. A success's counts are
// read from the manifest's stored result (recorded earlier in tx), so the
// entry shows what the scan left (a partial scan keeps the other parts'
// counts) and never counts of its own making. No project (a result saved
// for no request), or one no row can name, has no history.
func (s *Store) addHistory(ctx context.Context, tx *sql.Tx, projectID, digest string, r inventory.ScanResult) error {
	if projectID == "" || !s.storable(projectID, digest) {
		return nil
	}
	var err error
	if r.Status == inventory.ScanSuccess {
		_, err = tx.ExecContext(ctx, `INSERT INTO scan_history (project_id, digest, scan_time, scan_status, failed_desc,
			vul_num, unsafe_setting_num, malicious_file_num, severity_level)
			SELECT $1, m.digest, $3, $4, '', m.vul_num, m.unsafe_setting_num, m.malicious_file_num, m.severity_level
			FROM manifests m WHERE m.digest = $2`, projectID, digest, r.ScanTime, string(r.Status))
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO scan_history (project_id, digest, scan_time, scan_status, failed_desc)
			VALUES ($1, $2, $3, $4, $5)`, projectID, digest, r.ScanTime, string(r.Status), s.text(r.FailedDesc))
	}
	if err != nil {
		return s.errf("add scan history of %s: %w", digest, err)
	}
	// Bounded per project and manifest: the oldest beyond the limit go.
	_, err = tx.ExecContext(ctx, `DELETE FROM scan_history WHERE project_id = $1 AND digest = $2 AND id NOT IN (
		SELECT id FROM scan_history WHERE project_id = $1 AND digest = $2 ORDER BY id DESC LIMIT $3)`,
		projectID, digest, scanresult.ScanHistoryLimit)
	return s.wrap(err, "prune scan history of "+digest)
}

// ScanHistory implements scanresult.ScanHistoryStore.
func (s *Store) ScanHistory(ctx context.Context, projectID, digest string) ([]inventory.ScanResult, error) {
	if !s.storable(projectID, digest) {
		return []inventory.ScanResult{}, nil
	}
	return readAll(ctx, s, s.read, "scan history of "+digest, func(r rowScanner) (h inventory.ScanResult, err error) {
		return h, r.Scan(&h.ScanTime, &h.Status, &h.FailedDesc, &h.VulNum, &h.UnsafeSettingNum, &h.MaliciousFileNum, &h.SeverityLevel)
	}, `SELECT scan_time, scan_status, failed_desc, vul_num, unsafe_setting_num, malicious_file_num, severity_level
		FROM scan_history WHERE project_id = $1 AND digest = $2 ORDER BY id DESC LIMIT $3`,
		projectID, digest, scanresult.ScanHistoryLimit)
}
