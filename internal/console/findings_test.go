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
	if err := e.st.SaveScopedScan(ctx, "", scanresult.ScopeAll, sb, nil, a, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt}); err != nil {
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
		checkShows(t, "tab "+tc.tab, body, tc.want, tc.absent)
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

// TestOverviewTopLists: the overview's top 5 images (most urgent first)
// and top 5 vulnerabilities (by id, aliases beside) show the session's
// project within its granted enterprise projects only; with nothing
// found they say so.
func TestOverviewTopLists(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	_, body := e.do("GET", "/", nil, alice)
	for _, w := range []string{`id="top-images-empty"`, `id="top-vulns-empty"`} {
		if !strings.Contains(body, w) {
			t.Errorf("overview before any scan lacks %s:\n%s", w, body)
		}
	}
	f := func(id, severity string, aliases ...string) scanresult.Finding {
		if aliases == nil {
			aliases = []string{}
		}
		// The row's severity_level follows the repair necessity.
		necessity := map[string]string{"HIGH": "immediate_repair", "MEDIUM": "delay_repair", "LOW": "not_needed_repair"}[severity]
		return scanresult.Finding{Package: 0, VulnID: id, RepairNecessity: necessity, Severity: severity, Aliases: aliases}
	}
	for _, s := range []struct {
		row      int // the digest's index in newEnv
		findings []scanresult.Finding
	}{
		{1, []scanresult.Finding{f("GO-2022-1059", "HIGH", "CVE-2022-32149", "GHSA-69ch-w2m2-3vjp")}},       // a1 team/web
		{2, []scanresult.Finding{f("DEBIAN-CVE-2023-1", "LOW"), f("DEBIAN-CVE-2023-2", "LOW")}},             // a2 team/api
		{4, []scanresult.Finding{f("GO-EP1-ONLY", "MEDIUM")}},                                               // ep1 team/ep1-app
		{5, []scanresult.Finding{f("GO-BOB-SECRET", "HIGH"), f("GO-BOB-2", "HIGH"), f("GO-BOB-3", "HIGH")}}, // b1 of projB
	} {
		d := fmt.Sprintf("sha256:%064x", s.row)
		sb := scanresult.SBOM{Digest: d, ScannedAt: 1700000000000, Packages: []scanresult.Package{
			{Name: "golang.org/x/text", Version: "0.3.7", Ecosystem: "Go", Type: "go-module", Path: "/app/bin"}}}
		if err := e.st.SaveScan(ctx, sb, s.findings, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt,
			VulNum: scanresult.DistinctVulns(s.findings)}); err != nil {
			t.Fatal(err)
		}
	}
	bob, _ := e.signIn("bob")
	eve, _ := e.signIn("eve")
	for _, tc := range []struct {
		who    string
		cookie *http.Cookie
		want   []string // in this order
		absent []string
	}{
		{"alice", alice, []string{`team/web:1.0</a></td><td class="sev-high">High</td><td>1</td>`, `team/ep1-app:1.0</a></td><td class="sev-medium">Medium</td>`,
			`team/api:1.0</a></td><td class="sev-low">Low</td><td>2</td>`,
			`<td>GO-2022-1059</td><td>CVE-2022-32149, GHSA-69ch-w2m2-3vjp</td><td>HIGH</td><td>1</td>`, "GO-EP1-ONLY"},
			[]string{"b-secret", "GO-BOB", "top-images-empty", "top-vulns-empty"}},
		{"eve (granted ep1)", eve, []string{"team/ep1-app:1.0", "<td>GO-EP1-ONLY</td>"},
			[]string{"team/web", "team/api", "GO-2022-1059", "DEBIAN-CVE", "b-secret", "GO-BOB"}},
		{"bob", bob, []string{"b-secret:1.0", "<td>GO-BOB-2</td>", "<td>GO-BOB-3</td>", "<td>GO-BOB-SECRET</td>"},
			[]string{"team/web", "ep1-app", "GO-2022-1059", "GO-EP1-ONLY"}},
	} {
		_, body := e.do("GET", "/", nil, tc.cookie)
		at := 0
		for _, w := range tc.want {
			i := strings.Index(body[at:], w)
			if i < 0 {
				t.Errorf("%s's overview lacks %q after offset %d:\n%s", tc.who, w, at, body)
				break
			}
			at += i + len(w)
		}
		for _, a := range tc.absent {
			if strings.Contains(body, a) {
				t.Errorf("%s's overview shows %q", tc.who, a)
			}
		}
	}
}
