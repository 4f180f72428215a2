package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/openhss/openhss/internal/iam"
	"github.com/openhss/openhss/internal/imagequery"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/tasks"
	"github.com/openhss/openhss/internal/trend"
	"github.com/openhss/openhss/internal/vulndb"
)

// count is one figure of the overview and the seed-list query that lists
// the rows it counts.
type count struct {
	Label string
	N     int64
	Link  string
}

// overview shows coverage and risk counts, each what the total_num of an
// image list query (the same filter as the API's) sums to over image
// types, all from one read of the store's image counts (trend.Count).
func (c *Console) overview(w http.ResponseWriter, r *http.Request, s *session) {
	// The trend's range is read first: a bad one reads nothing.
	days, ok := trendRange(r.URL.Query())
	if !ok {
		c.badRequest(w, r, s, "The trend shows the last "+rangeNames()+" days (days).")
		return
	}
	eps, err := s.enterpriseProjects()
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	// The counts of trend.Count, which the daily snapshots take too.
	n, err := trend.Count(r.Context(), c.opts.Store, s.principal.ProjectID, eps)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: %w", err))
		return
	}
	coverage := []count{
		{Label: "Images", N: n.Images, Link: "/images"},
		{Label: "Scanned", N: n.Scanned, Link: "/images?scan_status=success"},
		{Label: "Failed", N: n.Failed, Link: "/images?scan_status=failed"},
		{Label: "Unscanned", N: n.Unscanned, Link: "/images?scan_status=unscan"},
		{Label: "Waiting or scanning", N: n.Waiting, Link: "/images?scan_status=scanning"},
	}
	var severity []count
	for i, level := range trend.Levels {
		severity = append(severity, count{Label: level, N: n.Levels[i]})
	}
	var vulns []bucket
	for i, label := range trend.Severities {
		vulns = append(vulns, bucket{Label: label, Findings: n.Findings[i].Findings, Fixable: n.Findings[i].Fixable})
	}
	// The newest failures with their reasons, each type's few first; read
	// only for the types and statuses the counts have failed images of.
	var failures []inventory.Image
	for si, st := range trend.Failed {
		for ti, t := range inventory.ImageTypes() {
			if len(failures) >= maxFailures {
				break
			}
			if n.FailedBy[ti][si] == 0 {
				continue
			}
			page, err := c.opts.Store.ListImages(r.Context(), inventory.Filter{ProjectID: s.principal.ProjectID,
				EnterpriseProjects: eps, Type: t, ScanStatus: st, Limit: maxFailures - len(failures)})
			if err != nil {
				c.fail(w, r, s, fmt.Errorf("console: failed %s images: %w", t, err))
				return
			}
			failures = append(failures, page.Images...)
		}
	}
	// The trend: the daily snapshots of the granted enterprise projects,
	// summed per day.
	today := trend.Day(c.opts.Now())
	points, err := c.opts.Store.TrendPoints(r.Context(), s.principal.ProjectID, eps, today-int64(days)+1, today)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: trend: %w", err))
		return
	}
	topImages, err := c.opts.Store.TopImages(r.Context(), s.principal.ProjectID, eps, topN)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: top images: %w", err))
		return
	}
	topVulns, err := c.opts.Store.TopVulns(r.Context(), s.principal.ProjectID, eps, topN)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: top vulnerabilities: %w", err))
		return
	}
	vs, err := c.opts.Store.VulnStatus(r.Context())
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: vulnerability data: %w", err))
		return
	}
	c.render(w, r, http.StatusOK, "overview", s, map[string]any{"Title": "Overview", "Coverage": coverage, "Severity": severity,
		"Vulns": vulns, "Trend": newTrendView(points, today, days), "TrendSeverities": trend.Severities, "Failures": failures, "TopImages": topImages, "TopVulns": topVulns, "Data": newVulnData(vs, c.opts.Now())})
}

// staleAfter is the age of the last completed vulnerability data import
// past which the overview warns: findings miss what was published since
// (docs/console.md).
const staleAfter = 7 * 24 * time.Hour

// vulnData is the overview's "vulnerability data in use": what
// `openhss db status` reads, with the last import's age and a warning
// when there is no data or it is older than staleAfter.
type vulnData struct {
	Status  vulndb.Status
	Age     string // the last import's age in words; "" before the first
	Warning string // "" when the data is present and fresh
}

func newVulnData(st vulndb.Status, now time.Time) vulnData {
	d := vulnData{Status: st}
	if st.LastImport != nil {
		at := st.LastImport.Finished
		if at.IsZero() {
			at = st.LastImport.Started
		}
		d.Age = age(now.Sub(at))
		if now.Sub(at) > staleAfter {
			d.Warning = "The vulnerability data was last imported " + d.Age + " ago: findings miss what was published since. Update it in Settings (Update now) or run openhss db update."
		}
	}
	if st.Records == 0 {
		d.Warning = "No vulnerability data is imported: scans find no vulnerabilities. Update it in Settings (Update now) or run openhss db update."
	}
	return d
}

// age is a duration in whole days, or hours under a day.
func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return "less than an hour"
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	}
	return plural(int(d/(24*time.Hour)), "day")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// topN is how many images and vulnerabilities the overview's top lists
// show.
const topN = 5

// maxFailures is how many failed images the overview lists.
const maxFailures = 5

// bucket is one severity of the overview: findings and fixable ones.
type bucket struct {
	Label             string
	Findings, Fixable int64
}

// imagesView is the Images page's data.
type imagesView struct {
	Title    string
	Query    url.Values        // the normalized query, as the form shows it
	Dates    map[string]string // the date fields' values (YYYY-MM-DD), from the query's times
	APIQuery string            // the same query for GET .../image/swr-repository
	Back     string            // this page, where a scan request returns
	Error    string
	pager
	Rows     []inventory.Image
	Types    []inventory.ImageType
	Statuses []inventory.ScanStatus
}

// imagesList is the Images page's query as the API's seed list (GET
// /v5/{project}/image/swr-repository) reads it: the image type
// private_image and every granted enterprise project unless given.
var imagesList = listSpec{
	dates: []dateField{
		{"update_from", "start_latest_update_time", false},
		{"update_to", "end_latest_update_time", true},
		{"scan_from", "start_latest_scan_time", false},
		{"scan_to", "end_latest_scan_time", true},
	},
	defaults: map[string]string{"image_type": string(inventory.PrivateImage), "enterprise_project_id": iam.AllGrantedEPs},
}

// images is the seed list: the API's filters as a GET form, so the state
// lives in the URL.
func (c *Console) images(w http.ResponseWriter, r *http.Request, s *session) {
	q, perr := imagesList.query(r.URL.Query())
	v := imagesView{Title: "Images", Query: q, Dates: formDates(q, imagesList.dates), Types: inventory.ImageTypes(), Statuses: []inventory.ScanStatus{inventory.Unscan,
		inventory.WaitingForScan, inventory.Scanning, inventory.ScanSuccess, inventory.ScanFailed, inventory.DownloadFailed,
		inventory.ImageOversized}}
	v.APIQuery = q.Encode()
	v.Back = "/images"
	if r.URL.RawQuery != "" {
		v.Back += "?" + r.URL.RawQuery
	}
	if perr != nil {
		v.Error = perr.Error()
		c.render(w, r, http.StatusBadRequest, "images", s, map[string]any{"V": v})
		return
	}
	f, msg := c.listFilter(s, q)
	if msg != "" {
		v.Error = msg
		c.render(w, r, http.StatusBadRequest, "images", s, map[string]any{"V": v})
		return
	}
	page, err := c.opts.Store.ListImages(r.Context(), f)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: list images: %w", err))
		return
	}
	v.Rows, v.pager = page.Images, newPager("/images", q, f.Offset, f.Limit, len(page.Images), page.Total)
	c.render(w, r, http.StatusOK, "images", s, map[string]any{"V": v})
}

// listFilter parses a normalized list query (imagesList's) as the API does
// and scopes it to the session: its project and the enterprise projects
// the query names within the grant. A refused query is the message to
// show (a 400).
func (c *Console) listFilter(s *session, q url.Values) (inventory.Filter, string) {
	lq, perr := imagequery.ParseList(q)
	if perr != nil {
		return inventory.Filter{}, perr.Error()
	}
	eps, msg := s.listScope(lq.EnterpriseProject)
	if msg != "" {
		return inventory.Filter{}, msg
	}
	f := lq.Filter
	f.ProjectID, f.EnterpriseProjects = s.principal.ProjectID, eps
	return f, ""
}

// scan queues the scans of the rows selected on the Images page, as one
// scan task, then returns to the list it came from. Every id must be a row
// the session may read and a container image, or nothing is queued.
func (c *Console) scan(w http.ResponseWriter, r *http.Request, s *session) {
	ids, ok := c.selectedIDs(w, r, s, "image", "images", "scan")
	if !ok {
		return
	}
	eps, err := s.enterpriseProjects()
	if err != nil {
		c.fail(w, r, s, err)
		return
	}
	var rows []inventory.Image
	for _, id := range ids {
		img, err := c.opts.Store.GetImage(r.Context(), s.principal.ProjectID, id)
		if errors.Is(err, inventory.ErrNotFound) || (err == nil && eps != nil && !slices.Contains(eps, img.EnterpriseProjectID)) {
			c.notFound(w, r, s, "Image")
			return
		}
		if err != nil {
			c.fail(w, r, s, fmt.Errorf("console: image %d: %w", id, err))
			return
		}
		// As the API: an artifact (a Helm chart) is no image to scan; an
		// oversized image may be scanned again under a raised limit.
		if !img.Scannable && img.ScanStatus != inventory.ImageOversized {
			c.badRequest(w, r, s, img.Namespace+"/"+img.Name+":"+img.Tag+" is not a container image and cannot be scanned.")
			return
		}
		rows = append(rows, img)
	}
	_, err = c.opts.Tasks.StartScan(r.Context(), tasks.Task{ProjectID: s.principal.ProjectID, Kind: tasks.Manual,
		ScanScope: tasks.ScanScopeAll}, rows)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: scan: %w", err))
		return
	}
	http.Redirect(w, r, backToList(r.PostForm.Get("back"), "/images"), http.StatusSeeOther)
}

// scanAll queues the scans of every row the list's query selects, through
// the path of the API's batch-scan with operate_all: one scan task, created
// listing, whose scan-all job lists the rows (paging ignored) into its
// items and queues their scans. The query is parsed and scoped as the
// list is, so the button scans the rows the page counts; a refused query
// queues nothing.
func (c *Console) scanAll(w http.ResponseWriter, r *http.Request, s *session) {
	raw, err := url.ParseQuery(r.PostForm.Get("query"))
	if err != nil {
		c.badRequest(w, r, s, "The list's query could not be read.")
		return
	}
	q, perr := imagesList.query(raw)
	if perr != nil {
		c.badRequest(w, r, s, perr.Error())
		return
	}
	f, msg := c.listFilter(s, q)
	if msg != "" {
		c.badRequest(w, r, s, msg)
		return
	}
	_, err = c.opts.Tasks.StartScanAll(r.Context(), tasks.Task{ProjectID: s.principal.ProjectID, Kind: tasks.Manual,
		ScanScope: tasks.ScanScopeAll}, f)
	if err != nil {
		c.fail(w, r, s, fmt.Errorf("console: scan all: %w", err))
		return
	}
	http.Redirect(w, r, backToList(r.PostForm.Get("back"), "/images"), http.StatusSeeOther)
}

// progress is a task's task_status in words.
func progress(t tasks.Task) string {
	switch st := t.Status(); st {
	case 100:
		return "finished"
	case -1:
		return "stopped"
	case -3:
		return "error"
	default:
		return fmt.Sprintf("running, %d%%", st)
	}
}

// barWidth is the severity bar's width in tenths (a class, w0 to w100:
// the CSP allows no inline style): the vulnerability count on a log-like
// scale, so one finding shows and hundreds fit.
func barWidth(n int32) int {
	switch {
	case n <= 0:
		return 0
	case n < 3:
		return 10
	case n < 10:
		return 30
	case n < 30:
		return 50
	case n < 100:
		return 70
	case n < 300:
		return 90
	}
	return 100
}

func formatMillis(ms int64) string {
	if ms <= 0 {
		return "—"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04 UTC")
}

func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func failed(s inventory.ScanStatus) bool {
	return s == inventory.ScanFailed || s == inventory.DownloadFailed || s == inventory.ImageOversized
}
