package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// saveScan stores a successful scan of row's manifest (digest index n of
// newEnv) through the store's scan write, as the scan service does.
func (e *env) saveScan(n int, sb scanresult.SBOM, fs []scanresult.Finding) string {
	e.t.Helper()
	sb.Digest, sb.ScannedAt = fmt.Sprintf("sha256:%064x", n), 1700000000000
	if err := e.st.SaveScan(context.Background(), sb, fs, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt,
		VulNum: scanresult.DistinctVulns(fs)}); err != nil {
		e.t.Fatal(err)
	}
	return sb.Digest
}

// TestDetailVulnFilters: the Vulnerabilities tab's severity and fixable
// filters are a GET form whose state is the URL; its total is the total
// of the store call the API's vulnerabilities route makes with them, and
// the pager keeps them.
func TestDetailVulnFilters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sb := scanresult.SBOM{Layers: []string{"sha256:" + strings.Repeat("1", 64)}, Packages: []scanresult.Package{
		{Name: "golang.org/x/text", Version: "v0.3.7", Ecosystem: "Go", Type: "go-module", Path: "/app"},
		{Name: "openssl", Version: "3.0.11-1", Ecosystem: "Debian:12", Type: "dpkg", Path: "/var/lib/dpkg/status"}}}
	fs := []scanresult.Finding{
		{Package: 1, VulnID: "DEBIAN-CVE-2023-1", RepairNecessity: "delay_repair", Severity: "important", Aliases: []string{}},
		{Package: 1, VulnID: "DEBIAN-CVE-2023-2", RepairNecessity: "not_needed_repair", Severity: "unimportant", Aliases: []string{}},
		{Package: 0, VulnID: "GO-NOFIX", RepairNecessity: "delay_repair", Severity: "MEDIUM", Aliases: []string{}},
	}
	for i := range 60 { // more high and fixable than one page
		fs = append(fs, scanresult.Finding{Package: 0, VulnID: fmt.Sprintf("GO-2099-%04d", i), RepairNecessity: "immediate_repair",
			Severity: "HIGH", FixedVersion: "v0.3.8", Aliases: []string{}})
	}
	digest := e.saveScan(1, sb, fs)
	alice, _ := e.signIn("alice")
	self := fmt.Sprintf("/images/%d", e.rows["a1"])
	yes, no := true, false
	for _, tc := range []struct {
		query  string
		f      scanresult.VulnFilter
		want   []string
		absent []string
	}{
		{"", scanresult.VulnFilter{}, []string{"GO-2099-0000", `rel="next"`}, []string{"Clear filters"}},
		// A distribution's "important" is high: after the 60 to repair
		// immediately, on the second page.
		{"severity=high&offset=50", scanresult.VulnFilter{SeverityClass: "high", Offset: 50}, []string{"DEBIAN-CVE-2023-1"},
			[]string{"GO-NOFIX", `rel="next"`}},
		{"severity=high", scanresult.VulnFilter{SeverityClass: "high"}, []string{"GO-2099-0001",
			`<option value="high" selected>`, "Clear filters", `href="` + self + `?offset=50&amp;severity=high"`}, []string{"GO-NOFIX", "DEBIAN-CVE-2023-2"}},
		{"severity=low", scanresult.VulnFilter{SeverityClass: "low"}, []string{"DEBIAN-CVE-2023-2"}, []string{"GO-2099", "GO-NOFIX", `rel="next"`}},
		{"fixable=no", scanresult.VulnFilter{Fixable: &no}, []string{"GO-NOFIX", "DEBIAN-CVE-2023-1", `<option value="no" selected>`},
			[]string{"GO-2099"}},
		{"severity=medium&fixable=yes", scanresult.VulnFilter{SeverityClass: "medium", Fixable: &yes},
			[]string{"No vulnerability matches the filters."}, []string{"GO-NOFIX"}},
		{"severity=high&fixable=yes&offset=50", scanresult.VulnFilter{SeverityClass: "high", Fixable: &yes, Offset: 50},
			[]string{"GO-2099-0059", `rel="prev"`, `href="` + self + `?fixable=yes&amp;severity=high"`}, []string{"GO-2099-0001<"}},
	} {
		resp, body := e.do("GET", self+"?"+tc.query, nil, alice)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", tc.query, resp.Status)
			continue
		}
		checkHeaders(t, tc.query, resp)
		f := tc.f
		f.Digest = digest
		total, _, err := e.st.ListVulns(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if got := section(body, "vuln-total"); !strings.HasPrefix(got, fmt.Sprintf(`id="vuln-total">%d<`, total)) {
			t.Errorf("%s: total %.40q, want the API's %d", tc.query, got, total)
		}
		checkShows(t, tc.query, body, tc.want, tc.absent)
	}
	for _, q := range []string{"severity=HIGH", "severity=important", "fixable=true"} {
		if resp, body := e.do("GET", self+"?"+q, nil, alice); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid parameter") {
			t.Errorf("%s: %s, want 400 with the reason", q, resp.Status)
		}
	}
}

// TestDetailLayers: the Layers tab lists each layer of the scanned
// manifest with its history step and size, and the packages and
// findings whose package it last wrote; an inventory stored without the
// history says so instead of guessing.
func TestDetailLayers(t *testing.T) {
	e := newEnv(t)
	l := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	sb := scanresult.SBOM{Layers: []string{l("1"), l("2"), l("3")},
		History: []scanresult.LayerHistory{{Size: 3 << 20, CreatedBy: "/bin/sh -c #(nop) ADD file:base in / "},
			{Size: 2048, CreatedBy: "RUN apt-get install -y openssl <script>alert(1)</script>"},
			{Size: 5 << 20, CreatedBy: "COPY app /usr/local/bin/app # buildkit"}},
		Packages: []scanresult.Package{
			{Name: "openssl", Version: "3.0.11-1", Ecosystem: "Debian:12", Type: "dpkg", Path: "/var/lib/dpkg/status", LayerDigest: l("2")},
			{Name: "golang.org/x/text", Version: "v0.3.7", Ecosystem: "Go", Type: "go-module", Path: "/usr/local/bin/app", LayerDigest: l("3")},
			{Name: "stdlib", Version: "go1.22.0", Ecosystem: "Go", Type: "go-stdlib", Path: "/usr/local/bin/app", LayerDigest: l("3")}}}
	fs := []scanresult.Finding{
		{Package: 1, VulnID: "GO-2022-1059", RepairNecessity: "immediate_repair", Severity: "HIGH", FixedVersion: "v0.3.8",
			URL: "https://pkg.go.dev/vuln/GO-2022-1059", Aliases: []string{"CVE-2022-32149"}},
		{Package: 0, VulnID: "DEBIAN-CVE-2023-5678", RepairNecessity: "delay_repair", Severity: "medium", Aliases: []string{}},
	}
	e.saveScan(1, sb, fs)
	// a2 was scanned before the history was recorded: its inventory has
	// none.
	old := sb
	old.History = nil
	e.saveScan(2, old, fs)

	alice, _ := e.signIn("alice")
	resp, body := e.do("GET", fmt.Sprintf("/images/%d?tab=layers", e.rows["a1"]), nil, alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("layers: %s", resp.Status)
	}
	checkHeaders(t, "layers", resp)
	for _, tc := range []struct {
		row          string
		want, absent []string
	}{
		{"layer-1", []string{"ADD file:base in /", "3.0 MiB", "none"}, []string{"GO-2022-1059", "openssl"}},
		{"layer-2", []string{"RUN apt-get install -y openssl &lt;script&gt;", "DEBIAN-CVE-2023-5678", "openssl 3.0.11-1", "1 package<"},
			[]string{"GO-2022-1059", "<script>"}},
		{"layer-3", []string{"COPY app /usr/local/bin/app # buildkit", "5.0 MiB", `href="https://pkg.go.dev/vuln/GO-2022-1059"`,
			"golang.org/x/text v0.3.7", "2 packages<", "stdlib"}, []string{"DEBIAN-CVE", "openssl"}},
	} {
		got := section(body, tc.row)
		if got == "" {
			t.Errorf("no %s:\n%s", tc.row, body)
			continue
		}
		checkShows(t, tc.row, got, tc.want, tc.absent)
	}
	// A scan with history has no warning and no cell without its step or
	// size (a2's below has both).
	if strings.Contains(body, `id="layers-not-recorded"`) || strings.Contains(body, "not recorded, rescan") {
		t.Errorf("a scan with history says not recorded:\n%s", body)
	}
	// Each layer links to its packages and findings: the other tabs with
	// the layer filter, the store's filter the totals come from.
	self := fmt.Sprintf("/images/%d", e.rows["a1"])
	pkgLink := self + "?tab=packages&amp;layer=" + strings.ReplaceAll(l("3"), ":", "%3a")
	if !strings.Contains(section(body, "layer-3"), `href="`+pkgLink+`"`) {
		t.Errorf("layer-3 lacks the link %s:\n%s", pkgLink, section(body, "layer-3"))
	}
	for _, tc := range []struct {
		query        string
		total        int64
		want, absent []string
	}{
		{"tab=packages&layer=" + l("3"), 2, []string{`<td class="pkg">golang.org/x/text</td>`, `<td class="pkg">stdlib</td>`, `id="layer-filter"`},
			[]string{`<td class="pkg">openssl</td>`}},
		{"tab=packages&layer=" + l("1"), 0, []string{"No package in this layer."}, []string{`<td class="pkg">`}},
		{"layer=" + l("2"), 1, []string{"DEBIAN-CVE-2023-5678", `name="layer" value="` + l("2") + `"`}, []string{"GO-2022-1059"}},
		{"layer=" + l("3") + "&severity=high&offset=0", 1, []string{"GO-2022-1059"}, []string{"DEBIAN-CVE"}},
	} {
		resp, body := e.do("GET", self+"?"+tc.query, nil, alice)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %s", tc.query, resp.Status)
			continue
		}
		if !strings.Contains(body, fmt.Sprintf(`<span class="count">(%d)</span>`, tc.total)) {
			t.Errorf("%s: want total %d", tc.query, tc.total)
		}
		checkShows(t, tc.query, body, tc.want, tc.absent)
	}
	if resp, _ := e.do("GET", self+"?layer="+strings.Repeat("a", 201), nil, alice); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a layer filter of 201 characters: %s, want 400", resp.Status)
	}

	_, body = e.do("GET", fmt.Sprintf("/images/%d?tab=layers", e.rows["a2"]), nil, alice)
	if !strings.Contains(body, `id="layers-not-recorded"`) || strings.Contains(body, "ADD file:base") ||
		!strings.Contains(section(body, "layer-3"), "not recorded, rescan") || !strings.Contains(section(body, "layer-3"), "GO-2022-1059") {
		t.Errorf("an inventory without history:\n%s", body)
	}
	_, body = e.do("GET", fmt.Sprintf("/images/%d?tab=layers", e.rows["a3"]), nil, alice)
	if !strings.Contains(body, `id="layers-none"`) || strings.Contains(body, `id="layer-1"`) {
		t.Errorf("an unscanned image's layers:\n%s", body)
	}
}

// TestDetailScanHistory: the Scan history tab lists the project's scans
// of the row's manifest, newest first, with the failure reasons and a
// success's counts; another project's scans of the same manifest are not
// in it.
func TestDetailScanHistory(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%064x", 1)
	fail := func(project string, r inventory.ScanResult) {
		t.Helper()
		if err := e.st.ClearScan(ctx, project, digest, r); err != nil {
			t.Fatal(err)
		}
	}
	fail(projA, inventory.ScanResult{Status: inventory.DownloadFailed, FailedDesc: "authentication_failed", ScanTime: 1700000000000})
	sb := scanresult.SBOM{Digest: digest, ScannedAt: 1700000600000, Packages: []scanresult.Package{{Name: "x", Version: "1", Ecosystem: "Go", Type: "go-module"}}}
	fs := []scanresult.Finding{{Package: 0, VulnID: "GO-2022-1059", RepairNecessity: "immediate_repair", Severity: "HIGH", Aliases: []string{}}}
	if err := e.st.SaveScopedScan(ctx, projA, scanresult.ScopeAll, sb, fs, scanresult.Analysis{},
		inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt, VulNum: 1}); err != nil {
		t.Fatal(err)
	}
	fail(projB, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "bob_only_reason", ScanTime: 1700000900000})

	alice, _ := e.signIn("alice")
	resp, body := e.do("GET", fmt.Sprintf("/images/%d?tab=history", e.rows["a1"]), nil, alice)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("history: %s", resp.Status)
	}
	checkHeaders(t, "history", resp)
	table := html.UnescapeString(body[strings.Index(body, `id="history"`):])
	success := strings.Index(table, "2023-11-14 22:23 UTC")
	failure := strings.Index(table, "download_failed: authentication_failed")
	if success < 0 || failure < 0 || success > failure || !strings.Contains(table, "<td>1</td><td>High</td>") {
		t.Errorf("history, newest first with counts and reasons:\n%s", table)
	}
	if strings.Contains(body, "bob_only_reason") {
		t.Errorf("alice sees project B's scan of the same manifest")
	}
	_, body = e.do("GET", fmt.Sprintf("/images/%d?tab=history", e.rows["a2"]), nil, alice)
	if !strings.Contains(body, "No scan recorded") {
		t.Errorf("a row never scanned:\n%s", body)
	}
}
