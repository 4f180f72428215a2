// Package findingquery reads the filters of the image findings routes —
// the baseline risk configs and their rules, weak-password users, an
// image's packages, malicious files and sensitive information — and
// selects the findings the in-memory ones name. It is outside the HTTP
// layer so that the API and the web console parse the same parameters
// with the same bounds and messages, and so ask the store (or filter the
// stored analysis) the same way (docs/api.md; docs/console.md).
package findingquery

import (
	"slices"
	"strings"

	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/vulndb"
)

// Standards are the baseline standards.
var Standards = []string{"cn_standard", "hw_standard"}

// ResultTypes are the values of a rule's result_type.
var ResultTypes = []string{"pass", "failed"}

// SensitiveSeverities are the severities the sensitive-information
// filter accepts.
var SensitiveSeverities = []string{"critical", "high", "medium", "low"}

// BaselineSeverity reads a baseline severity parameter (exact).
func BaselineSeverity(q *imagequery.Reader, name string) string {
	v := q.Text(name, imagequery.MaxFilterLen)
	if v != "" && !slices.Contains(scanresult.BaselineSeverities, v) {
		q.Err = imagequery.Invalid(name, "must be Security, Low, Medium, High or Critical")
	}
	return v
}

// Standard reads standard; ListImageRiskConfigRules requires it.
func Standard(q *imagequery.Reader, required bool) string {
	v := q.Text("standard", imagequery.MaxFilterLen)
	switch {
	case q.Err != nil:
	case v == "" && required:
		q.Err = imagequery.Invalid("standard", "is required (cn_standard or hw_standard)")
	case v != "" && !slices.Contains(Standards, v):
		q.Err = imagequery.Invalid("standard", "must be cn_standard or hw_standard")
	}
	return v
}

// RiskConfigs reads the filters of ListImageRiskConfigs: check_name
// (substring), severity (the baseline's) and standard.
func RiskConfigs(q *imagequery.Reader) scanresult.RiskConfigFilter {
	return scanresult.RiskConfigFilter{
		CheckName: q.Text("check_name", imagequery.MaxFilterLen),
		Severity:  BaselineSeverity(q, "severity"),
		Standard:  Standard(q, false),
	}
}

// RiskRules reads the filters of ListImageRiskConfigRules: standard
// (required by the API, whose path names the baseline), result_type (pass
// or failed), check_rule_name (substring) and severity (the rule's).
func RiskRules(q *imagequery.Reader, standardRequired bool) scanresult.RiskRuleFilter {
	f := scanresult.RiskRuleFilter{Standard: Standard(q, standardRequired)}
	f.Result = q.Text("result_type", imagequery.MaxFilterLen)
	if f.Result != "" && !slices.Contains(ResultTypes, f.Result) {
		q.Err = imagequery.Invalid("result_type", "must be pass or failed")
	}
	f.RuleName = q.Text("check_rule_name", imagequery.MaxFilterLen)
	f.Severity = BaselineSeverity(q, "severity")
	return f
}

// WeakPasswords reads the filter of ListImageWeakPwdUsers: user_name
// (substring of the account name).
func WeakPasswords(q *imagequery.Reader) scanresult.WeakPasswordFilter {
	return scanresult.WeakPasswordFilter{User: q.Text("user_name", imagequery.MaxFilterLen)}
}

// Apps reads the filter of ListImageApps: app_name (substring).
func Apps(q *imagequery.Reader) scanresult.AppFilter {
	return scanresult.AppFilter{AppName: q.Text("app_name", imagequery.MaxFilterLen)}
}

// MalwareFilter is the filter of ListImageMalware.
type MalwareFilter struct {
	FileName string // substring
}

// Malware reads file_name.
func Malware(q *imagequery.Reader) MalwareFilter {
	return MalwareFilter{FileName: q.Text("file_name", imagequery.MaxFilterLen)}
}

// Match reports whether f selects m.
func (f MalwareFilter) Match(m scanresult.Malware) bool {
	return f.FileName == "" || strings.Contains(m.FileName, f.FileName)
}

// SensitiveFilter is the filter of ListImageSensitive.
type SensitiveFilter struct {
	FilePath string // substring
	Severity string // exact
	// Handled asks for the handled findings: openhss records no handling,
	// so every finding is unhandled and Handled selects none.
	Handled bool
}

// Sensitive reads file_path, severity and handle_status.
func Sensitive(q *imagequery.Reader) SensitiveFilter {
	f := SensitiveFilter{FilePath: q.Text("file_path", imagequery.MaxFilterLen)}
	f.Severity = q.Text("severity", imagequery.MaxFilterLen)
	if f.Severity != "" && !slices.Contains(SensitiveSeverities, f.Severity) {
		q.Err = imagequery.Invalid("severity", "must be critical, high, medium or low")
		return SensitiveFilter{}
	}
	f.Handled = handled(q)
	return f
}

// handled reads handle_status, which the findings routes take alike.
func handled(q *imagequery.Reader) bool {
	switch q.Text("handle_status", imagequery.MaxFilterLen) {
	case "", "unhandled":
	case "handled":
		return true
	default:
		q.Err = imagequery.Invalid("handle_status", "must be unhandled or handled")
	}
	return false
}

// Match reports whether f selects s (the whitelist aside).
func (f SensitiveFilter) Match(s scanresult.Secret) bool {
	return !f.Handled && (f.FilePath == "" || strings.Contains(s.FilePath, f.FilePath)) &&
		(f.Severity == "" || s.Severity == f.Severity)
}

// RepairNecessities are the values of the vulnerabilities route's
// repair_necessity.
var RepairNecessities = []string{string(vulndb.ImmediateRepair), string(vulndb.DelayRepair), string(vulndb.NotNeededRepair)}

// VulTypes are the values of the vulnerabilities route's type.
var VulTypes = []scanresult.VulType{scanresult.LinuxVul, scanresult.AppVul}

// VulnQuery is the filter of ListImageVulnerabilities.
type VulnQuery struct {
	Filter scanresult.VulnFilter // without the digest and the page
	// Handled asks for the handled findings: openhss records no handling,
	// so every finding is unhandled and Handled selects none.
	Handled bool
}

// Vulns reads repair_necessity, vul_id, app_name (substrings), type and
// handle_status.
func Vulns(q *imagequery.Reader) VulnQuery {
	var v VulnQuery
	f := &v.Filter
	f.RepairNecessity = q.Text("repair_necessity", imagequery.MaxFilterLen)
	if f.RepairNecessity != "" && !slices.Contains(RepairNecessities, f.RepairNecessity) {
		q.Err = imagequery.Invalid("repair_necessity", "must be immediate_repair, delay_repair or not_needed_repair")
		return VulnQuery{}
	}
	f.VulnID = q.Text("vul_id", imagequery.MaxFilterLen)
	f.AppName = q.Text("app_name", imagequery.MaxFilterLen)
	f.Type = scanresult.VulType(q.Text("type", imagequery.MaxFilterLen))
	if f.Type != "" && !slices.Contains(VulTypes, f.Type) {
		q.Err = imagequery.Invalid("type", "must be linux_vul or app_vul")
		return VulnQuery{}
	}
	v.Handled = handled(q)
	return v
}
