package scanstoretest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// analysis of sbom(d): two baseline rules (one failed), a weak-password
// account, a malware finding, a masked secret and two file hashes. Each
// list is in the order GetAnalysis returns it.
func analysis() scanresult.Analysis {
	return scanresult.Analysis{
		Baseline: []scanresult.BaselineResult{
			{RuleID: "account.weak-password", Name: "weak password", CheckName: "accounts", CheckType: "accounts", Severity: "High",
				Standard: "cn_standard", Description: "d1", Remediation: "r1", Passed: false, Evidence: "root"},
			{RuleID: "config.healthcheck", Name: "healthcheck", CheckName: "image_config", CheckType: "image_config", Severity: "Low",
				Standard: "hw_standard", Description: "d2", Remediation: "r2", Passed: true},
		},
		WeakPasswords: []scanresult.WeakPassword{{User: "root", Type: "weak_password", Path: "/etc/shadow", LayerDigest: digest("l1"), UserType: "root"}},
		Malware: []scanresult.Malware{{FileName: "eicar.com", FilePath: "/opt/a/b/eicar.com", Size: 68, SHA256: strings.Repeat("e", 64),
			Rule: "EICAR-Test-File", Description: "EICAR test file", LayerDigest: digest("l2")}},
		Secrets: []scanresult.Secret{{ID: "s1", RuleID: "aws-access-token", Severity: "High", Name: "AWS", Description: "AWS key",
			FilePath: "/app/.env", Line: 3, LayerDigest: digest("l2"), Content: "AKIA****(20)"}},
		FileHashes: []scanresult.FileHash{
			{Path: "/opt/a/b/eicar.com", SHA256: strings.Repeat("e", 64), Size: 68, LayerDigest: digest("l2")},
			{Path: "/usr/bin/tool", SHA256: strings.Repeat("f", 64), Size: 1000, LayerDigest: digest("l1")},
		},
	}
}

func (e *env) checkCounts(d string, unsafe, malicious int32) {
	e.t.Helper()
	n := 0
	for _, p := range []string{"p1", "p2"} {
		for _, img := range e.rows(p, d) {
			n++
			if img.UnsafeSettingNum != unsafe || img.MaliciousFileNum != malicious {
				e.t.Fatalf("row %d (%s): unsafe %d malicious %d; want %d %d", img.ID, p, img.UnsafeSettingNum, img.MaliciousFileNum,
					unsafe, malicious)
			}
		}
	}
	if n == 0 {
		e.t.Fatalf("no rows of %s", d)
	}
}

func (e *env) saveAnalyzed(d string, a scanresult.Analysis) {
	e.t.Helper()
	r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5000, UnsafeSettingNum: a.FailedRules(),
		MaliciousFileNum: int32(len(a.Malware))}
	if err := e.st.SaveScopedScan(e.ctx, "", scanresult.ScopeAll, sbom(d), nil, a, r); err != nil {
		e.t.Fatalf("SaveScopedScan: %v", err)
	}
}

func testAnalysisSaveGetClear(t *testing.T, e *env) {
	w := e.world()
	if got, err := e.st.GetAnalysis(e.ctx, w.a); err != nil || !reflect.DeepEqual(got, scanresult.Analysis{}) {
		t.Fatalf("analysis before a scan = %+v, %v", got, err)
	}
	e.saveAnalyzed(w.a, analysis())
	got, err := e.st.GetAnalysis(e.ctx, w.a)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, analysis()) {
		t.Fatalf("GetAnalysis =\n%+v\nwant\n%+v", got, analysis())
	}
	e.checkCounts(w.a, 1, 1)
	e.checkRows(w.b, inventory.Unscan, "", 0)
	if other, err := e.st.GetAnalysis(e.ctx, w.b); err != nil || len(other.Baseline)+len(other.FileHashes) != 0 {
		t.Fatalf("analysis of another digest = %+v, %v", other, err)
	}

	// A re-scan replaces everything; plain SaveScan leaves no analysis.
	e.save(sbom(w.a), nil)
	if got, err := e.st.GetAnalysis(e.ctx, w.a); err != nil || !reflect.DeepEqual(got, scanresult.Analysis{}) {
		t.Fatalf("analysis after a plain re-scan = %+v, %v", got, err)
	}
	e.checkCounts(w.a, 0, 0)

	// A failed scan clears it.
	e.saveAnalyzed(w.a, analysis())
	if err := e.clearAll(w.a, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "unknown_error"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.st.GetAnalysis(e.ctx, w.a); err != nil || !reflect.DeepEqual(got, scanresult.Analysis{}) {
		t.Fatalf("analysis after a failed scan = %+v, %v", got, err)
	}
	e.checkCounts(w.a, 0, 0)

	// Hostile text (NUL, invalid UTF-8) from a scanned image is stored
	// without failing the scan.
	a := analysis()
	a.Malware[0].FilePath = "/x\x00y/\xff"
	a.FileHashes[0].Path = "/x\x00y/\xff"
	e.saveAnalyzed(w.a, a)
	if got, err := e.st.GetAnalysis(e.ctx, w.a); err != nil || len(got.Malware) != 1 || len(got.FileHashes) != 2 {
		t.Fatalf("analysis with hostile paths = %+v, %v", got, err)
	}
}

func testReplaceMalware(t *testing.T, e *env) {
	w := e.world()
	a := analysis()
	e.saveAnalyzed(w.a, a)
	more := append(a.Malware, scanresult.Malware{FileName: "tool", FilePath: "/usr/bin/tool", Size: 1000,
		SHA256: strings.Repeat("f", 64), Rule: "Miner", Description: "known malware"})
	if err := e.st.ReplaceMalware(e.ctx, w.a, more, 2); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetAnalysis(e.ctx, w.a)
	if err != nil || !reflect.DeepEqual(got.Malware, more) {
		t.Fatalf("malware after replace = %+v, %v", got.Malware, err)
	}
	if !reflect.DeepEqual(got.Baseline, a.Baseline) || !reflect.DeepEqual(got.FileHashes, a.FileHashes) {
		t.Fatalf("replace touched the rest of the analysis: %+v", got)
	}
	e.checkCounts(w.a, 1, 2)
	// During a re-scan the count stays; without an SBOM nothing is written.
	if err := e.statusAll(w.a, inventory.Scanning); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ReplaceMalware(e.ctx, w.a, nil, 0); err != nil {
		t.Fatal(err)
	}
	e.checkCounts(w.a, 1, 2)
	if err := e.clearAll(w.a, inventory.ScanResult{Status: inventory.ScanFailed}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ReplaceMalware(e.ctx, w.a, more, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := e.st.GetAnalysis(e.ctx, w.a); err != nil || len(got.Malware) != 0 {
		t.Fatalf("replace without an SBOM wrote %+v, %v", got.Malware, err)
	}
	e.checkCounts(w.a, 0, 0)
}

func testSignatures(t *testing.T, e *env) {
	w := e.world()
	e.saveAnalyzed(w.a, analysis())
	if m, err := e.st.HashMatches(e.ctx); err != nil || len(m) != 0 {
		t.Fatalf("matches without signatures = %+v, %v", m, err)
	}
	f := strings.Repeat("f", 64)
	sigs := []scanresult.Signature{
		{SHA256: strings.ToUpper(f), Name: "Miner", Source: "feed.txt", ImportedAt: 7},
		{SHA256: f, Name: "Dup", Source: "feed.txt", ImportedAt: 7},
		{SHA256: strings.Repeat("1", 64), Name: "", Source: "feed.txt", ImportedAt: 7},
	}
	n, err := e.st.ImportSignatures(e.ctx, sigs)
	if err != nil || n != 2 {
		t.Fatalf("ImportSignatures = %d, %v; want 2 new", n, err)
	}
	if n, err := e.st.ImportSignatures(e.ctx, sigs[:1]); err != nil || n != 0 {
		t.Fatalf("re-import = %d, %v; want 0 new", n, err)
	}
	want := scanresult.Signature{SHA256: f, Name: "Miner", Source: "feed.txt", ImportedAt: 7}
	got, err := e.st.LookupSignatures(e.ctx, []string{strings.ToUpper(f), strings.Repeat("2", 64)})
	if err != nil || len(got) != 1 || got[strings.ToUpper(f)] != want {
		t.Fatalf("LookupSignatures = %+v, %v", got, err)
	}
	if got, err := e.st.LookupSignatures(e.ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("LookupSignatures(nil) = %+v, %v", got, err)
	}
	m, err := e.st.HashMatches(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantM := []scanresult.HashMatch{{Digest: w.a, File: analysis().FileHashes[1], Signature: want}}
	if !reflect.DeepEqual(m, wantM) {
		t.Fatalf("HashMatches = %+v, want %+v", m, wantM)
	}
	// A failed scan's hashes are gone with it.
	if err := e.clearAll(w.a, inventory.ScanResult{Status: inventory.ScanFailed}); err != nil {
		t.Fatal(err)
	}
	if m, err := e.st.HashMatches(e.ctx); err != nil || len(m) != 0 {
		t.Fatalf("matches after a failed scan = %+v, %v", m, err)
	}
}

// testScopedSave: a save of some parts replaces only their results and
// counts; the others keep what the last successful save stored, or start
// empty when there was none; a save without vulnerabilities keeps the
// stored inventory (or stores the layers alone); and the shared result is
// adopted only for the parts its scan ran.
func testScopedSave(t *testing.T, e *env) {
	w := e.world()
	save := func(scope scanresult.Scope, at int64, fs []scanresult.Finding, a scanresult.Analysis) {
		t.Helper()
		sb := sbom(w.a)
		sb.ScannedAt = at
		r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: at, VulNum: scanresult.DistinctVulns(fs),
			UnsafeSettingNum: a.FailedRules(), MaliciousFileNum: int32(len(a.Malware))}
		if err := e.st.SaveScopedScan(e.ctx, "p1", scope, sb, fs, a, r); err != nil {
			t.Fatalf("SaveScopedScan(%#x): %v", scope, err)
		}
	}
	state := func() (scanresult.SBOM, scanresult.Analysis, int64) {
		t.Helper()
		sb, err := e.st.GetSBOM(e.ctx, w.a)
		if err != nil {
			t.Fatalf("GetSBOM: %v", err)
		}
		a, err := e.st.GetAnalysis(e.ctx, w.a)
		if err != nil {
			t.Fatal(err)
		}
		total, _, err := e.st.ListVulns(e.ctx, scanresult.VulnFilter{Digest: w.a})
		if err != nil {
			t.Fatal(err)
		}
		return sb, a, total
	}
	full := analysis()

	// Baseline only, never scanned: the other parts are empty and 0; the
	// inventory is the layers alone.
	save(scanresult.ScopeBaseline, 5000, findings(), full)
	e.checkRows(w.a, inventory.ScanSuccess, "", 0)
	e.checkCounts(w.a, 1, 0)
	sb, a, vulns := state()
	if len(sb.Packages) != 0 || len(sb.Layers) != 2 || vulns != 0 {
		t.Fatalf("baseline only: %d packages, %d layers, %d findings; want the layers alone", len(sb.Packages), len(sb.Layers), vulns)
	}
	want := scanresult.Analysis{Baseline: full.Baseline, WeakPasswords: full.WeakPasswords}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("baseline only: analysis %+v; want its own part alone", a)
	}

	// Everything.
	save(scanresult.ScopeAll, 6000, findings(), full)
	e.checkRows(w.a, inventory.ScanSuccess, "", 3)
	e.checkCounts(w.a, 1, 1)

	// Vulnerabilities only: one finding now; the analysis stays whole.
	save(scanresult.ScopeVulnerabilities, 7000, findings()[3:4], scanresult.Analysis{})
	e.checkRows(w.a, inventory.ScanSuccess, "", 1)
	e.checkCounts(w.a, 1, 1)
	sb, a, vulns = state()
	if sb.ScannedAt != 7000 || len(sb.Packages) != 4 || vulns != 1 || !reflect.DeepEqual(a, full) {
		t.Fatalf("vulnerabilities only: SBOM at %d with %d packages, %d findings, analysis %+v", sb.ScannedAt, len(sb.Packages), vulns, a)
	}
	for _, tc := range []struct {
		scope scanresult.Scope
		want  bool
	}{{scanresult.ScopeAll, false}, {scanresult.ScopeBaseline, false}, {scanresult.ScopeVulnerabilities, true}, {0x00010000, true}} {
		if ok, err := e.st.AdoptSharedScope(e.ctx, "p2", w.a, 7000, tc.scope); err != nil || ok != tc.want {
			t.Fatalf("AdoptSharedScope(%#x) after a scan of vulnerabilities = %v, %v; want %v", tc.scope, ok, err, tc.want)
		}
	}

	// Malware and secrets, none found now: their parts empty, the rest kept.
	save(scanresult.ScopeMalware|scanresult.ScopeSecrets, 8000, nil, scanresult.Analysis{})
	e.checkRows(w.a, inventory.ScanSuccess, "", 1)
	e.checkCounts(w.a, 1, 0)
	sb, a, vulns = state()
	want = scanresult.Analysis{Baseline: full.Baseline, WeakPasswords: full.WeakPasswords}
	if sb.ScannedAt != 7000 || vulns != 1 || !reflect.DeepEqual(a, want) {
		t.Fatalf("malware and secrets: SBOM at %d, %d findings, analysis %+v", sb.ScannedAt, vulns, a)
	}
	if ok, err := e.st.AdoptSharedScope(e.ctx, "p2", w.a, 0, scanresult.ScopeAll); err != nil || ok {
		t.Fatalf("AdoptSharedScope(all) of a partial scan = %v, %v; want false", ok, err)
	}
}
