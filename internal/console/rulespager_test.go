package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// TestBaselineRulesPager: a baseline with more rules than a page (200)
// lists its first page with a pager; the Next link lists the rest (the
// rules route's store call with the offset), keeps the tab's filters and
// page of baselines, and pages that baseline only.
func TestBaselineRulesPager(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%064x", 1) // row a1
	var a scanresult.Analysis
	for i := range 230 {
		a.Baseline = append(a.Baseline, scanresult.BaselineResult{RuleID: fmt.Sprintf("big.rule-%03d", i), Name: fmt.Sprintf("Big rule %03d", i),
			CheckName: "Big baseline", CheckType: "image", Severity: "Low", Standard: "hw_standard", Passed: i%2 == 0})
	}
	for i := range 3 {
		a.Baseline = append(a.Baseline, scanresult.BaselineResult{RuleID: fmt.Sprintf("small.rule-%d", i), Name: "Small rule",
			CheckName: "Small baseline", CheckType: "image", Severity: "Low", Standard: "hw_standard", Passed: true})
	}
	sb := scanresult.SBOM{Digest: digest, ScannedAt: 1700000000000}
	if err := e.st.SaveScopedScan(ctx, "", scanresult.ScopeAll, sb, nil, a,
		inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt}); err != nil {
		t.Fatal(err)
	}
	sel := scanresult.RowSelection{Filter: inventory.Filter{ProjectID: projA}, IDs: []int64{e.rows["a1"]}}
	rules := func(f scanresult.RiskRuleFilter) []string {
		f.CheckName, f.Standard = "Big baseline", "hw_standard"
		_, rs, err := e.st.RiskConfigRules(ctx, sel, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.RuleID)
		}
		return ids
	}
	listed := func(body string) []string {
		var ids []string
		for _, m := range regexp.MustCompile(`<td class="mono">(big\.rule-[0-9]+)</td>`).FindAllStringSubmatch(body, -1) {
			ids = append(ids, m[1])
		}
		return ids
	}
	alice, _ := e.signIn("alice")
	self := fmt.Sprintf("/images/%d", e.rows["a1"])
	rulesNext := regexp.MustCompile(`<a href="([^"]+)">Next rules</a>`)
	rulesPrev := regexp.MustCompile(`<a href="([^"]+)">Previous rules</a>`)

	// Every rule, then the failed ones (115: under a page, no pager).
	resp, body := e.do("GET", self+"?tab=settings", nil, alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("settings tab: %s", resp.Status)
	}
	if got, want := listed(body), rules(scanresult.RiskRuleFilter{Limit: 200}); len(got) != 200 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("first page: %d rules, want the store's first 200", len(got))
	}
	m := rulesNext.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "Rules 1–200 of 230.") || rulesPrev.MatchString(body) {
		t.Fatalf("first page: no pager of the big baseline's rules (next %v)", m)
	}
	next := html.UnescapeString(m[1])
	if !strings.HasPrefix(next, self+"?") || !strings.Contains(next, "rules_offset=200") ||
		!strings.Contains(next, "rules_of=Big+baseline") || !strings.HasSuffix(next, "#baseline-1") {
		t.Errorf("next rules link %q", next)
	}
	_, body = e.do("GET", strings.TrimSuffix(next, "#baseline-1"), nil, alice)
	if got, want := listed(body), rules(scanresult.RiskRuleFilter{Offset: 200, Limit: 200}); len(got) != 30 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("second page: %v, want the store's %v", got, want)
	}
	if !strings.Contains(body, "Rules 201–230 of 230.") || rulesNext.MatchString(body) || !strings.Contains(body, "small.rule-0") {
		t.Errorf("second page: the pager or the other baseline's rules are wrong")
	}
	if m := rulesPrev.FindStringSubmatch(body); m == nil || strings.Contains(m[1], "rules_offset") {
		t.Errorf("second page: previous rules link %v, want the first page", m)
	}

	// The filters and the page of baselines are kept; the filtered rules
	// fit a page.
	_, body = e.do("GET", self+"?tab=settings&check_rule_name=Big&severity=Low", nil, alice)
	m = rulesNext.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("filtered: no next rules link")
	}
	for _, want := range []string{"check_rule_name=Big", "severity=Low", "tab=settings"} {
		if !strings.Contains(html.UnescapeString(m[1]), want) {
			t.Errorf("next rules link %q lost %s", m[1], want)
		}
	}
	_, body = e.do("GET", self+"?tab=settings&result_type=failed", nil, alice)
	if got := listed(body); len(got) != 115 || rulesNext.MatchString(body) || strings.Contains(body, "Previous rules") {
		t.Errorf("failed rules: %d listed, want 115 and no pager", len(got))
	}
	_, body = e.do("GET", self+"?tab=settings&offset=1&rules_of=Small+baseline&rules_offset=2", nil, alice)
	if !strings.Contains(body, "small.rule-2") || strings.Contains(body, "small.rule-0") || strings.Contains(body, "big.rule") {
		t.Errorf("the second page of baselines, the small baseline's rules from the third: wrong rules")
	}

	// Bad values: the API's message for an offset, 400; another
	// project's user sees no rule.
	for _, q := range []string{"rules_offset=-1", "rules_offset=x", "rules_offset=2000001", "rules_of=" + strings.Repeat("a", 257)} {
		if resp, body := e.do("GET", self+"?tab=settings&"+q, nil, alice); resp.StatusCode != http.StatusBadRequest ||
			!strings.Contains(body, "invalid parameter rules_") {
			t.Errorf("%.40s: %s, want 400", q, resp.Status)
		}
	}
	bob, _ := e.signIn("bob")
	if resp, body := e.do("GET", next, nil, bob); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "big.rule") {
		t.Errorf("bob: %s", resp.Status)
	}
}
