package findingquery_test

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/openhss/openhss/internal/findingquery"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/scanresult"
)

// TestReaders: each reader takes the route's parameters and refuses bad
// values with the API's message; the first error wins.
func TestReaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		read  func(q *imagequery.Reader) any
		want  any
		err   string
	}{
		{"configs", "check_name=SSH&severity=High&standard=hw_standard", func(q *imagequery.Reader) any { return findingquery.RiskConfigs(q) },
			scanresult.RiskConfigFilter{CheckName: "SSH", Severity: "High", Standard: "hw_standard"}, ""},
		{"configs severity", "severity=high", func(q *imagequery.Reader) any { return findingquery.RiskConfigs(q) }, nil,
			"invalid parameter severity: must be Security, Low, Medium, High or Critical"},
		{"configs standard", "standard=x", func(q *imagequery.Reader) any { return findingquery.RiskConfigs(q) }, nil,
			"invalid parameter standard: must be cn_standard or hw_standard"},
		{"rules", "standard=cn_standard&result_type=failed&check_rule_name=root&severity=Low",
			func(q *imagequery.Reader) any { return findingquery.RiskRules(q, true) },
			scanresult.RiskRuleFilter{Standard: "cn_standard", Result: "failed", RuleName: "root", Severity: "Low"}, ""},
		{"rules without standard", "", func(q *imagequery.Reader) any { return findingquery.RiskRules(q, false) }, scanresult.RiskRuleFilter{}, ""},
		{"rules standard required", "result_type=bad", func(q *imagequery.Reader) any { return findingquery.RiskRules(q, true) }, nil,
			"invalid parameter standard: is required (cn_standard or hw_standard)"},
		{"rules result_type", "result_type=bad", func(q *imagequery.Reader) any { return findingquery.RiskRules(q, false) }, nil,
			"invalid parameter result_type: must be pass or failed"},
		{"rules twice", "check_rule_name=a&check_rule_name=b", func(q *imagequery.Reader) any { return findingquery.RiskRules(q, false) }, nil,
			"invalid parameter check_rule_name: given more than once"},
		{"weak passwords", "user_name=root", func(q *imagequery.Reader) any { return findingquery.WeakPasswords(q) },
			scanresult.WeakPasswordFilter{User: "root"}, ""},
		{"apps", "app_name=openssl", func(q *imagequery.Reader) any { return findingquery.Apps(q) }, scanresult.AppFilter{AppName: "openssl"}, ""},
		{"apps NUL", "app_name=a%00", func(q *imagequery.Reader) any { return findingquery.Apps(q) }, nil,
			"invalid parameter app_name: contains a NUL character"},
		{"malware", "file_name=miner", func(q *imagequery.Reader) any { return findingquery.Malware(q) }, findingquery.MalwareFilter{FileName: "miner"}, ""},
		{"sensitive", "file_path=/app&severity=high&handle_status=handled", func(q *imagequery.Reader) any { return findingquery.Sensitive(q) },
			findingquery.SensitiveFilter{FilePath: "/app", Severity: "high", Handled: true}, ""},
		{"sensitive severity", "severity=High", func(q *imagequery.Reader) any { return findingquery.Sensitive(q) }, nil,
			"invalid parameter severity: must be critical, high, medium or low"},
		{"sensitive handle_status", "handle_status=done", func(q *imagequery.Reader) any { return findingquery.Sensitive(q) }, nil,
			"invalid parameter handle_status: must be unhandled or handled"},
		{"vulns", "vul_id=GO-2022&app_name=text&type=app_vul&repair_necessity=immediate_repair&handle_status=unhandled",
			func(q *imagequery.Reader) any { return findingquery.Vulns(q) },
			findingquery.VulnQuery{Filter: scanresult.VulnFilter{VulnID: "GO-2022", AppName: "text", Type: scanresult.AppVul,
				RepairNecessity: "immediate_repair"}}, ""},
		{"vulns handled", "handle_status=handled", func(q *imagequery.Reader) any { return findingquery.Vulns(q) },
			findingquery.VulnQuery{Handled: true}, ""},
		{"vulns repair_necessity", "repair_necessity=now", func(q *imagequery.Reader) any { return findingquery.Vulns(q) }, nil,
			"invalid parameter repair_necessity: must be immediate_repair, delay_repair or not_needed_repair"},
		{"vulns type", "type=os", func(q *imagequery.Reader) any { return findingquery.Vulns(q) }, nil,
			"invalid parameter type: must be linux_vul or app_vul"},
		{"vulns handle_status", "handle_status=done", func(q *imagequery.Reader) any { return findingquery.Vulns(q) }, nil,
			"invalid parameter handle_status: must be unhandled or handled"},
		{"first error wins", "file_path=a&file_path=b&severity=bad", func(q *imagequery.Reader) any { return findingquery.Sensitive(q) }, nil,
			"invalid parameter file_path: given more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			q := &imagequery.Reader{V: v}
			got := tc.read(q)
			switch {
			case tc.err != "":
				if q.Err == nil || q.Err.Error() != tc.err {
					t.Errorf("error %v, want %q", q.Err, tc.err)
				}
			case q.Err != nil:
				t.Errorf("error %v", q.Err)
			case !reflect.DeepEqual(got, tc.want):
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestMatch: the in-memory filters select as the routes always did.
func TestMatch(t *testing.T) {
	m := scanresult.Malware{FileName: "miner.sh"}
	for _, tc := range []struct {
		f    findingquery.MalwareFilter
		want bool
	}{{findingquery.MalwareFilter{}, true}, {findingquery.MalwareFilter{FileName: "mine"}, true}, {findingquery.MalwareFilter{FileName: "x"}, false}} {
		if got := tc.f.Match(m); got != tc.want {
			t.Errorf("%+v.Match(%+v) = %v", tc.f, m, got)
		}
	}
	s := scanresult.Secret{FilePath: "/app/.env", Severity: "high"}
	for _, tc := range []struct {
		f    findingquery.SensitiveFilter
		want bool
	}{
		{findingquery.SensitiveFilter{}, true},
		{findingquery.SensitiveFilter{FilePath: "/app", Severity: "high"}, true},
		{findingquery.SensitiveFilter{FilePath: "/etc"}, false},
		{findingquery.SensitiveFilter{Severity: "low"}, false},
		{findingquery.SensitiveFilter{Handled: true}, false},
	} {
		if got := tc.f.Match(s); got != tc.want {
			t.Errorf("%+v.Match(%+v) = %v", tc.f, s, got)
		}
	}
}
