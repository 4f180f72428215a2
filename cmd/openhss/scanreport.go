package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// scanReport is what `scan --wait` prints of one image: its row's counts
// and its vulnerabilities, each an item of ListImageVulnerabilities.
type scanReport struct {
	ID               int64      `json:"id"`
	Image            string     `json:"image"`
	ImageType        string     `json:"image_type"`
	Digest           string     `json:"image_digest"`
	ScanStatus       string     `json:"scan_status"`
	ScanFailedDesc   string     `json:"scan_failed_desc"`
	VulNum           int32      `json:"vul_num"`
	UnsafeSettingNum int32      `json:"unsafe_setting_num"`
	MaliciousFileNum int32      `json:"malicious_file_num"`
	Vulnerabilities  []scanVuln `json:"vulnerabilities"`
}

// scanVuln is the API's item plus the severity the table and --fail-on
// use: HSS's item has only repair_necessity, too coarse for a gate.
type scanVuln struct {
	hssapi.ImageVulInfo
	Severity severity `json:"severity"`
}

// readReports rereads each image after its scan, and the vulnerabilities of
// those whose scan succeeded, through the store query the
// ListImageVulnerabilities route runs.
func readReports(ctx context.Context, a *app, project string, images []inventory.Image) ([]scanReport, error) {
	out := make([]scanReport, 0, len(images))
	for _, img := range images {
		now, err := a.store.GetImage(ctx, project, img.ID)
		if err != nil {
			return nil, err
		}
		r := scanReport{ID: now.ID, Image: imageRef(now), ImageType: string(now.Type), Digest: now.Digest,
			ScanStatus: string(now.ScanStatus), ScanFailedDesc: now.ScanFailedDesc, VulNum: now.VulNum,
			UnsafeSettingNum: now.UnsafeSettingNum, MaliciousFileNum: now.MaliciousFileNum,
			Vulnerabilities: []scanVuln{}}
		if now.ScanStatus == inventory.ScanSuccess {
			d := hssapi.ScannedDigest(now)
			_, rows, err := a.store.ListVulns(ctx, scanresult.VulnFilter{Digest: d}) // no Limit: every row
			if err != nil {
				return nil, fmt.Errorf("vulnerabilities of %s: %w", d, err)
			}
			for _, v := range rows {
				r.Vulnerabilities = append(r.Vulnerabilities, scanVuln{ImageVulInfo: hssapi.VulInfo(v), Severity: severityOf(v.Severity)})
			}
			sortVulns(r.Vulnerabilities)
		}
		out = append(out, r)
	}
	return out, nil
}

// sortVulns orders the most severe first, then by id, package and path.
func sortVulns(vs []scanVuln) {
	slices.SortStableFunc(vs, func(a, b scanVuln) int {
		return cmp.Or(-cmp.Compare(a.Severity.rank(), b.Severity.rank()),
			cmp.Compare(a.VulID, b.VulID), cmp.Compare(a.AppName, b.AppName), cmp.Compare(a.AppPath, b.AppPath))
	})
}

func printReports(w io.Writer, reports []scanReport) error {
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s, id %d, %.19s): %s", r.Image, r.ImageType, r.ID, r.Digest, r.ScanStatus)
		if r.ScanFailedDesc != "" {
			fmt.Fprintf(w, " (%s)", r.ScanFailedDesc)
		}
		fmt.Fprintf(w, "\n  vul_num %d, unsafe_setting_num %d, malicious_file_num %d\n", r.VulNum, r.UnsafeSettingNum, r.MaliciousFileNum)
		if len(r.Vulnerabilities) == 0 {
			continue
		}
		if err := printVulnTable(w, "  ", false, []scanReport{r}); err != nil {
			return err
		}
	}
	return nil
}

// printVulnTable prints the vulnerabilities of reports, with an IMAGE
// column when withImage.
func printVulnTable(w io.Writer, indent string, withImage bool, reports []scanReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "VUL_ID\tPACKAGE\tINSTALLED\tFIXED\tSEVERITY\tPATH"
	if withImage {
		head = "IMAGE\t" + head
	}
	fmt.Fprintln(tw, indent+head)
	for _, r := range reports {
		for _, v := range r.Vulnerabilities {
			line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", v.VulID, v.AppName, v.Version, orDash(v.Solution), v.Severity, v.AppPath)
			if withImage {
				line = r.Image + "\t" + line
			}
			fmt.Fprintln(tw, indent+line)
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// severity is a finding's severity as the CLI shows and gates on it.
type severity string

const (
	sevCritical severity = scanresult.ClassCritical
	sevHigh     severity = scanresult.ClassHigh
	sevMedium   severity = scanresult.ClassMedium
	sevLow      severity = scanresult.ClassLow
	sevUnknown  severity = scanresult.ClassUnknown
)

// severityOf is the level of a stored label (vulndb.Rate: a CVSS rating,
// a distribution's word, or "unknown"): its class in the console's
// classification (scanresult.ClassOfSeverity), so that the CLI's table and
// gate and the console's severity filter agree on every label.
func severityOf(label string) severity {
	return severity(scanresult.ClassOfSeverity(label))
}

// rank orders severities for sorting and for --fail-on. An unrated
// finding ranks as medium, just as its repair_necessity is delay_repair
// (vulndb.Rate): not ignored by a gate, nor raised to an emergency. Go's
// vulnerability database rates none of its records, so ranking unknown
// lowest (as Trivy and Grype do) would let every Go finding through.
func (s severity) rank() int {
	switch s {
	case sevCritical:
		return 40
	case sevHigh:
		return 30
	case sevMedium:
		return 21
	case sevUnknown:
		return 20 // after medium in the table, equal to it for --fail-on
	case sevLow:
		return 10
	}
	return 0
}

// gateRank is the rank --fail-on compares: unknown counts as medium.
func (s severity) gateRank() int {
	if s == sevUnknown {
		return sevMedium.rank()
	}
	return s.rank()
}

func parseSeverity(s string) (severity, error) {
	switch v := severity(strings.ToLower(strings.TrimSpace(s))); v {
	case sevCritical, sevHigh, sevMedium, sevLow:
		return v, nil
	}
	return "", fmt.Errorf("%q: want critical, high, medium or low", s)
}

// policyError is a --fail-on gate that found blocking vulnerabilities:
// exit status 1, where every other error is 2 (see exitCode).
type policyError struct {
	vulns, images int
	threshold     severity
	ignoreUnfixed bool
}

func (e *policyError) Error() string {
	fixed := ""
	if e.ignoreUnfixed {
		fixed = " with a fixed version"
	}
	return fmt.Sprintf("policy failed: %d vulnerabilities%s at or above %s in %d images",
		e.vulns, fixed, strings.ToUpper(string(e.threshold)), e.images)
}

// policy is the --fail-on gate.
type policy struct {
	threshold     severity
	ignoreUnfixed bool
}

// blocks says whether v fails the policy.
func (p policy) blocks(v scanVuln) bool {
	if p.ignoreUnfixed && v.Solution == "" {
		return false
	}
	return v.Severity.gateRank() >= p.threshold.gateRank()
}

// blocking keeps, per report, the vulnerabilities that fail the policy,
// dropping reports without any; n counts distinct vulnerability ids per
// image, as vul_num does.
func (p policy) blocking(reports []scanReport) (out []scanReport, n int) {
	for _, r := range reports {
		var vs []scanVuln
		ids := map[string]bool{}
		for _, v := range r.Vulnerabilities {
			if p.blocks(v) {
				vs = append(vs, v)
				ids[v.VulID] = true
			}
		}
		if len(vs) > 0 {
			r.Vulnerabilities = vs
			out = append(out, r)
			n += len(ids)
		}
	}
	return out, n
}

// check applies the policy to finished scans: an error (exit 2) when a
// scan did not succeed, since its findings are unknown; a policyError
// after printing the blocking rows to w when any vulnerability blocks.
func (p policy) check(w io.Writer, reports []scanReport) error {
	var failed []string
	for _, r := range reports {
		if r.ScanStatus != string(inventory.ScanSuccess) {
			desc := r.ScanStatus
			if r.ScanFailedDesc != "" {
				desc += ": " + r.ScanFailedDesc
			}
			failed = append(failed, fmt.Sprintf("%s (%s)", r.Image, desc))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("the policy cannot be checked: %d images were not scanned successfully: %s",
			len(failed), strings.Join(failed, ", "))
	}
	blocked, n := p.blocking(reports)
	if len(blocked) == 0 {
		fmt.Fprintf(w, "\npolicy passed: no vulnerabilities at or above %s\n", strings.ToUpper(string(p.threshold)))
		return nil
	}
	perr := &policyError{vulns: n, images: len(blocked), threshold: p.threshold, ignoreUnfixed: p.ignoreUnfixed}
	fmt.Fprintf(w, "\n%s:\n", perr)
	if err := printVulnTable(w, "  ", true, blocked); err != nil {
		return err
	}
	return perr
}
