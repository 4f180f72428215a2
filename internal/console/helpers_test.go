package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/hssapi"
	"github.com/openhss/openhss/internal/inventory"
)

// The console tests' shared readers of pages and of the API's answers:
// one of each, so that every test reads a page the same way.

// apiScans completes the recorded scans into the API's ScanRequester; the
// list tests queue no scan through the API.
type apiScans struct{ *recordedScans }

func (apiScans) RequestScanAll(context.Context, string, string, inventory.Filter) error {
	return fmt.Errorf("not in these tests")
}

// apiTotal asks the real HSS API, over the env's store and IAM, for path
// with the session's token, and returns its total_num and the number of
// rows in its data_list.
func (e *env) apiTotal(session *http.Cookie, path string) (total int64, rows int) {
	e.t.Helper()
	h, err := hssapi.New(hssapi.Config{Store: e.st, IAM: e.iam, Box: e.box, Sync: e.syncs, Scans: apiScans{e.scans},
		ScanResults: e.st, Findings: e.st})
	if err != nil {
		e.t.Fatal(err)
	}
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("X-Auth-Token", session.Value) // the session is an IAM token
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out struct {
		TotalNum int64             `json:"total_num"`
		DataList []json.RawMessage `json:"data_list"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		e.t.Fatalf("API %s: %d %s", path, rec.Code, rec.Body)
	}
	return out.TotalNum, len(out.DataList)
}

var (
	pageTotal = regexp.MustCompile(`<span id="total">(\d+)</span>`)
	apiQuery  = regexp.MustCompile(`<code>GET (/v5/[^?]+)\?([^<]*)</code>`)
	nextLink  = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	rowCount  = func(body, table string) int {
		t := regexp.MustCompile(`(?s)<table class="list" id="` + table + `">.*?<tbody>(.*?)</tbody>`).FindStringSubmatch(body)
		if t == nil {
			return -1
		}
		return strings.Count(t[1], "<tr>") - strings.Count(t[1], "<td colspan=")
	}
)

// checkAgainstAPI reads the page at path, and checks its total and rows
// against the API's answer to the query the page shows (which must be
// the page's query as the API reads it), and that it says which rows it
// shows (from the path's offset).
func (e *env) checkAgainstAPI(session *http.Cookie, path, table string) (body string, total int64) {
	e.t.Helper()
	resp, body := e.do("GET", path, nil, session)
	m, q := pageTotal.FindStringSubmatch(body), apiQuery.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || q == nil {
		e.t.Fatalf("%s: %s, no total or API query:\n%s", path, resp.Status, body)
	}
	apiTotal, apiRows := e.apiTotal(session, q[1]+"?"+html.UnescapeString(q[2]))
	if m[1] != fmt.Sprint(apiTotal) || rowCount(body, table) != apiRows {
		e.t.Errorf("%s: page total_num %s and %d rows, API (%s) %d and %d", path, m[1], rowCount(body, table), q[2], apiTotal, apiRows)
	}
	u, err := url.Parse(path)
	if err != nil {
		e.t.Fatal(err)
	}
	offset, _ := strconv.Atoi(u.Query().Get("offset"))
	if n := rowCount(body, table); n > 0 && !strings.Contains(body, fmt.Sprintf(", rows %d–%d.", offset+1, offset+n)) {
		e.t.Errorf("%s: the summary does not say rows %d–%d", path, offset+1, offset+n)
	}
	return body, apiTotal
}

// day is the ms of a UTC date at hour h.
func day(date string, h int) int64 {
	d, err := time.Parse("2006-01-02", date)
	if err != nil {
		panic(err)
	}
	return d.Add(time.Duration(h) * time.Hour).UnixMilli()
}

// section is the part of body from the element with id to the end of its
// table row (or the body's end).
func section(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	s := body[i:]
	if j := strings.Index(s, "</tr>"); j >= 0 {
		s = s[:j]
	}
	return s
}

// svgOf is the chart id's SVG element in body ("" when missing).
func svgOf(body, id string) string {
	i := strings.Index(body, `<svg class="trend" id="`+id+`" role="img"`)
	if i < 0 {
		return ""
	}
	return body[i : i+strings.Index(body[i:], "</svg>")+len("</svg>")]
}

// card is the figure of the Overview's card label in body ("" when
// missing).
func card(body, label string) string {
	m := regexp.MustCompile(`<span class="n">(\d+)</span> <span class="label">` + regexp.QuoteMeta(label) + `</span>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// selectOf is the options of the select id labelled label in body, and
// the values of its selected ones; ok is false when there is no such
// select.
func selectOf(body, id, label string) (options string, selected []string, ok bool) {
	m := regexp.MustCompile(`(?s)<label for="` + id + `">` + regexp.QuoteMeta(label) + `</label>\s*<select id="` + id + `" name="` + id + `">(.*?)</select>`).FindStringSubmatch(body)
	if m == nil {
		return "", nil, false
	}
	for _, o := range regexp.MustCompile(`<option value="([^"]*)" selected>`).FindAllStringSubmatch(m[1], -1) {
		selected = append(selected, o[1])
	}
	return m[1], selected, true
}

// checkShows checks that body (what names it) shows each of want and
// none of absent.
func checkShows(t *testing.T, what, body string, want, absent []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	for _, a := range absent {
		if strings.Contains(body, a) {
			t.Errorf("%s shows %q", what, a)
		}
	}
}

// checkRefused checks that the list at path answers each query of
// refusals with a 400 that says its message (the API's words) and no list
// (no list, an element of the list page).
func (e *env) checkRefused(session *http.Cookie, path, list string, refusals map[string]string) {
	e.t.Helper()
	for q, msg := range refusals {
		resp, body := e.do("GET", path+"?"+q, nil, session)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, msg) || strings.Contains(body, list) {
			e.t.Errorf("%s?%s: %s, want 400 with %q and no list\n%.2000s", path, q, resp.Status, msg, body)
		}
	}
}

// checkCSRFRefused posts form to each path with the session's cookie and
// no token, a forged one, and another session's (otherCSRF): each must be
// a 403.
func (e *env) checkCSRFRefused(session *http.Cookie, otherCSRF string, form url.Values, paths ...string) {
	e.t.Helper()
	for _, p := range paths {
		for name, token := range map[string][]string{"no token": nil, "a forged token": {"AAAA"}, "another session's token": {otherCSRF}} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != nil {
				f["csrf"] = token
			}
			if resp, _ := e.do("POST", p, f, session); resp.StatusCode != http.StatusForbidden {
				e.t.Errorf("POST %s with %s: %s, want 403", p, name, resp.Status)
			}
		}
	}
}

// checkPaging follows the Next links of a list from path (which has
// limit=10) and checks that they visit want rows (row's first group),
// each once, and keep the limit.
func (e *env) checkPaging(session *http.Cookie, path, what string, row *regexp.Regexp, want int) {
	e.t.Helper()
	seen := map[string]bool{}
	for pages := 0; path != ""; pages++ {
		if pages > want/10 {
			e.t.Fatalf("more pages than %d %s fill", want, what)
		}
		_, body := e.do("GET", path, nil, session)
		for _, m := range row.FindAllStringSubmatch(body, -1) {
			if seen[m[1]] {
				e.t.Errorf("%s: %s listed twice", what, m[1])
			}
			seen[m[1]] = true
		}
		path = ""
		if m := nextLink.FindStringSubmatch(body); m != nil {
			path = html.UnescapeString(m[1])
			if !strings.Contains(path, "limit=10") {
				e.t.Errorf("next page %q lost the query", path)
			}
		}
	}
	if len(seen) != want {
		e.t.Errorf("paging listed %d %s, want %d", len(seen), what, want)
	}
}
