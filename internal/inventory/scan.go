package inventory

// ScanResult is the outcome of the newest finished scan of one manifest. The
// store keeps it on the manifest and copies it onto every row describing that
// manifest.
type ScanResult struct {
	Status           ScanStatus
	FailedDesc       string // empty unless Status is a failure
	ScanTime         int64  // ms
	VulNum           int32
	UnsafeSettingNum int32
	MaliciousFileNum int32
	// SeverityLevel is Security, Low, Medium or High once a scan has
	// succeeded (scanresult.SeverityLevel), "" otherwise.
	SeverityLevel string
}

// ScanRequest names one project's request to scan a manifest: a scan's
// waiting, running and failed states belong to the requesting project's
// rows only, while a successful scan's findings are shared by digest.
type ScanRequest struct {
	ProjectID string
	Digest    string
}

// ScanJobKey is the dedupe key of the scan job of a project's request: one
// live job per project and digest. The stores' OrphanedScans build the
// same key in SQL (project_id || '/' || manifest_digest).
func ScanJobKey(projectID, digest string) string { return projectID + "/" + digest }
