package scanresult

import (
	"context"

	"github.com/openhss/openhss/internal/inventory"
)

// Analysis is what the analyzers beyond the software inventory found in
// one manifest: baseline results, weak-password accounts, malicious files,
// sensitive information, and the file hashes kept for later signature
// checks. The analyzers append to it directly (scanner.Report embeds it);
// it is stored and replaced with the SBOM, in one transaction.
type Analysis struct {
	Baseline      []BaselineResult // every rule evaluated, passed or not
	WeakPasswords []WeakPassword
	Malware       []Malware
	Secrets       []Secret
	// FileHashes keeps the hashes of executables and scripts, so a new
	// malware signature can be checked against scanned images without
	// pulling them again.
	FileHashes []FileHash
}

// FailedRules counts the failed baseline rules: unsafe_setting_num.
func (a Analysis) FailedRules() int32 {
	var n int32
	for _, b := range a.Baseline {
		if !b.Passed {
			n++
		}
	}
	return n
}

// BaselineResult is one baseline (unsafe setting) rule evaluated on a
// manifest.
type BaselineResult struct {
	RuleID      string // stable: "config.runs-as-root"
	Name        string // the rule's short name: HSS's check_rule_name
	CheckName   string // the baseline it belongs to
	CheckType   string
	Severity    string // "Security", "Low", "Medium", "High"
	Standard    string // "hw_standard" or "cn_standard"
	Description string
	Remediation string
	Passed      bool
	Evidence    string // what failed it: a path, a variable name; never a secret value
}

// WeakPassword is an account whose password is empty or in the weak list.
// The password itself is never kept.
type WeakPassword struct {
	User        string
	Type        string // "empty_password" or "weak_password"
	Path        string // "/etc/shadow"
	LayerDigest string
	UserType    string // "root", "system", "user"
}

// Malware is a file matching a malware signature or content rule.
type Malware struct {
	FileName    string
	FilePath    string
	Size        int64
	SHA256      string
	Rule        string // signature name or content rule id
	Description string
	LayerDigest string
}

// Secret is sensitive information found in a file. Content is masked: at
// most a short prefix and the length, never the secret.
type Secret struct {
	ID          string // stable per (rule, path, line)
	RuleID      string
	Severity    string
	Name        string
	Description string
	FilePath    string
	Line        int
	LayerDigest string
	Content     string
}

// FileHash is the SHA-256 (lowercase hex) of one file of the final
// filesystem.
type FileHash struct {
	Path        string
	SHA256      string
	Size        int64
	LayerDigest string
}

// Signature is a stored malware hash.
type Signature struct {
	SHA256     string // lowercase hex
	Name       string
	Source     string // where it was imported from
	ImportedAt int64  // ms
}

// HashMatch is a stored file hash that a stored signature names.
type HashMatch struct {
	Digest    string
	File      FileHash
	Signature Signature
}

// AnalysisStore persists analyses and the malware signature database.
type AnalysisStore interface {
	// SaveScopedScan is SaveScan of a scan of the parts scope selects
	// (ScopeAll: every part), with their analysis, in one transaction: the
	// other parts' stored results and counts stay as the last successful
	// scan left them (docs/scanner.md, Scan scope). The scan history of
	// projectID, whose scan it was, gets r (none when projectID is empty).
	SaveScopedScan(ctx context.Context, projectID string, scope Scope, sbom SBOM, findings []Finding, a Analysis, r inventory.ScanResult) error
	// GetAnalysis returns the stored analysis of digest; a digest never
	// scanned (or whose last scan failed) has an empty one.
	GetAnalysis(ctx context.Context, digest string) (Analysis, error)
	// ReplaceMalware swaps the malware findings of digest and sets
	// malicious_file_num on the manifest and its rows where the last scan
	// succeeded.
	ReplaceMalware(ctx context.Context, digest string, malware []Malware, num int32) error

	// ImportSignatures adds signatures not yet stored (by hash) and returns
	// how many were new.
	ImportSignatures(ctx context.Context, sigs []Signature) (added int, err error)
	// LookupSignatures returns the stored signatures of hashes, by hash.
	LookupSignatures(ctx context.Context, sha256 []string) (map[string]Signature, error)
	// HashMatches lists every stored file hash that a stored signature
	// names, in (digest, path) order.
	HashMatches(ctx context.Context) ([]HashMatch, error)
}

// RowSelection selects the image rows a findings list aggregates over:
// the analyses of their distinct manifests (a row shows its described
// manifest's, else its tag's).
type RowSelection struct {
	// Filter selects rows as inventory.Store.ListImages does, its paging
	// aside.
	Filter inventory.Filter
	// IDs, when not nil, selects exactly these rows of Filter.ProjectID
	// instead (rows the caller chose, such as those of one image_id).
	IDs []int64
}

// RiskConfigFilter narrows and pages RiskConfigs.
type RiskConfigFilter struct {
	CheckName string // substring of the baseline's name
	Severity  string // the baseline's severity (see RiskConfig), exact
	Standard  string // exact
	Offset    int
	Limit     int // 0: all
}

// BaselineSeverities are the severities of baselines and their rules, as
// HSS names them, least severe first: "Security" is no risk. Stores rank
// a baseline's severity by its index here (see RiskConfig).
var BaselineSeverities = []string{"Security", "Low", "Medium", "High", "Critical"}

// RiskConfig is one baseline (check_name) over the selected manifests:
// its rules evaluated and failed, counted once per manifest, and its
// severity, that of its most severe failed rule ("Security" when none
// failed; severities rank Security < Low < Medium < High < Critical, any
// other counts as Security). A baseline's type and standard are its
// rules' (the least, should they differ).
type RiskConfig struct {
	CheckName, CheckType, Standard, Severity string
	Rules, Failed                            int32
}

// RiskRuleFilter selects and pages RiskConfigRules.
type RiskRuleFilter struct {
	CheckName, Standard string // the baseline, exact
	// Baselines, when not empty, stands for CheckName and Standard: the
	// rules of each baseline it names, in one read (the web console's
	// Unsafe settings tab lists a page of baselines with their rules),
	// ordered by check name, standard, then rule id; Offset and Limit
	// page that whole list and the total counts it.
	Baselines []BaselineKey
	Result    string // "pass" or "failed"; "" for both
	Severity  string // exact
	RuleName  string // substring
	Offset    int
	Limit     int // 0: all
}

// BaselineKey names one baseline as RiskConfigRules selects it: its check
// name and standard, exact.
type BaselineKey struct{ CheckName, Standard string }

// RiskRule is one rule of a baseline over the selected manifests: failed
// when any of them failed it. Its name, type and severity are the least
// over the manifests, should they differ.
type RiskRule struct {
	RuleID, Name, CheckName, CheckType, Standard, Severity string
	Failed                                                 bool
}

// WeakPasswordFilter narrows and pages WeakPasswordUsers.
type WeakPasswordFilter struct {
	User   string // substring of the account name
	Offset int
	Limit  int // 0: all
}

// WeakPasswordRow is a weak-password account of a selected row's
// manifest, with the row it was found through.
type WeakPasswordRow struct {
	Namespace, Name, Tag, Digest string
	Type                         inventory.ImageType
	LatestScanTime               int64
	WeakPassword
}

// FindingsAggregator answers the baseline lists over many images in the
// store, one query each over the selected rows' distinct manifests, paged
// in the query: reading every analysis to sum it in the caller costs a
// read per manifest of everything stored for it. Each returns the total
// of the unpaged list and one page, ordered by check name, by rule id,
// and by row (list order; id order for RowSelection.IDs) then account
// and path, respectively.
type FindingsAggregator interface {
	RiskConfigs(ctx context.Context, sel RowSelection, f RiskConfigFilter) (int64, []RiskConfig, error)
	RiskConfigRules(ctx context.Context, sel RowSelection, f RiskRuleFilter) (int64, []RiskRule, error)
	WeakPasswordUsers(ctx context.Context, sel RowSelection, f WeakPasswordFilter) (int64, []WeakPasswordRow, error)
}

// WeakPasswordMask stands for any weak password wherever one is shown
// (the API's desensitized_weak_passwords, the web console): the length is
// not known (the store keeps no password) and a fixed mask reveals
// nothing.
const WeakPasswordMask = "******"
