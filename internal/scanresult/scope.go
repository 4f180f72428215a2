package scanresult

// Scope is the scan_scope bitmask of a scan (CreateManualImageScanTask,
// the scan policies): which parts of a scan run. Each part is a group of
// four bits, selected when any of its bits is set; bits outside every
// group select nothing. docs/api.md (Tasks) and docs/scanner.md (Scan
// scope) say what a scan of some parts leaves behind.
type Scope int32

// The parts, as the SDK numbers them.
const (
	// ScopeVulnerabilities: the software inventory (SBOM) and the
	// vulnerabilities matched against it (vul_num).
	ScopeVulnerabilities Scope = 0x000f0000
	// ScopeBaseline: unsafe settings and weak passwords
	// (unsafe_setting_num).
	ScopeBaseline Scope = 0x0000f000
	// ScopeMalware: malicious files and the file hashes kept for later
	// signature checks (malicious_file_num).
	ScopeMalware Scope = 0x00000f00
	// ScopeSecrets: sensitive information.
	ScopeSecrets Scope = 0x000000f0
	// ScopeCompliance: software compliance, which openhss has no analyzer
	// for: accepted, and runs nothing.
	ScopeCompliance Scope = 0x0000000f
	// ScopeAll is every part (the SDK's 0x7fffffff).
	ScopeAll Scope = 0x7fffffff
)

// ScopeParts are the parts in the order they are named.
var ScopeParts = []Scope{ScopeVulnerabilities, ScopeBaseline, ScopeMalware, ScopeSecrets, ScopeCompliance}

// Has reports whether s selects part (any bit of its group).
func (s Scope) Has(part Scope) bool { return s&part != 0 }

// Parts is s with each selected group filled and every other bit
// cleared: 0x00010000 is 0x000f0000, ScopeAll is 0x000fffff. Two scopes
// select the same parts when their Parts are equal.
func (s Scope) Parts() Scope {
	var out Scope
	for _, p := range ScopeParts {
		if s.Has(p) {
			out |= p
		}
	}
	return out
}

// Complete reports whether s selects every part.
func (s Scope) Complete() bool { return s.Parts() == ScopeAll.Parts() }

// Keep returns a with what s does not select emptied: a scan of some
// parts stores only their findings.
func (s Scope) Keep(a Analysis) Analysis {
	if !s.Has(ScopeBaseline) {
		a.Baseline, a.WeakPasswords = nil, nil
	}
	if !s.Has(ScopeMalware) {
		a.Malware, a.FileHashes = nil, nil
	}
	if !s.Has(ScopeSecrets) {
		a.Secrets = nil
	}
	return a
}
