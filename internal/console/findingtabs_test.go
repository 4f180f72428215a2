package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// TestDetailFindingFilters: the Unsafe settings tab lists each baseline's
// rules with their result, and every findings tab's filters are its API
// route's parameters, parsed by the API's code (findingquery): each
// narrows, the total is the store call's (or the route's in-memory
// selection's), the pager keeps the filters, bad values are refused with
// the API's message, and another project's or enterprise project's image
// is 404 whatever the filters.
func TestDetailFindingFilters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%064x", 1) // row a1
	sb := scanresult.SBOM{Digest: digest, ScannedAt: 1700000000000, Packages: []scanresult.Package{
		{Name: "golang.org/x/text", Version: "0.3.7", Ecosystem: "Go", Type: "go-module", Path: "/app/bin"},
		{Name: "openssl", Version: "3.0.11-1", Ecosystem: "Debian:12", Type: "dpkg", Path: "/var/lib/dpkg/status"},
		{Name: "libssl3", Version: "3.0.11-1", Ecosystem: "Debian:12", Type: "dpkg", Path: "/var/lib/dpkg/status"}}}
	for i := range 55 { // more than a page of packages named pkg-
		sb.Packages = append(sb.Packages, scanresult.Package{Name: fmt.Sprintf("pkg-%02d", i), Version: "1", Ecosystem: "npm", Type: "npm", Path: "/app/node_modules"})
	}
	rule := func(id, name, check, std, sev string, passed bool) scanresult.BaselineResult {
		return scanresult.BaselineResult{RuleID: id, Name: name, CheckName: check, CheckType: "image", Severity: sev, Standard: std, Passed: passed}
	}
	a := scanresult.Analysis{
		Baseline: []scanresult.BaselineResult{
			rule("config.runs-as-root", "Runs as root", "Container config", "hw_standard", "High", false),
			rule("config.healthcheck", "Has a health check", "Container config", "hw_standard", "Low", true),
			rule("config.secrets-in-env", "No secrets in the environment", "Container config", "hw_standard", "Critical", false),
			rule("ssh.permit-root", "SSH root login disabled", "SSH", "cn_standard", "Medium", true),
		},
		WeakPasswords: []scanresult.WeakPassword{
			{User: "operator", Type: "weak_password", Path: "/etc/shadow", UserType: "user"},
			{User: "root", Type: "empty_password", Path: "/etc/shadow", UserType: "root"}},
		Malware: []scanresult.Malware{
			{FileName: "miner.sh", FilePath: "/tmp/miner.sh", Size: 10, Rule: "coinminer"},
			{FileName: "backdoor.py", FilePath: "/opt/backdoor.py", Size: 20, Rule: "backdoor"}},
		Secrets: []scanresult.Secret{
			{ID: "s1", RuleID: "aws", Severity: "high", Name: "AWS key", FilePath: "/app/.env", Line: 3, Content: "AKIA************(20)"},
			{ID: "s2", RuleID: "slack", Severity: "medium", Name: "Slack token", FilePath: "/app/config.yaml", Line: 9, Content: "xoxb****(40)"},
			{ID: "s3", RuleID: "pem", Severity: "high", Name: "Private key", FilePath: "/etc/ssl/key.pem", Line: 1, Content: "-----BEGIN****(1200)"},
			{ID: "s4", RuleID: "pem", Severity: "high", Name: "Hidden key", FilePath: "/hidden/key.pem", Line: 1, Content: "-----BEGIN****(900)"},
		},
	}
	findings := []scanresult.Finding{
		{Package: 0, VulnID: "GO-2022-1059", Aliases: []string{"CVE-2022-32149"}, RepairNecessity: "immediate_repair", FixedVersion: "0.3.8"},
		{Package: 1, VulnID: "DEBIAN-CVE-2023-5678", RepairNecessity: "delay_repair", Severity: "low"},
		{Package: 2, VulnID: "DEBIAN-CVE-2023-9999", RepairNecessity: "not_needed_repair", Severity: "unimportant"},
	}
	if err := e.st.SaveScopedScan(ctx, "", scanresult.ScopeAll, sb, findings, a, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetSensitivePathWhitelist(ctx, projA, []string{"/hidden"}); err != nil {
		t.Fatal(err)
	}
	sel := scanresult.RowSelection{Filter: inventory.Filter{ProjectID: projA}, IDs: []int64{e.rows["a1"]}}
	apps := func(f scanresult.AppFilter) int64 {
		f.Digest = digest
		n, _, err := e.st.ListApps(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	configs := func(f scanresult.RiskConfigFilter) int64 {
		n, _, err := e.st.RiskConfigs(ctx, sel, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	users := func(f scanresult.WeakPasswordFilter) int64 {
		n, _, err := e.st.WeakPasswordUsers(ctx, sel, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	vulns := func(f scanresult.VulnFilter) int64 {
		f.Digest = digest
		n, _, err := e.st.ListVulns(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	alice, _ := e.signIn("alice")
	self := fmt.Sprintf("/images/%d", e.rows["a1"])
	for _, tc := range []struct {
		query   string
		totalID string
		total   int64 // the store call's (or, in memory, the route's)
		want    []string
		absent  []string
	}{
		{"", "vuln-total", vulns(scanresult.VulnFilter{}), []string{"GO-2022-1059", "DEBIAN-CVE-2023-5678", "DEBIAN-CVE-2023-9999"},
			[]string{"Clear filters"}},
		{"vul_id=GO-", "vuln-total", vulns(scanresult.VulnFilter{VulnID: "GO-"}), []string{"GO-2022-1059", `value="GO-"`, "Clear filters"},
			[]string{"DEBIAN-CVE"}},
		{"type=linux_vul", "vuln-total", vulns(scanresult.VulnFilter{Type: scanresult.LinuxVul}),
			[]string{"DEBIAN-CVE-2023-5678", "DEBIAN-CVE-2023-9999", `<option value="linux_vul" selected>`}, []string{"GO-2022-1059"}},
		{"app_name=ssl&repair_necessity=delay_repair", "vuln-total",
			vulns(scanresult.VulnFilter{AppName: "ssl", RepairNecessity: "delay_repair"}), []string{"DEBIAN-CVE-2023-5678"},
			[]string{"GO-2022-1059", "DEBIAN-CVE-2023-9999"}},
		{"handle_status=handled", "vuln-total", 0, []string{`<option value="handled" selected>`}, []string{"GO-2022-1059", "DEBIAN-CVE"}},
		{"handle_status=unhandled&type=app_vul", "vuln-total", vulns(scanresult.VulnFilter{Type: scanresult.AppVul}),
			[]string{"GO-2022-1059"}, []string{"DEBIAN-CVE"}},
		{"tab=packages", "package-total", apps(scanresult.AppFilter{}), []string{"golang.org/x/text", `rel="next"`}, []string{"Clear filters"}},
		{"tab=packages&app_name=ssl", "package-total", apps(scanresult.AppFilter{AppName: "ssl"}),
			[]string{`<td class="pkg">openssl</td>`, `<td class="pkg">libssl3</td>`, `value="ssl"`, "Clear filters"},
			[]string{"golang.org/x/text", "pkg-00", `rel="next"`}},
		{"tab=packages&app_name=pkg-", "package-total", apps(scanresult.AppFilter{AppName: "pkg-"}),
			[]string{"pkg-00", `href="` + self + `?app_name=pkg-&amp;offset=50&amp;tab=packages"`}, []string{"openssl"}},
		{"tab=packages&app_name=pkg-&offset=50", "package-total", apps(scanresult.AppFilter{AppName: "pkg-"}), []string{"pkg-54"}, []string{"pkg-00", `rel="next"`}},
		{"tab=packages&app_name=nothing", "package-total", 0, []string{"No package matches the filters."}, []string{"openssl"}},

		{"tab=settings", "settings-total", configs(scanresult.RiskConfigFilter{}),
			[]string{"config.runs-as-root", "Runs as root", "config.healthcheck", "ssh.permit-root", `class="result result-failed">failed`,
				`class="result result-pass">passed`, `href="#baseline-1"`, `id="rules-2"`,
				`Container config</a></td><td>image</td><td>hw_standard</td><td class="sev sev-critical">Critical</td><td>3</td><td>2</td>`}, []string{"Clear filters"}},
		{"tab=settings&result_type=failed", "settings-total", configs(scanresult.RiskConfigFilter{}),
			[]string{"config.runs-as-root", "config.secrets-in-env", "No rule of this baseline matches the filters.", `<option value="failed" selected>`},
			[]string{"config.healthcheck", "ssh.permit-root", "result-pass"}},
		{"tab=settings&result_type=pass", "settings-total", configs(scanresult.RiskConfigFilter{}),
			[]string{"config.healthcheck", "ssh.permit-root"}, []string{"config.runs-as-root", "result-failed"}},
		{"tab=settings&check_name=SSH", "settings-total", configs(scanresult.RiskConfigFilter{CheckName: "SSH"}),
			[]string{"ssh.permit-root"}, []string{"config.runs-as-root", `id="rules-2"`}},
		{"tab=settings&standard=hw_standard", "settings-total", configs(scanresult.RiskConfigFilter{Standard: "hw_standard"}),
			[]string{"config.runs-as-root", `<option value="hw_standard" selected>`}, []string{"ssh.permit-root"}},
		{"tab=settings&severity=Critical", "settings-total", configs(scanresult.RiskConfigFilter{}),
			[]string{"config.secrets-in-env"}, []string{"config.runs-as-root", "config.healthcheck", "ssh.permit-root"}},
		{"tab=settings&check_rule_name=root", "settings-total", configs(scanresult.RiskConfigFilter{}),
			[]string{"config.runs-as-root", "ssh.permit-root"}, []string{"config.healthcheck", "config.secrets-in-env"}},

		{"tab=passwords&user_name=oper", "password-total", users(scanresult.WeakPasswordFilter{User: "oper"}), []string{"operator", `value="oper"`},
			[]string{"<td>root</td>"}},
		{"tab=passwords", "password-total", users(scanresult.WeakPasswordFilter{}), []string{"operator", "<td>root</td>"}, nil},
		{"tab=malware&file_name=miner", "malware-total", 1, []string{"/tmp/miner.sh"}, []string{"backdoor"}},
		{"tab=malware", "malware-total", 2, []string{"/tmp/miner.sh", "backdoor.py"}, nil},
		{"tab=sensitive&file_path=/app/", "sensitive-total", 2, []string{"/app/.env:3", "/app/config.yaml:9"}, []string{"/etc/ssl/key.pem", "/hidden"}},
		{"tab=sensitive&severity=high", "sensitive-total", 2, []string{"/app/.env:3", "/etc/ssl/key.pem:1", `<option value="high" selected>`},
			[]string{"config.yaml", "/hidden"}},
		{"tab=sensitive&severity=high&file_path=.pem", "sensitive-total", 1, []string{"/etc/ssl/key.pem:1"}, []string{"/app/.env", "/hidden"}},
		{"tab=sensitive&handle_status=handled", "sensitive-total", 0, []string{"No sensitive information matches the filters."}, []string{"/app/.env"}},
		{"tab=sensitive&handle_status=unhandled", "sensitive-total", 3, []string{"/app/.env:3"}, []string{"/hidden"}},
	} {
		resp, body := e.do("GET", self+"?"+tc.query, nil, alice)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", tc.query, resp.Status)
			continue
		}
		if got := fmt.Sprintf(`<span id="%s">%d</span>`, tc.totalID, tc.total); !strings.Contains(body, got) {
			t.Errorf("%s: want %s", tc.query, got)
		}
		checkShows(t, tc.query, body, tc.want, tc.absent)
	}
	// Each baseline's rule count is the rules route's store call's.
	_, body := e.do("GET", self+"?tab=settings&result_type=failed", nil, alice)
	n, _, err := e.st.RiskConfigRules(ctx, sel, scanresult.RiskRuleFilter{CheckName: "Container config", Standard: "hw_standard", Result: "failed"})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf(`<span class="rule-total">%d</span>`, n); n != 2 || !strings.Contains(body, want) {
		t.Errorf("the failed rules of Container config: store %d, page lacks %s", n, want)
	}

	// Bad values: the API's message, 400.
	for _, tc := range []struct{ query, msg string }{
		{"tab=settings&result_type=bad", "invalid parameter result_type: must be pass or failed"},
		{"tab=settings&severity=high", "invalid parameter severity: must be Security, Low, Medium, High or Critical"},
		{"tab=settings&standard=iso", "invalid parameter standard: must be cn_standard or hw_standard"},
		{"tab=settings&check_name=" + strings.Repeat("a", 257), "invalid parameter check_name: longer than 256 bytes"},
		{"tab=packages&app_name=a&app_name=b", "invalid parameter app_name: given more than once"},
		{"tab=passwords&user_name=a%00", "invalid parameter user_name: contains a NUL character"},
		{"tab=malware&file_name=%ff", "invalid parameter file_name: not valid UTF-8"},
		{"tab=sensitive&severity=High", "invalid parameter severity: must be critical, high, medium or low"},
		{"tab=sensitive&handle_status=done", "invalid parameter handle_status: must be unhandled or handled"},
		{"type=os", "invalid parameter type: must be linux_vul or app_vul"},
		{"repair_necessity=now", "invalid parameter repair_necessity: must be immediate_repair, delay_repair or not_needed_repair"},
		{"handle_status=done", "invalid parameter handle_status: must be unhandled or handled"},
	} {
		resp, body := e.do("GET", self+"?"+tc.query, nil, alice)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.msg) {
			t.Errorf("%.60s: %s, want 400 %q", tc.query, resp.Status, tc.msg)
		}
	}

	// Another project's image, or one of an enterprise project not
	// granted: 404 with or without filters.
	bob, _ := e.signIn("bob")
	eve, _ := e.signIn("eve")
	for _, who := range []struct {
		name   string
		cookie *http.Cookie
	}{{"bob (project B)", bob}, {"eve (granted ep1)", eve}} {
		for _, q := range []string{"tab=settings&result_type=failed", "tab=packages&app_name=ssl", "tab=passwords&user_name=root",
			"tab=malware&file_name=miner", "tab=sensitive&" + url.Values{"file_path": {"/app"}}.Encode()} {
			if resp, body := e.do("GET", self+"?"+q, nil, who.cookie); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "miner.sh") {
				t.Errorf("%s, %s: %s", who.name, q, resp.Status)
			}
		}
	}
}
