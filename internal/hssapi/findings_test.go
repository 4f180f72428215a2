package hssapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// TestFindingAPIs stores an analysis for m1 (library/nginx:1.25 in project
// A) and reads it through the baseline, weak-password, malware, sensitive
// and statistics APIs.
func TestFindingAPIs(t *testing.T) {
	e := newEnv(t, func(c *hssapi.Config) {
		c.ScanResults = c.Store.(hssapi.ScanReader)
		c.Findings = c.Store.(hssapi.FindingReader)
	})
	ctx := context.Background()
	a := scanresult.Analysis{
		Baseline: []scanresult.BaselineResult{
			{RuleID: "account.weak-password", Name: "Weak password", CheckName: "os_accounts", CheckType: "os_accounts", Severity: "High", Standard: "cn_standard"},
			{RuleID: "account.uid0", Name: "Extra superuser", CheckName: "os_accounts", CheckType: "os_accounts", Severity: "High", Standard: "cn_standard", Passed: true},
			{RuleID: "config.runs-as-root", Name: "Runs as root", CheckName: "image_config", CheckType: "image_config", Severity: "Medium", Standard: "hw_standard"},
			{RuleID: "config.healthcheck", Name: "No HEALTHCHECK", CheckName: "image_config", CheckType: "image_config", Severity: "Low", Standard: "hw_standard", Passed: true},
		},
		WeakPasswords: []scanresult.WeakPassword{{User: "root", Type: "weak_password", Path: "/etc/shadow", UserType: "root"}},
		Malware:       []scanresult.Malware{{FileName: "eicar.com", FilePath: "/opt/x/eicar.com", Size: 68, Rule: "eicar-test-file", Description: "EICAR test file"}},
		Secrets: []scanresult.Secret{{ID: "s1", RuleID: "aws-access-token", Severity: "high", Name: "AWS access token",
			FilePath: "/srv/app/config.env", Line: 1, LayerDigest: digest("l2"), Content: "AKIA…(20)"}},
	}
	r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: base, UnsafeSettingNum: a.FailedRules(), MaliciousFileNum: 1}
	if err := e.store.SaveScopedScan(ctx, "", scanresult.ScopeAll, scanresult.SBOM{Digest: digest("m1")}, nil, a, r); err != nil {
		t.Fatal(err)
	}
	hexID := strings.TrimPrefix(digest("m1"), "sha256:")
	get := func(target string) result {
		t.Helper()
		r := e.do(t, reqSpec{Target: target})
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", target, r.Status, r.Raw)
		}
		return r
	}
	total := func(r result) int {
		n, _ := r.JSON["total_num"].(json.Number).Int64()
		return int(n)
	}
	v5 := "/v5/" + projA + "/image/"

	rc := get(v5 + "baseline/risk-configs?image_type=private_image&image_id=" + hexID)
	if total(rc) != 2 {
		t.Fatalf("risk-configs: %s", rc.Raw)
	}
	first := rc.JSON["data_list"].([]any)[0].(map[string]any)
	if first["check_name"] != "image_config" || first["check_rule_num"].(json.Number).String() != "2" ||
		first["failed_rule_num"].(json.Number).String() != "1" || first["severity"] != "Medium" || first["standard"] != "hw_standard" || len(first) != 7 {
		t.Fatalf("risk-config image_config = %v", first)
	}
	if n := total(get(v5 + "baseline/risk-configs?image_type=private_image&standard=cn_standard")); n != 1 {
		t.Fatalf("standard filter over the project: %d", n)
	}
	rules := get(v5 + "baseline/risk-configs/os_accounts/rules?image_type=private_image&standard=cn_standard&image_id=" + hexID)
	if total(rules) != 2 {
		t.Fatalf("rules: %s", rules.Raw)
	}
	if n := total(get(v5 + "baseline/risk-configs/os_accounts/rules?image_type=private_image&standard=cn_standard&result_type=failed")); n != 1 {
		t.Fatalf("result_type=failed: %d", n)
	}
	wantError(t, e.do(t, reqSpec{Target: v5 + "baseline/risk-configs/os_accounts/rules?image_type=private_image"}), http.StatusBadRequest, "HSS.0001")

	wp := get(v5 + "baseline/weak-password-users?image_type=private_image")
	row := wp.JSON["data_list"].([]any)[0].(map[string]any)
	if total(wp) != 1 || row["user_name"] != "root" || row["image_name"] != "nginx" || row["image_id"] != hexID || len(row) != 11 {
		t.Fatalf("weak-password-users: %s", wp.Raw)
	}
	if n := total(get(v5 + "baseline/weak-password-users?image_type=private_image&user_name=nobody")); n != 0 {
		t.Fatalf("user_name filter: %d", n)
	}

	mw := get(v5 + hexID + "/malwares?image_type=private_image")
	m := mw.JSON["data_list"].([]any)[0].(map[string]any)
	if total(mw) != 1 || m["file_path"] != "/opt/x/eicar.com" || m["size"].(json.Number).String() != "68" || len(m) != 4 {
		t.Fatalf("malwares: %s", mw.Raw)
	}
	sens := get(v5 + hexID + "/sensitive?image_type=private_image&severity=high")
	s := sens.JSON["data_list"].([]any)[0].(map[string]any)
	if total(sens) != 1 || s["content"] != "AKIA…(20)" || s["position"] != digest("l2") || s["handle_status"] != "unhandled" || len(s) != 10 {
		t.Fatalf("sensitive: %s", sens.Raw)
	}
	if n := total(get(v5 + hexID + "/sensitive?image_type=private_image&severity=low")); n != 0 {
		t.Fatalf("severity filter: %d", n)
	}
	wantError(t, e.do(t, reqSpec{Target: v5 + hexID + "/sensitive?image_type=private_image&severity=High"}), http.StatusBadRequest, "HSS.0001")
	wantError(t, e.do(t, reqSpec{Target: v5 + strings.Repeat("0", 64) + "/malwares?image_type=private_image"}), http.StatusNotFound, "HSS.0011")
	wantError(t, e.do(t, reqSpec{Target: v5 + "baseline/risk-configs?image_type=private_image&image_id=" + strings.Repeat("0", 64)}), http.StatusNotFound, "HSS.0011")

	// Project B sees none of project A's findings.
	other := "/v5/" + projB + "/image/"
	wantError(t, e.do(t, reqSpec{Target: other + hexID + "/malwares?image_type=private_image", AK: e.akB, SK: e.skB}), http.StatusNotFound, "HSS.0011")
	wantError(t, e.do(t, reqSpec{Target: other + hexID + "/sensitive?image_type=private_image", AK: e.akB, SK: e.skB}), http.StatusNotFound, "HSS.0011")
	rb := e.do(t, reqSpec{Target: other + "baseline/weak-password-users?image_type=private_image", AK: e.akB, SK: e.skB})
	if rb.Status != http.StatusOK || total(rb) != 0 {
		t.Fatalf("project B weak-password-users: %d %s", rb.Status, rb.Raw)
	}

	st := get(v5 + "asset/statistics")
	if n, _ := st.JSON["registry_num"].(json.Number).Int64(); n == 0 || len(st.JSON) != 3 {
		t.Fatalf("statistics: %s", st.Raw)
	}
}

// TestMalwareSizeFitsSDK: the SDK decodes size as an int32 and fails the
// whole page on a bigger number (jsoniter "ReadInt32: overflow"), so a
// file of 2 GiB or more is reported with the int32 maximum.
func TestMalwareSizeFitsSDK(t *testing.T) {
	e := newEnv(t, func(c *hssapi.Config) {
		c.ScanResults = c.Store.(hssapi.ScanReader)
		c.Findings = c.Store.(hssapi.FindingReader)
	})
	a := scanresult.Analysis{Malware: []scanresult.Malware{
		{FileName: "big.bin", FilePath: "/data/big.bin", Size: 3 << 30, Rule: "signature", Description: "known malware"},
		{FileName: "small.sh", FilePath: "/data/small.sh", Size: 1 << 20, Rule: "signature", Description: "known malware"},
	}}
	r := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: base, MaliciousFileNum: 2}
	if err := e.store.SaveScopedScan(context.Background(), "", scanresult.ScopeAll, scanresult.SBOM{Digest: digest("m2")}, nil, a, r); err != nil {
		t.Fatal(err)
	}
	res := e.do(t, reqSpec{Target: "/v5/" + projA + "/image/" + strings.TrimPrefix(digest("m2"), "sha256:") + "/malwares?image_type=private_image"})
	if res.Status != http.StatusOK {
		t.Fatalf("malwares: %d %s", res.Status, res.Raw)
	}
	sizes := map[string]string{}
	for _, x := range res.JSON["data_list"].([]any) {
		m := x.(map[string]any)
		sizes[m["file_path"].(string)] = m["size"].(json.Number).String()
	}
	if sizes["/data/big.bin"] != "2147483647" || sizes["/data/small.sh"] != "1048576" {
		t.Fatalf("sizes = %v, want the int32 maximum for the 3 GiB file and the exact size of the other", sizes)
	}
}
