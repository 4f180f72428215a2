package console_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// TestDetailTabs: the image detail's tabs show what the API's apps, SBOM
// and findings routes read for the row: packages and both SBOM documents,
// weak passwords as the API's mask, malicious files, sensitive
// information as stored (masked) with the sensitive-path whitelist
// applied.
func TestDetailTabs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%064x", 1) // row a1
	sb := scanresult.SBOM{Digest: digest, ScannedAt: 1700000000000, Packages: []scanresult.Package{
		{Name: "golang.org/x/text", Version: "0.3.7", Ecosystem: "Go", Type: "go-module", Path: "/app/bin"}}}
	a := scanresult.Analysis{
		WeakPasswords: []scanresult.WeakPassword{{User: "operator", Type: "weak_password", Path: "/etc/shadow", UserType: "user"}},
		Malware:       []scanresult.Malware{{FileName: "miner.sh", FilePath: "/tmp/miner.sh", Size: 10, Rule: "coinminer", Description: "a miner"}},
		Secrets: []scanresult.Secret{
			{ID: "s1", RuleID: "aws", Severity: "high", Name: "AWS key", FilePath: "/app/.env", Line: 3, Content: "AKIA************(20)"},
			{ID: "s2", RuleID: "pem", Severity: "high", Name: "Private key", FilePath: "/hidden/key.pem", Line: 1, Content: "-----BEGIN****(1200)"},
		},
	}
	if err := e.st.SaveAnalyzedScan(ctx, sb, nil, a, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetSensitivePathWhitelist(ctx, projA, []string{"/hidden"}); err != nil {
		t.Fatal(err)
	}
	alice, _ := e.signIn("alice")
	self := fmt.Sprintf("/images/%d", e.rows["a1"])
	for _, tc := range []struct {
		tab          string
		want, absent []string
	}{
		{"packages", []string{`<td class="pkg">golang.org/x/text</td>`, "0.3.7", self + "/sbom?format=cyclonedx", self + "/sbom?format=spdx"}, nil},
		{"passwords", []string{"operator", scanresult.WeakPasswordMask}, nil},
		{"malware", []string{"miner.sh", "/tmp/miner.sh", "coinminer"}, nil},
		{"sensitive", []string{"AWS key", "/app/.env:3", "AKIA************(20)"}, []string{"/hidden/key.pem", "BEGIN"}},
		{"settings", []string{`id="settings"`}, nil},
	} {
		resp, body := e.do("GET", self+"?tab="+tc.tab, nil, alice)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("tab %s: %s", tc.tab, resp.Status)
			continue
		}
		checkHeaders(t, tc.tab, resp)
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("tab %s lacks %q", tc.tab, w)
			}
		}
		for _, w := range tc.absent {
			if strings.Contains(body, w) {
				t.Errorf("tab %s shows %q (whitelisted)", tc.tab, w)
			}
		}
	}
	for _, tc := range []struct{ format, ctype, field string }{
		{"cyclonedx", "application/vnd.cyclonedx+json", `"bomFormat": "CycloneDX"`},
		{"spdx", "application/spdx+json", `"spdxVersion": "SPDX-2.3"`},
	} {
		resp, body := e.do("GET", self+"/sbom?format="+tc.format, nil, alice)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.ctype ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("sbom %s: %s %q %q", tc.format, resp.Status, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
		}
		// The API's encoder over the stored SBOM.
		if !strings.Contains(body, "golang.org/x/text") || !strings.Contains(strings.ReplaceAll(body, " ", ""), strings.ReplaceAll(tc.field, " ", "")) {
			t.Errorf("sbom %s:\n%.400s", tc.format, body)
		}
	}
	// A row never scanned has no SBOM: 404 with a reason, not an empty file.
	if resp, _ := e.do("GET", fmt.Sprintf("/images/%d/sbom", e.rows["a2"]), nil, alice); resp.StatusCode != http.StatusNotFound {
		t.Errorf("sbom of an unscanned row: %s", resp.Status)
	}
	if resp, _ := e.do("GET", self+"/sbom?format=xml", nil, alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("sbom format=xml: %s", resp.Status)
	}
	if resp, _ := e.do("GET", self+"?tab=nope", nil, alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("tab=nope: %s", resp.Status)
	}
}
