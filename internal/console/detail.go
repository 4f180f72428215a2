package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/findingquery"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/pathallow"
	"github.com/openhss/openhss/internal/scanresult"
)

// detailLimit is a detail tab's page size.
const detailLimit = 50

// maxLayerDigest bounds the layer filter: a digest is "algorithm:hex".
const maxLayerDigest = 200

// tab is one tab of the image detail.
type tab struct {
	Key, Label string
}

// imageTabs are the image detail's tabs; the key is the URL's tab=.
var imageTabs = []tab{{"", "Vulnerabilities"}, {"packages", "Packages"}, {"layers", "Layers"}, {"settings", "Unsafe settings"},
	{"passwords", "Weak passwords"}, {"malware", "Malicious files"}, {"sensitive", "Sensitive information"},
	{"history", "Scan history"}}

// imageRow loads the row of a detail path: another project's row, or one
// of an enterprise project the session is not granted, is not found.
func (c *Console) imageRow(r *http.Request, s *session, idText string) (inventory.Image, bool, error) {
	return scopedRow(r, s, "image", idText, c.opts.Store.GetImage,
		func(img inventory.Image) string { return img.EnterpriseProjectID })
}

// scopedRow loads the record of a path's id with get, within the session's
// project and its granted enterprise projects (ep names a record's):
// anything else, or an id that is not one, is not found, as in the API.
func scopedRow[T any](r *http.Request, s *session, what, idText string,
	get func(ctx context.Context, projectID string, id int64) (T, error), ep func(T) string) (T, bool, error) {
	var zero T
	id, ok := imagequery.ParseID(idText)
	if !ok {
		return zero, false, nil
	}
	v, err := get(r.Context(), s.principal.ProjectID, id)
	if errors.Is(err, inventory.ErrNotFound) {
		return zero, false, nil
	}
	if err != nil {
		return zero, false, fmt.Errorf("console: %s %d: %w", what, id, err)
	}
	eps, err := s.enterpriseProjects()
	if err != nil {
		return zero, false, err
	}
	if eps != nil && !slices.Contains(eps, ep(v)) {
		return zero, false, nil
	}
	return v, true, nil
}

// image is one row's detail: its header and one tab, each read through
// the store call of the matching API route (vulnerabilities, apps,
// risk configs, weak-password users, malware, sensitive information).
func (c *Console) image(w http.ResponseWriter, r *http.Request, s *session) {
	idText := strings.TrimPrefix(r.URL.Path, "/images/")
	img, ok, err := c.imageRow(r, s, idText)
	if !c.found(w, r, s, "Image", ok, err) {
		return
	}
	q := r.URL.Query()
	rq := &imagequery.Reader{V: q}
	offset := rq.Offset()
	if rq.Err != nil {
		c.badRequest(w, r, s, rq.Err.Error())
		return
	}
	key := q.Get("tab")
	i := slices.IndexFunc(imageTabs, func(t tab) bool { return t.Key == key })
	if i < 0 {
		c.badRequest(w, r, s, "No such tab: "+key+".")
		return
	}
	// The findings' filters, kept in the URL (and in the pager's links).
	// Beyond the Vulnerabilities tab's own, each tab's are the parameters
	// of its API route, read by the code the API reads them with
	// (findingquery), so a refusal is the API's message.
	filters := url.Values{}
	vf := scanresult.VulnFilter{Offset: offset, Limit: detailLimit}
	var (
		af   scanresult.AppFilter
		cf   scanresult.RiskConfigFilter
		rf   scanresult.RiskRuleFilter
		wf   scanresult.WeakPasswordFilter
		mf   findingquery.MalwareFilter
		sf   findingquery.SensitiveFilter
		vq   findingquery.VulnQuery
		keep []string // the parameters kept in the URL

		rulesOf     string // the baseline whose rules are paged
		rulesOffset int    // the offset of its rules
	)
	switch key {
	case "":
		vq, keep = findingquery.Vulns(rq), []string{"vul_id", "app_name", "type", "repair_necessity", "handle_status"}
		vf = vq.Filter
		vf.Offset, vf.Limit = offset, detailLimit
	case "packages":
		af, keep = findingquery.Apps(rq), []string{"app_name"}
	case "settings":
		// The baselines are selected as the risk-configs route selects
		// them (check_name, standard); the rules as the rules route does
		// (result_type, check_rule_name, and severity, the rule's).
		cf, rf = findingquery.RiskConfigs(rq), findingquery.RiskRules(rq, false)
		keep = []string{"check_name", "standard", "result_type", "check_rule_name", "severity"}
		// A page of one baseline's rules beyond the first: rules_of names
		// the baseline (exact), rules_offset is the offset among its
		// rules, bounded as the API bounds every offset.
		rulesOf = rq.Text("rules_of", imagequery.MaxFilterLen)
		if n := rq.Integer("rules_offset", 0, imagequery.MaxOffset); n != nil {
			rulesOffset = int(*n)
		}
	case "passwords":
		wf, keep = findingquery.WeakPasswords(rq), []string{"user_name"}
	case "malware":
		mf, keep = findingquery.Malware(rq), []string{"file_name"}
	case "sensitive":
		sf, keep = findingquery.Sensitive(rq), []string{"file_path", "severity", "handle_status"}
	}
	if rq.Err != nil {
		c.badRequest(w, r, s, rq.Err.Error())
		return
	}
	for _, k := range keep {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	af.Offset, af.Limit = offset, detailLimit
	if key == "" || key == "packages" {
		// One layer's findings or packages: the Layers tab links here.
		if v := q.Get("layer"); v != "" {
			if len(v) > maxLayerDigest {
				c.badRequest(w, r, s, fmt.Sprintf("invalid parameter layer: longer than %d characters", maxLayerDigest))
				return
			}
			vf.LayerDigest, af.LayerDigest = v, v
			filters.Set("layer", v)
		}
	}
	if key == "" {
		if v := q.Get("severity"); v != "" {
			if !slices.Contains(scanresult.SeverityClasses, v) {
				c.badRequest(w, r, s, "invalid parameter severity: must be one of "+strings.Join(scanresult.SeverityClasses, ", "))
				return
			}
			vf.SeverityClass = v
			filters.Set("severity", v)
		}
		switch v := q.Get("fixable"); v {
		case "":
		case "yes", "no":
			fixable := v == "yes"
			vf.Fixable = &fixable
			filters.Set("fixable", v)
		default:
			c.badRequest(w, r, s, "invalid parameter fixable: must be yes or no")
			return
		}
	}
	f := map[string]string{}
	for k := range filters {
		f[k] = filters.Get(k)
	}
	self := "/images/" + idText
	data := map[string]any{"Title": img.Namespace + "/" + img.Name + ":" + img.Tag, "Image": img, "Tab": key,
		"Tabs": imageTabs, "Self": self, "Severity": vf.SeverityClass, "Fixable": filters.Get("fixable"),
		"Classes": scanresult.SeverityClasses, "Filtered": len(filters) > 0, "Layer": filters.Get("layer"), "F": f,
		"BaselineSeverities": scanresult.BaselineSeverities, "Standards": findingquery.Standards,
		"SensitiveSeverities": findingquery.SensitiveSeverities, "RepairNecessities": findingquery.RepairNecessities,
		"VulTypes": findingquery.VulTypes}
	ctx := r.Context()
	digest := img.ScannedDigest()
	// One row, as the API's detail routes select it by image_id.
	sel := scanresult.RowSelection{Filter: inventory.Filter{ProjectID: s.principal.ProjectID}, IDs: []int64{img.ID}}
	var total int64
	switch key {
	case "":
		var vulns []scanresult.VulnRow
		vf.Digest = digest
		if !vq.Handled { // openhss records no handling: the API lists no handled finding
			total, vulns, err = c.opts.Store.ListVulns(ctx, vf)
		}
		data["Vulns"] = vulns
	case "packages":
		var apps []scanresult.AppRow
		af.Digest = digest
		total, apps, err = c.opts.Store.ListApps(ctx, af)
		data["Apps"] = apps
	case "layers":
		var lv layersView
		lv, err = c.layers(ctx, digest)
		data["Layers"] = lv
	case "history":
		// The project's own scans: another project's scans of the same
		// manifest show only as the shared last result in the header.
		var hist []inventory.ScanResult
		hist, err = c.opts.Store.ScanHistory(ctx, s.principal.ProjectID, digest)
		total = int64(len(hist))
		data["History"], data["HistoryLimit"] = hist, scanresult.ScanHistoryLimit
	case "settings":
		var baselines []baselineView
		total, baselines, err = c.baselines(ctx, sel, cf, rf, offset, rulesOf, rulesOffset)
		// Each baseline's pager keeps the tab, its filters and the page
		// of baselines, and names the baseline it pages.
		for i := range baselines {
			b := &baselines[i]
			q := url.Values{"tab": {key}, "rules_of": {b.CheckName}}
			for k := range filters {
				q.Set(k, filters.Get(k))
			}
			if offset > 0 {
				q.Set("offset", strconv.Itoa(offset))
			}
			b.RulesPrev, b.RulesNext = pageLinksOf(self, q, "rules_offset", b.RulesOffset, maxRulesPerBaseline, b.RulesTotal)
		}
		data["Baselines"] = baselines
	case "passwords":
		var users []scanresult.WeakPasswordRow
		wf.Offset, wf.Limit = offset, detailLimit
		total, users, err = c.opts.Store.WeakPasswordUsers(ctx, sel, wf)
		data["Users"], data["Mask"] = users, scanresult.WeakPasswordMask
	case "malware", "sensitive":
		var a scanresult.Analysis
		a, err = c.opts.Store.GetAnalysis(ctx, digest)
		if err != nil {
			break
		}
		if key == "malware" {
			var shown []scanresult.Malware
			for _, m := range a.Malware {
				if mf.Match(m) {
					shown = append(shown, m)
				}
			}
			total = int64(len(shown))
			data["Malware"] = window(shown, offset)
			break
		}
		// Masked by the analyzer before it was stored, and hidden under
		// the sensitive-path whitelist, as ListImageSensitive shows them.
		hidden, ferr := pathallow.ForProject(ctx, c.opts.Store, c.opts.SensitiveDefault, s.principal.ProjectID)
		if ferr != nil {
			err = ferr
			break
		}
		var shown []scanresult.Secret
		for _, f := range a.Secrets {
			if sf.Match(f) && !hidden.Match(f.FilePath) {
				shown = append(shown, f)
			}
		}
		total = int64(len(shown))
		data["Secrets"] = window(shown, offset)
	}
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: %s of image %d: %w", imageTabs[i].Label, img.ID, err))
		return
	}
	data["Total"] = total
	// The pager's links keep the tab and its filters.
	if key != "" {
		filters.Set("tab", key)
	}
	data["Prev"], data["Next"] = pageLinks(self, filters, offset, detailLimit, total)
	c.render(w, r, http.StatusOK, "image", s, data)
}

// maxRulesPerBaseline is a page of the rules listed under one baseline
// (the API's largest page): the built-in baselines have far fewer; a
// longer one is paged by its own pager.
const maxRulesPerBaseline = imagequery.MaxLimit

// baselineView is one baseline of the Unsafe settings tab with a page of
// its rules.
type baselineView struct {
	scanresult.RiskConfig
	N                    int                   // 1-based on the page: its anchor
	RulesTotal           int64                 // the rules the filters select
	RulesOffset          int                   // of the page of rules listed
	List                 []scanresult.RiskRule // the page of rules (RiskConfig.Rules counts them all)
	RulesPrev, RulesNext string                // its pager's links ("" when none)
}

// RulesFrom and RulesTo number the first and last rule listed (1-based).
func (b baselineView) RulesFrom() int { return b.RulesOffset + 1 }

// RulesTo: see RulesFrom.
func (b baselineView) RulesTo() int { return b.RulesOffset + len(b.List) }

// baselines reads the Unsafe settings tab through the store calls of the
// API's risk-configs route (the page of baselines cf selects) and of its
// rules route (the rules rf selects of every baseline on the page, by its
// name and standard, in one read rather than one per baseline), for the
// one row sel selects. The baseline named rulesOf lists its rules from
// rulesOffset, every other one from its first. A row's rules are those of
// the scanner's catalogue, 15 in 5 baselines (docs/scanner.md, Unsafe
// settings), so reading all of the page's at once and paging each here
// costs less than a read per baseline, up to 50.
func (c *Console) baselines(ctx context.Context, sel scanresult.RowSelection, cf scanresult.RiskConfigFilter,
	rf scanresult.RiskRuleFilter, offset int, rulesOf string, rulesOffset int) (int64, []baselineView, error) {
	// The tab's severity is the rules' (the rules route's parameter).
	total, configs, err := c.opts.Store.RiskConfigs(ctx, sel, scanresult.RiskConfigFilter{CheckName: cf.CheckName,
		Standard: cf.Standard, Offset: offset, Limit: detailLimit})
	if err != nil || len(configs) == 0 {
		return total, []baselineView{}, err
	}
	f := rf
	f.CheckName, f.Standard, f.Offset, f.Limit = "", "", 0, 0
	for _, rc := range configs {
		f.Baselines = append(f.Baselines, scanresult.BaselineKey{CheckName: rc.CheckName, Standard: rc.Standard})
	}
	_, rules, err := c.opts.Store.RiskConfigRules(ctx, sel, f)
	if err != nil {
		return 0, nil, fmt.Errorf("rules of baselines: %w", err)
	}
	// Each baseline's rules, in rule order (the store's within a baseline).
	of := map[scanresult.BaselineKey][]scanresult.RiskRule{}
	for _, r := range rules {
		k := scanresult.BaselineKey{CheckName: r.CheckName, Standard: r.Standard}
		of[k] = append(of[k], r)
	}
	out := make([]baselineView, len(configs))
	for i, rc := range configs {
		all := of[scanresult.BaselineKey{CheckName: rc.CheckName, Standard: rc.Standard}]
		from := 0
		if rc.CheckName == rulesOf {
			from = rulesOffset
		}
		out[i] = baselineView{RiskConfig: rc, N: offset + i + 1, RulesTotal: int64(len(all)), RulesOffset: from,
			List: all[min(from, len(all)):min(from+maxRulesPerBaseline, len(all))]}
	}
	return total, out, nil
}

// window is the detail page of a list read whole.
func window[T any](list []T, offset int) []T {
	if offset >= len(list) {
		return nil
	}
	return list[offset:min(len(list), offset+detailLimit)]
}

// sbom downloads the row's stored inventory as CycloneDX 1.5 (default) or
// SPDX 2.3 JSON, encoded as the API's /sbom route encodes it.
func (c *Console) sbom(w http.ResponseWriter, r *http.Request, s *session) {
	idText, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/images/"), "/")
	img, ok, err := c.imageRow(r, s, idText)
	if !c.found(w, r, s, "Image", ok, err) {
		return
	}
	encode, ctype, ext := scanresult.CycloneDX, "application/vnd.cyclonedx+json", "cdx.json"
	switch r.URL.Query().Get("format") {
	case "", "cyclonedx":
	case "spdx":
		encode, ctype, ext = scanresult.SPDX, "application/spdx+json", "spdx.json"
	default:
		c.badRequest(w, r, s, "format must be cyclonedx or spdx.")
		return
	}
	sb, err := c.opts.Store.GetSBOM(r.Context(), img.ScannedDigest())
	if errors.Is(err, inventory.ErrNotFound) {
		c.render(w, r, http.StatusNotFound, "error", s, map[string]any{"Message": "The image has no software inventory: it has not been scanned successfully."})
		return
	}
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: sbom of image %d: %w", img.ID, err))
		return
	}
	ref := img.Name + ":" + img.Tag
	if img.Namespace != "" {
		ref = img.Namespace + "/" + ref
	}
	body, err := encode(sb, scanresult.Subject{Name: ref})
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: encode sbom of image %d: %w", img.ID, err))
		return
	}
	w.Header().Set("Content-Type", ctype)
	// The file name is the row id: names may hold any character.
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="image-%d.%s"`, img.ID, ext))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// layersView is the Layers tab: the scanned manifest's layers, base
// first, each with what it brought.
type layersView struct {
	Scanned  bool // an inventory is stored
	Recorded bool // its layer sizes and history steps are (scanned since migration 01000)
	Layers   []layerView
}

// layerView is one layer: its history step and size (when recorded), the
// packages whose files it last wrote and the findings on those packages.
type layerView struct {
	N         int // 1-based, base first
	Digest    string
	Size      int64
	CreatedBy string
	Packages  []scanresult.Package
	Vulns     []layerVuln
	// MorePackages and MoreVulns count what the page leaves out.
	MorePackages, MoreVulns int
}

// layerVuln is one vulnerability id found on a layer's packages.
type layerVuln struct {
	ID, URL, Severity string
	Packages          []string // "name version", each once
}

// maxPerLayer bounds the packages and the vulnerabilities a layer lists:
// a distribution's base layer holds hundreds; the other tabs page them.
const maxPerLayer = 100

// layers reads the Layers tab through the API's SBOM and findings reads
// (GetSBOM, as the /sbom route; ListVulns, as the vulnerabilities route):
// a package belongs to the layer that last wrote its file (its stored
// layer digest), a finding to its package's layer.
func (c *Console) layers(ctx context.Context, digest string) (layersView, error) {
	sb, err := c.opts.Store.GetSBOM(ctx, digest)
	if errors.Is(err, inventory.ErrNotFound) {
		return layersView{}, nil
	}
	if err != nil {
		return layersView{}, err
	}
	_, vulns, err := c.opts.Store.ListVulns(ctx, scanresult.VulnFilter{Digest: digest}) // no Limit: every finding
	if err != nil {
		return layersView{}, err
	}
	v := layersView{Scanned: true, Recorded: sb.History != nil, Layers: make([]layerView, len(sb.Layers))}
	at := make(map[string]int, len(sb.Layers))
	for i, d := range sb.Layers {
		v.Layers[i] = layerView{N: i + 1, Digest: d}
		if v.Recorded {
			v.Layers[i].Size, v.Layers[i].CreatedBy = sb.History[i].Size, sb.History[i].CreatedBy
		}
		at[d] = i // the same blob twice: a package's files are the last one's
	}
	for _, p := range sb.Packages {
		i, ok := at[p.LayerDigest]
		if !ok {
			continue
		}
		l := &v.Layers[i]
		if len(l.Packages) == maxPerLayer {
			l.MorePackages++
			continue
		}
		l.Packages = append(l.Packages, p)
	}
	more := map[string]bool{} // layer index and id of each vulnerability left out
	for _, f := range vulns { // most urgent first, as the Vulnerabilities tab
		i, ok := at[f.LayerDigest]
		if !ok {
			continue
		}
		l := &v.Layers[i]
		pkg := f.AppName + " " + f.Version
		j := slices.IndexFunc(l.Vulns, func(x layerVuln) bool { return x.ID == f.VulnID })
		switch {
		case j >= 0:
			if !slices.Contains(l.Vulns[j].Packages, pkg) {
				l.Vulns[j].Packages = append(l.Vulns[j].Packages, pkg)
			}
		case len(l.Vulns) == maxPerLayer:
			if k := fmt.Sprint(i, " ", f.VulnID); !more[k] {
				more[k] = true
				l.MoreVulns++
			}
		default:
			l.Vulns = append(l.Vulns, layerVuln{ID: f.VulnID, URL: f.URL, Severity: f.Severity, Packages: []string{pkg}})
		}
	}
	return v, nil
}
