package scanstoretest

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// rule is a baseline result of the aggregation suite; the rules of one
// check share its type and standard, as the analyzers write them.
func rule(id, name, check, severity, standard string, passed bool) scanresult.BaselineResult {
	return scanresult.BaselineResult{RuleID: id, Name: name, CheckName: check, CheckType: check + "-type", Severity: severity,
		Standard: standard, Passed: passed}
}

func weak(user, typ string) scanresult.WeakPassword {
	return scanresult.WeakPassword{User: user, Type: typ, Path: "/etc/shadow", LayerDigest: digest("l1"), UserType: "user"}
}

// testFindingsAggregation checks the store's baseline lists against the
// aggregation the API did in memory before they moved into the store
// (every selected row's analysis read by GetAnalysis, then grouped), on
// the same data: a and b scanned with analyses, c with an analysis but
// its rows being scanned again (not success).
func testFindingsAggregation(t *testing.T, e *env) {
	w := e.world()
	c := digest("c")
	e.sync(w.r2, inventory.RepoSnapshot{Namespace: "lib", Name: "app", Tags: []inventory.TagRef{tag("1", w.a)}},
		inventory.RepoSnapshot{Namespace: "ops", Name: "tool", Tags: []inventory.TagRef{tag("7", c)}})
	e.saveAnalyzed(w.a, scanresult.Analysis{
		Baseline: []scanresult.BaselineResult{
			rule("account.weak", "weak password", "accounts", "High", "cn_standard", false),
			rule("config.health", "healthcheck", "image_config", "Low", "hw_standard", true),
		},
		WeakPasswords: []scanresult.WeakPassword{weak("root", "weak_password"), weak("admin", "empty_password")},
	})
	e.saveAnalyzed(w.b, scanresult.Analysis{
		Baseline: []scanresult.BaselineResult{
			rule("account.empty", "empty password", "accounts", "Medium", "cn_standard", false),
			rule("account.weak", "weak password", "accounts", "High", "cn_standard", true),
			rule("config.health", "healthcheck", "image_config", "Low", "hw_standard", true),
			rule("config.root", "runs as root", "image_config", "Critical", "hw_standard", false),
			rule("misc.odd", "odd", "misc", "Informational", "hw_standard", false),
		},
		WeakPasswords: []scanresult.WeakPassword{weak("svc", "weak_password")},
	})
	e.saveAnalyzed(c, scanresult.Analysis{
		Baseline:      []scanresult.BaselineResult{rule("account.weak", "weak password", "accounts", "High", "cn_standard", false)},
		WeakPasswords: []scanresult.WeakPassword{weak("bob", "weak_password")},
	})
	if err := e.st.SetScanStatus(e.ctx, "p1", c, inventory.Scanning); err != nil {
		t.Fatal(err)
	}

	scanned := func(project string, mod func(*inventory.Filter)) scanresult.RowSelection {
		f := inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, ScanStatus: inventory.ScanSuccess}
		if mod != nil {
			mod(&f)
		}
		return scanresult.RowSelection{Filter: f}
	}
	ids := func(project string, digests ...string) scanresult.RowSelection {
		sel := scanresult.RowSelection{Filter: inventory.Filter{ProjectID: project}, IDs: []int64{}}
		for _, d := range digests {
			imgs, err := e.st.ImagesByDigest(e.ctx, project, d)
			if err != nil {
				t.Fatal(err)
			}
			for _, img := range imgs {
				sel.IDs = append(sel.IDs, img.ID)
			}
		}
		return sel
	}
	selections := map[string]scanresult.RowSelection{
		"p1 scanned":        scanned("p1", nil),
		"p1 version 2":      scanned("p1", func(f *inventory.Filter) { f.ImageVersion = "2" }),
		"p1 namespace ops":  scanned("p1", func(f *inventory.Filter) { f.Namespace = "ops" }),
		"p2 scanned":        scanned("p2", nil),
		"p1 no project":     scanned("p1", func(f *inventory.Filter) { f.EnterpriseProjects = []string{} }),
		"p1 rows of a":      ids("p1", w.a),
		"p1 rows of a b c":  ids("p1", w.a, w.b, c),
		"p2 rows of c":      ids("p2", c),
		"p1 rows of nobody": ids("p1"),
	}
	// keys are baselines by check name and standard, in pairs.
	keys := func(pairs ...string) []scanresult.BaselineKey {
		var out []scanresult.BaselineKey
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, scanresult.BaselineKey{CheckName: pairs[i], Standard: pairs[i+1]})
		}
		return out
	}
	for name, sel := range selections {
		rows, analyses := e.oldSelection(sel)
		for _, f := range []scanresult.RiskConfigFilter{{}, {CheckName: "acc"}, {Severity: "High"}, {Severity: "Security"},
			{Severity: "Critical"}, {Severity: "Bogus"}, {Standard: "hw_standard"}, {Offset: 1, Limit: 1}, {Offset: 10, Limit: 5}} {
			wantTotal, want := oldRiskConfigs(analyses, f)
			total, got, err := e.st.RiskConfigs(e.ctx, sel, f)
			if err != nil || total != wantTotal || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: RiskConfigs(%+v) = %d %+v, %v; want %d %+v", name, f, total, got, err, wantTotal, want)
			}
		}
		for _, f := range []scanresult.RiskRuleFilter{{CheckName: "accounts", Standard: "cn_standard"},
			{CheckName: "accounts", Standard: "cn_standard", Result: "failed"}, {CheckName: "accounts", Standard: "cn_standard", Result: "pass"},
			{CheckName: "accounts", Standard: "cn_standard", Severity: "Medium"}, {CheckName: "accounts", Standard: "cn_standard", RuleName: "weak"},
			{CheckName: "image_config", Standard: "hw_standard", Offset: 1, Limit: 1}, {CheckName: "image_config", Standard: "cn_standard"},
			{CheckName: "image_config", Standard: "hw_standard", Offset: 5, Limit: 1},
			// Several baselines in one read: a baseline under another
			// standard than its own and one stored nowhere select
			// nothing, nor does a name no column can hold.
			{Baselines: keys("misc", "hw_standard", "accounts", "cn_standard", "image_config", "hw_standard")},
			{Baselines: keys("image_config", "hw_standard", "accounts", "cn_standard"), Result: "failed"},
			{Baselines: keys("image_config", "hw_standard", "accounts", "cn_standard"), RuleName: "password", Severity: "High"},
			{Baselines: keys("accounts", "hw_standard", "image_config", "hw_standard", "nowhere", "cn_standard")},
			{Baselines: keys("accounts", "cn_standard", "image_config\x00", "hw_standard")},
			{Baselines: keys("image_config", "hw_standard"), Offset: 1},
			{Baselines: keys("accounts", "cn_standard", "image_config", "hw_standard"), Offset: 1, Limit: 2},
			{Baselines: keys("accounts", "cn_standard", "image_config", "hw_standard"), Offset: 9, Limit: 2}} {
			wantTotal, want := oldRiskRules(analyses, f)
			total, got, err := e.st.RiskConfigRules(e.ctx, sel, f)
			if err != nil || total != wantTotal || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: RiskConfigRules(%+v) = %d %+v, %v; want %d %+v", name, f, total, got, err, wantTotal, want)
			}
		}
		for _, f := range []scanresult.WeakPasswordFilter{{}, {User: "ad"}, {Offset: 1, Limit: 1}, {Offset: 10, Limit: 2}} {
			wantTotal, want := oldWeakPasswords(rows, analyses, f)
			total, got, err := e.st.WeakPasswordUsers(e.ctx, sel, f)
			if err != nil || total != wantTotal || !reflect.DeepEqual(got, want) {
				t.Errorf("%s: WeakPasswordUsers(%+v) = %d %+v, %v; want %d %+v", name, f, total, got, err, wantTotal, want)
			}
		}
	}
}

// oldSelection is what the API aggregated over: the selected rows (the
// list's, in list order, or the given ids, in id order) and the analysis
// of each distinct manifest they show, in the rows' order.
func (e *env) oldSelection(sel scanresult.RowSelection) ([]inventory.Image, []scanresult.Analysis) {
	e.t.Helper()
	f := sel.Filter
	if sel.IDs != nil {
		f = inventory.Filter{ProjectID: f.ProjectID, Type: inventory.PrivateImage}
	}
	f.Limit = 1000
	page, err := e.st.ListImages(e.ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	rows := page.Images
	if sel.IDs != nil {
		rows = slices.DeleteFunc(rows, func(img inventory.Image) bool { return !slices.Contains(sel.IDs, img.ID) })
		slices.SortFunc(rows, func(a, b inventory.Image) int { return cmp.Compare(a.ID, b.ID) })
	}
	byDigest := map[string]scanresult.Analysis{}
	var analyses []scanresult.Analysis
	for _, img := range rows {
		if _, ok := byDigest[img.ManifestDigest]; ok {
			continue
		}
		a, err := e.st.GetAnalysis(e.ctx, img.ManifestDigest)
		if err != nil {
			e.t.Fatal(err)
		}
		byDigest[img.ManifestDigest] = a
		analyses = append(analyses, a)
	}
	return rows, analyses
}

var severityRank = map[string]int{"Security": 0, "Low": 1, "Medium": 2, "High": 3, "Critical": 4}

// page is [offset, offset+limit) of list (limit 0: all) and its length.
func page[T any](list []T, offset, limit int) (int64, []T) {
	lo := min(offset, len(list))
	hi := len(list)
	if limit > 0 {
		hi = min(lo+limit, hi)
	}
	return int64(len(list)), append([]T{}, list[lo:hi]...)
}

func oldRiskConfigs(analyses []scanresult.Analysis, f scanresult.RiskConfigFilter) (int64, []scanresult.RiskConfig) {
	by := map[string]*scanresult.RiskConfig{}
	for _, a := range analyses {
		for _, b := range a.Baseline {
			rc := by[b.CheckName]
			if rc == nil {
				rc = &scanresult.RiskConfig{CheckName: b.CheckName, CheckType: b.CheckType, Standard: b.Standard, Severity: "Security"}
				by[b.CheckName] = rc
			}
			rc.Rules++
			if !b.Passed {
				rc.Failed++
				if severityRank[b.Severity] > severityRank[rc.Severity] {
					rc.Severity = b.Severity
				}
			}
		}
	}
	var list []scanresult.RiskConfig
	for _, k := range slices.Sorted(maps.Keys(by)) {
		rc := by[k]
		if (f.CheckName == "" || strings.Contains(rc.CheckName, f.CheckName)) && (f.Severity == "" || rc.Severity == f.Severity) &&
			(f.Standard == "" || rc.Standard == f.Standard) {
			list = append(list, *rc)
		}
	}
	return page(list, f.Offset, f.Limit)
}

// oldRiskRules is the in-memory aggregation, one baseline's rules at a
// time; several baselines' are each one's in turn, by check name and
// standard.
func oldRiskRules(analyses []scanresult.Analysis, f scanresult.RiskRuleFilter) (int64, []scanresult.RiskRule) {
	if len(f.Baselines) > 0 {
		keys := slices.SortedFunc(slices.Values(f.Baselines), func(a, b scanresult.BaselineKey) int {
			return cmp.Or(cmp.Compare(a.CheckName, b.CheckName), cmp.Compare(a.Standard, b.Standard))
		})
		var all []scanresult.RiskRule
		for _, k := range keys {
			one := f
			one.Baselines, one.CheckName, one.Standard, one.Offset, one.Limit = nil, k.CheckName, k.Standard, 0, 0
			_, rules := oldRiskRules(analyses, one)
			all = append(all, rules...)
		}
		return page(all, f.Offset, f.Limit)
	}
	by := map[string]*scanresult.RiskRule{}
	for _, a := range analyses {
		for _, b := range a.Baseline {
			if b.CheckName != f.CheckName || b.Standard != f.Standard {
				continue
			}
			rr := by[b.RuleID]
			if rr == nil {
				rr = &scanresult.RiskRule{RuleID: b.RuleID, Name: b.Name, CheckName: b.CheckName, CheckType: b.CheckType,
					Standard: b.Standard, Severity: b.Severity}
				by[b.RuleID] = rr
			}
			rr.Failed = rr.Failed || !b.Passed
		}
	}
	var list []scanresult.RiskRule
	for _, k := range slices.Sorted(maps.Keys(by)) {
		rr := by[k]
		result := map[bool]string{true: "failed", false: "pass"}[rr.Failed]
		if (f.Result == "" || result == f.Result) && (f.Severity == "" || rr.Severity == f.Severity) &&
			(f.RuleName == "" || strings.Contains(rr.Name, f.RuleName)) {
			list = append(list, *rr)
		}
	}
	return page(list, f.Offset, f.Limit)
}

func oldWeakPasswords(rows []inventory.Image, analyses []scanresult.Analysis, f scanresult.WeakPasswordFilter) (int64, []scanresult.WeakPasswordRow) {
	byDigest := map[string]scanresult.Analysis{}
	var seen []string
	for _, img := range rows {
		if !slices.Contains(seen, img.ManifestDigest) {
			byDigest[img.ManifestDigest] = analyses[len(seen)]
			seen = append(seen, img.ManifestDigest)
		}
	}
	var list []scanresult.WeakPasswordRow
	for _, img := range rows {
		for _, wp := range byDigest[img.ManifestDigest].WeakPasswords {
			if f.User == "" || strings.Contains(wp.User, f.User) {
				list = append(list, scanresult.WeakPasswordRow{Namespace: img.Namespace, Name: img.Name, Tag: img.Tag,
					Digest: img.Digest, Type: img.Type, LatestScanTime: img.LatestScanTime, WeakPassword: wp})
			}
		}
	}
	return page(list, f.Offset, f.Limit)
}
