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
}
