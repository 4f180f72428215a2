package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/findingquery"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// TestSettingsTabReadsRulesOnce: the Unsafe settings tab reads the rules
// of every baseline it lists in one store read, not one per baseline,
// and lists what a read per baseline listed (the store's rules route call
// for each baseline on the page, by its name and standard, from its
// first rule or, for the baseline rules_of names, from rules_offset):
// more baselines than a page, one with more rules than its page, and one
// whose check name is stored under two standards (the tab lists the
// rules of the standard the baseline shows).
func TestSettingsTabReadsRulesOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%064x", 1) // row a1
	severities := []string{"Low", "Medium", "High", "Critical"}
	var a scanresult.Analysis
	// A rule id is one rule of a manifest, whatever its baseline.
	add := func(check, standard string, n int) {
		for i := range n {
			a.Baseline = append(a.Baseline, scanresult.BaselineResult{RuleID: fmt.Sprintf("%s.%s-%03d", strings.ReplaceAll(check, " ", "-"), standard[:2], i),
				Name: fmt.Sprintf("%s rule %d", check, i), CheckName: check, CheckType: "image", Severity: severities[(i+len(check))%4],
				Standard: standard, Passed: (i+len(a.Baseline))%3 != 0})
		}
	}
	for i := range 53 {
		add(fmt.Sprintf("Baseline %02d", i), []string{"cn_standard", "hw_standard"}[i%2], i%4+1)
	}
	add("Big", "hw_standard", 230)
	add("Mixed", "hw_standard", 3)
	add("Mixed", "cn_standard", 2)
	sb := scanresult.SBOM{Digest: digest, ScannedAt: 1700000000000}
	if err := e.st.SaveScopedScan(ctx, "", scanresult.ScopeAll, sb, nil, a,
		inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt}); err != nil {
		t.Fatal(err)
	}
	sel := scanresult.RowSelection{Filter: inventory.Filter{ProjectID: projA}, IDs: []int64{e.rows["a1"]}}

	// perBaseline is the tab as a read per baseline listed it.
	perBaseline := func(query string) []string {
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		rq := &imagequery.Reader{V: q}
		cf, rf, offset := findingquery.RiskConfigs(rq), findingquery.RiskRules(rq, false), rq.Offset()
		if rq.Err != nil {
			t.Fatal(rq.Err)
		}
		_, configs, err := e.st.RiskConfigs(ctx, sel, scanresult.RiskConfigFilter{CheckName: cf.CheckName, Standard: cf.Standard,
			Offset: offset, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i, rc := range configs {
			f := rf
			f.CheckName, f.Standard, f.Offset, f.Limit = rc.CheckName, rc.Standard, 0, 200
			if rc.CheckName == q.Get("rules_of") {
				fmt.Sscan(q.Get("rules_offset"), &f.Offset)
			}
			n, rules, err := e.st.RiskConfigRules(ctx, sel, f)
			if err != nil {
				t.Fatal(err)
			}
			b := fmt.Sprintf("%d %s (%s, %d):", offset+i+1, rc.CheckName, rc.Standard, n)
			for _, r := range rules {
				b += fmt.Sprintf(" %s %s %s %t", r.RuleID, r.Name, r.Severity, r.Failed)
			}
			out = append(out, b)
		}
		return out
	}
	// listed is the tab as the page shows it, in the same form.
	heading := regexp.MustCompile(`<h3 id="baseline-([0-9]+)">([^<]*) <small>\(([a-z_]+), <span class="rule-total">([0-9]+)</span>`)
	rule := regexp.MustCompile(`<tr><td class="mono">([^<]*)</td><td>([^<]*)</td><td class="sev [^"]*">([^<]*)</td><td class="result result-([a-z]+)">`)
	listed := func(body string) []string {
		var out []string
		sections := heading.FindAllStringSubmatchIndex(body, -1)
		for i, m := range sections {
			end := len(body)
			if i+1 < len(sections) {
				end = sections[i+1][0]
			}
			b := fmt.Sprintf("%s %s (%s, %s):", body[m[2]:m[3]], html.UnescapeString(body[m[4]:m[5]]), body[m[6]:m[7]], body[m[8]:m[9]])
			for _, r := range rule.FindAllStringSubmatch(body[m[1]:end], -1) {
				b += fmt.Sprintf(" %s %s %s %t", r[1], html.UnescapeString(r[2]), r[3], r[4] == "failed")
			}
			out = append(out, b)
		}
		return out
	}

	alice, _ := e.signIn("alice")
	self := fmt.Sprintf("/images/%d", e.rows["a1"])
	for _, tc := range []struct {
		query     string
		baselines int // listed
		rules     int // reads of rules
	}{
		{"tab=settings", 50, 1},
		{"tab=settings&offset=50", 5, 1},
		{"tab=settings&offset=50&rules_of=Big&rules_offset=200", 5, 1},
		{"tab=settings&offset=50&rules_of=Big&rules_offset=400", 5, 1},
		{"tab=settings&offset=50&result_type=failed&severity=High", 5, 1},
		{"tab=settings&check_rule_name=rule+2&standard=cn_standard", 28, 1},
		{"tab=settings&check_name=Mixed", 1, 1},
		{"tab=settings&check_name=nothing", 0, 0},
	} {
		e.reads.counted()
		resp, body := e.do("GET", self+"?"+tc.query, nil, alice)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", tc.query, resp.Status)
			continue
		}
		configs, rules := e.reads.counted()
		if configs != 1 || rules != tc.rules {
			t.Errorf("%s: %d reads of baselines, %d of rules; want 1 and %d", tc.query, configs, rules, tc.rules)
		}
		got, want := listed(body), perBaseline(tc.query)
		if len(got) != tc.baselines || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: the page lists %d baselines\n%s\nwant %d, a read per baseline's\n%s", tc.query, len(got),
				strings.Join(got, "\n"), tc.baselines, strings.Join(want, "\n"))
		}
	}
}
