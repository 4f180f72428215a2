package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanresult"
	"github.com/openhss/openhss/internal/store"
)

// The web console in a real browser (docs/console.md): Debian's chromium
// driven by chromedp against `openhss quickstart`, whose images come from a
// real sync of its in-process registry and a real scan.

// lockedBuffer is a goroutine-safe output sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// consoleServer is a running quickstart: its URL, data directory and user.
type consoleServer struct {
	base, data     string
	user, password string
}

// startQuickstart runs `openhss quickstart` (serving, not --exit) on a
// fresh data directory holding the Go advisory the vulnerable sample
// triggers, and waits until the tour has synced and scanned.
func startQuickstart(t *testing.T) *consoleServer {
	t.Helper()
	data := t.TempDir()
	// Only the advisory the test looks for, from the Go vulnerability
	// database module the quickstart itself would fetch: the quickstart
	// then skips its download.
	osv := t.TempDir()
	rec, err := os.ReadFile(filepath.Join(goVulnDataDir(t), "GO-2022-1059.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(osv, "GO-2022-1059.json"), rec, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", "db", "import", osv, "--data", data, "--log-level", "error"); err != nil {
		t.Fatalf("db import: %v\n%s", err, out)
	}

	// Settings' Update now fetches the Go records of testdata/osv from a
	// bucket of this test, not the network.
	bucket, _ := osvtestdata.Bucket(t, map[string]string{"Go": "go"})

	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		cmd := newRootCmd()
		cmd.SetOut(out)
		cmd.SetErr(out)
		cmd.SetIn(strings.NewReader(""))
		cmd.SetArgs([]string{"quickstart", "--data", data, "--listen", "127.0.0.1:0", "--log-level", "error",
			"--vulndb-base-url", bucket, "--vulndb-ecosystem", "Go"})
		done <- cmd.ExecuteContext(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for !strings.Contains(out.String(), "Press Ctrl-C to stop.") {
		select {
		case err := <-done:
			t.Fatalf("quickstart ended: %v\n%s", err, out)
		case <-time.After(100 * time.Millisecond):
		}
	}
	s := out.String()
	base := regexp.MustCompile(`the HSS v5 API at (http://[0-9.:]+) `).FindStringSubmatch(s)
	user := regexp.MustCompile(`"name":"([^"]+)","password":"([^"]+)"`).FindStringSubmatch(s)
	if base == nil || user == nil {
		t.Fatalf("no URL or user in the quickstart's output:\n%s", s)
	}
	return &consoleServer{base: base[1], data: data, user: user[1], password: user[2]}
}

// browserPath is Debian's chromium, or another Chromium found on PATH.
func browserPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser returns the browser's path. Without one the test is skipped,
// loudly, unless OPENHSS_REQUIRE_BROWSER=1 (CI installs chromium and sets
// it), where it fails.
func needBrowser(t *testing.T) string {
	t.Helper()
	path := browserPath()
	if path == "" {
		msg := "NO BROWSER: the web console's browser tests need Chromium (Debian: apt-get install chromium); none of chromium, chromium-browser, google-chrome, google-chrome-stable is on PATH"
		if os.Getenv("OPENHSS_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + ", and OPENHSS_REQUIRE_BROWSER=1 requires one")
		}
		t.Skip("SKIPPED: " + msg)
	}
	return path
}

// newBrowser starts the headless Chromium at path for t, at 1280×800.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// screenshot saves the page as name.png under the test's artifact
// directory (go test -artifacts keeps it) and, when OPENHSS_SCREENSHOTS
// names a directory, there too (docs/console/ holds the committed ones);
// then the same page at a phone's 390×844 as name-390x844.png, where the
// page must not be wider than the viewport (wide tables scroll in their own
// box), and back at the test's 1280×800.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	save := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		dirs := []string{t.ArtifactDir()}
		if d := os.Getenv("OPENHSS_SCREENSHOTS"); d != "" {
			dirs = append(dirs, d)
		}
		for _, d := range dirs {
			if err := os.WriteFile(filepath.Join(d, name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	save(name)
	mustRun(t, ctx, "phone size", chromedp.EmulateViewport(390, 844))
	save(name + "-390x844")
	if w := value(t, ctx, "page width", chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`)); w[0] > w[1] {
		wide := value(t, ctx, "wide elements", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('body *')).filter(e => !e.closest('.scroll') && (e.getBoundingClientRect().right > window.innerWidth || (e.scrollWidth > e.clientWidth && getComputedStyle(e).overflowX === 'visible'))).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''))`))
		t.Errorf("%s at 390×844: the page is %d px wide, wider than the viewport; elements past its edge or overflowing their box: %v", name, w[0], wide)
	}
	mustRun(t, ctx, "desktop size", chromedp.EmulateViewport(1280, 800))
}

// stepTimeout bounds one browser step, so that a page that never shows
// what a step waits for fails the test rather than hanging it (a bound,
// not a timed assertion).
const stepTimeout = time.Minute

func mustRun(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one action that returns a value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// texts is the text of every element sel matches.
func texts(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	out := value(t, ctx, "read "+sel, chromedp.Evaluate[[]string](fmt.Sprintf(
		`Array.from(document.querySelectorAll(%q)).map(e => e.textContent.trim())`, sel)))
	return out
}

// seedHostile adds, through the store the server runs on, a scanned local
// image whose name, package and advisory hold markup, and a row of another
// project. It returns the two rows' ids.
func seedHostile(t *testing.T, data string) (hostile, foreign int64) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(data, "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const digest = "sha256:6666666666666666666666666666666666666666666666666666666666666666"
	m := inventory.Manifest{Digest: digest, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1234,
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli(), Platform: "linux/amd64", Scannable: true}
	img := inventory.Image{ProjectID: quickstartProject, EnterpriseProjectID: inventory.DefaultEnterpriseProject,
		Type: inventory.LocalImage, Namespace: "evil", Name: hostileText, Tag: "1.0", Digest: digest}
	row, err := st.PutLocalImage(ctx, img, []inventory.Manifest{m})
	if err != nil {
		t.Fatalf("put hostile image: %v", err)
	}
	sb := scanresult.SBOM{Digest: digest, ScannedAt: time.Now().UnixMilli(), Packages: []scanresult.Package{
		{Name: hostileText, Version: "1.0", Ecosystem: "Go", Type: "go-module", Path: "javascript:alert(1)"}}}
	fs := []scanresult.Finding{{Package: 0, VulnID: "GO-2099-0001", RepairNecessity: "immediate_repair", Severity: hostileText,
		FixedVersion: hostileText, Description: hostileText, URL: "javascript:alert(1)", Aliases: []string{hostileText}}}
	if err := st.SaveScan(ctx, sb, fs, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: sb.ScannedAt,
		VulNum: scanresult.DistinctVulns(fs), SeverityLevel: scanresult.SeverityLevel(fs)}); err != nil {
		t.Fatalf("save hostile scan: %v", err)
	}
	other := img
	other.ProjectID, other.Name = "ffeeddccbbaa99887766554433221100", "secret-app"
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: other.ProjectID}); err != nil {
		t.Fatal(err)
	}
	orow, err := st.PutLocalImage(ctx, other, []inventory.Manifest{m})
	if err != nil {
		t.Fatalf("put other project's image: %v", err)
	}
	return row.ID, orow.ID
}

// imageLinks are the image names of the Images page's rows.
const imageLinks = "#images tbody td:nth-child(2) a"

// hostileText is markup a page must show as text.
const hostileText = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">"'javascript:alert(1)`

// httpClient reads pages outside the browser, with the browser's session
// cookie when given one.
type httpClient struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
}

func (h httpClient) do(method, path string, form url.Values) (*http.Response, string) {
	h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, h.base+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if h.cookie != nil {
		req.AddCookie(h.cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// checkHeaders asserts the console's security headers on resp.
func checkHeaders(t *testing.T, path string, resp *http.Response) {
	t.Helper()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q allows inline script", path, csp)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", path, got)
	}
}

func TestConsoleInBrowser(t *testing.T) {
	browser := needBrowser(t) // before the quickstart: no tour for a skip
	srv := startQuickstart(t)
	hostileID, foreignID := seedHostile(t, srv.data)
	ctx := newBrowser(t, browser)
	anon := httpClient{t: t, base: srv.base}

	t.Run("signed out every page shows the sign-in form", func(t *testing.T) {
		for _, p := range []string{"/", "/images", "/images/1", "/registries", "/tasks", "/settings"} {
			resp, body := anon.do("GET", p, nil)
			checkHeaders(t, p, resp)
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="password"`) || strings.Contains(body, "Overview</a>") {
				t.Errorf("GET %s signed out: %s, no sign-in form or a navigation:\n%.400s", p, resp.Status, body)
			}
		}
		mustRun(t, ctx, "open /images", chromedp.Navigate(srv.base+"/images"), chromedp.WaitVisible(chromedp.CSS("#username")))
		// Every form control has a label.
		unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name)`))
		if len(unlabelled) > 0 {
			t.Errorf("form controls without a label: %v", unlabelled)
		}
		screenshot(t, ctx, "signin")
	})

	t.Run("the API keeps its paths", func(t *testing.T) {
		resp, body := anon.do("GET", "/v5/"+quickstartProject+"/image/no-such-route", nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, `"error_code":"HSS.0011"`) {
			t.Errorf("unknown /v5 path: %s %s", resp.Status, body)
		}
		if resp, body := anon.do("GET", "/healthz", nil); resp.StatusCode != http.StatusOK {
			t.Errorf("/healthz: %s %s", resp.Status, body)
		}
	})

	t.Run("a sign-in without the CSRF token is refused", func(t *testing.T) {
		resp, _ := anon.do("POST", "/signin", url.Values{"username": {srv.user}, "password": {srv.password}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("POST /signin without token: %s", resp.Status)
		}
		for _, c := range resp.Cookies() {
			if c.Name == "openhss_session" && c.Value != "" {
				t.Fatalf("a refused sign-in set a session cookie")
			}
		}
	})

	t.Run("sign in lands on the overview", func(t *testing.T) {
		mustRun(t, ctx, "sign in",
			chromedp.SendKeys(chromedp.CSS("#username"), srv.user),
			chromedp.SendKeys(chromedp.CSS("#password"), srv.password),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitVisible(chromedp.CSS("#coverage")))
		if loc := value(t, ctx, "location", chromedp.Location()); loc != srv.base+"/" {
			t.Errorf("after sign-in at %s, want the overview", loc)
		}
		if nav := texts(t, ctx, "header nav li"); !slices.Equal(nav, []string{"Overview", "Images", "Registries", "Tasks", "Settings", "Sign out"}) {
			t.Errorf("navigation = %q", nav)
		}
		cov := strings.Join(texts(t, ctx, "#coverage li"), " | ")
		// 7 private rows of the tour and the hostile local image.
		if !strings.Contains(cov, "8 Images") || !strings.Contains(cov, "Scanned") || !strings.Contains(cov, "Failed") || !strings.Contains(cov, "Unscanned") {
			t.Errorf("coverage = %q", cov)
		}
		if sev := strings.Join(texts(t, ctx, "#severity li"), " | "); !strings.Contains(sev, "High") {
			t.Errorf("severity = %q", sev)
		}
		// GO-2022-1059 in demo/goapp (no severity in the record, fixed in
		// 0.3.8) and the hostile image's one finding, also fixable.
		if got := texts(t, ctx, "#vulns-by-severity li"); !slices.Equal(got, []string{"0 Critical 0 fixable", "0 High 0 fixable",
			"0 Medium 0 fixable", "0 Low 0 fixable", "2 Unknown 2 fixable"}) {
			t.Errorf("vulnerabilities by severity = %q", got)
		}
		// The 30-day trend: two SVG charts named by their titles (the
		// server's snapshots, however many exist yet) and the table of the
		// 30 days behind them.
		for id, title := range map[string]string{"trend-coverage": "Images and scans per day, last 30 days",
			"trend-findings": "Vulnerabilities (findings) by severity per day, last 30 days"} {
			if got := texts(t, ctx, "svg#"+id+"[role=img] > title"); !slices.Equal(got, []string{title}) {
				t.Errorf("trend chart %s: titles %q, want %q", id, got, title)
			}
			if w := value(t, ctx, "chart width", chromedp.Evaluate[float64](
				`document.getElementById("`+id+`").getBoundingClientRect().width`)); w < 200 {
				t.Errorf("trend chart %s is %.0f px wide", id, w)
			}
		}
		if rows := texts(t, ctx, "#trend-table tbody tr"); len(rows) != 30 {
			t.Errorf("trend table: %d rows, want 30", len(rows))
		}
		screenshot(t, ctx, "overview")
		// The range links: a year's charts and its 365 rows.
		value(t, ctx, "365 days", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`nav.ranges a[href="/?days=365#trend"]`))))
		if loc := value(t, ctx, "location", chromedp.Location()); loc != srv.base+"/?days=365#trend" {
			t.Errorf("the 365 days link opened %s", loc)
		}
		if got := texts(t, ctx, "svg#trend-coverage[role=img] > title"); !slices.Equal(got, []string{"Images and scans per day, last 365 days"}) {
			t.Errorf("trend chart over 365 days: titles %q", got)
		}
		if got := texts(t, ctx, `nav.ranges a[aria-current="page"]`); !slices.Equal(got, []string{"365 days"}) {
			t.Errorf("current range %q, want 365 days", got)
		}
		if rows := texts(t, ctx, "#trend-table tbody tr"); len(rows) != 365 {
			t.Errorf("trend table over 365 days: %d rows, want 365", len(rows))
		}
		screenshot(t, ctx, "overview-365")
	})

	jar, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.base}})
	if err != nil {
		t.Fatalf("cookies: %v", err)
	}
	var session *http.Cookie
	for _, c := range jar.Cookies {
		if c.Name == "openhss_session" {
			session = &http.Cookie{Name: c.Name, Value: c.Value}
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Secure {
				t.Errorf("session cookie: HttpOnly %v SameSite %s Secure %v; want HttpOnly, Strict, not Secure on plain HTTP", c.HTTPOnly, c.SameSite, c.Secure)
			}
		}
	}
	if session == nil {
		t.Fatalf("no session cookie after sign-in: %+v", jar.Cookies)
	}
	signed := httpClient{t: t, base: srv.base, cookie: session}
	token, err := fetchToken(context.Background(), srv.base, quickstartProject, srv.user, srv.password)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("every page has the security headers", func(t *testing.T) {
		for _, p := range []string{"/", "/images", "/images?namespace=demo", fmt.Sprintf("/images/%d", hostileID), "/registries", "/tasks", "/settings", "/images/999999999", "/assets/console.css",
			fmt.Sprintf("/images/%d?tab=packages", hostileID), fmt.Sprintf("/images/%d/sbom", hostileID), "/registries/999999999"} {
			resp, _ := signed.do("GET", p, nil)
			checkHeaders(t, p, resp)
		}
	})

	t.Run("images: all versions, total_num as the API", func(t *testing.T) {
		mustRun(t, ctx, "images", chromedp.Navigate(srv.base+"/images"), chromedp.WaitVisible(chromedp.CSS("#images")))
		rows := texts(t, ctx, "#images tbody tr")
		if len(rows) != 7 {
			t.Errorf("%d rows, want the tour's 7 private images (10 per page): %q", len(rows), rows)
		}
		apiTotal := apiListTotal(t, srv.base, token, "image_type=private_image&enterprise_project_id=all_granted_eps")
		if got := texts(t, ctx, "#total"); len(got) != 1 || got[0] != fmt.Sprint(apiTotal) {
			t.Errorf("total_num on the page %q, API %d", got, apiTotal)
		}
		if unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)`)); len(unlabelled) > 0 {
			t.Errorf("form controls without a label on the Images page: %v", unlabelled)
		}
		screenshot(t, ctx, "images") // and images-390x844: a phone-sized window still shows the list
	})

	t.Run("filter by namespace and has_vul, state in the URL", func(t *testing.T) {
		mustRun(t, ctx, "filter",
			chromedp.Navigate(srv.base+"/images"), chromedp.WaitVisible(chromedp.CSS("#namespace")),
			chromedp.SendKeys(chromedp.CSS("#namespace"), "tools"))
		// The old page has a list too: wait for the new page's load.
		value(t, ctx, "filter", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#namespace"))))
		loc := value(t, ctx, "location", chromedp.Location())
		if !strings.Contains(loc, "namespace=tools") {
			t.Errorf("the filter is not in the URL: %s", loc)
		}
		names := texts(t, ctx, imageLinks)
		if len(names) == 0 {
			t.Fatalf("no row in namespace tools")
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "tools/") {
				t.Errorf("row %q outside namespace tools", n)
			}
		}
		u, _ := url.Parse(loc)
		apiTotal := apiListTotal(t, srv.base, token, listQueryOf(u.Query()).Encode())
		if got := texts(t, ctx, "#total"); len(got) != 1 || got[0] != fmt.Sprint(apiTotal) {
			t.Errorf("namespace tools: total_num %q on the page, API %d", got, apiTotal)
		}
		screenshot(t, ctx, "images-namespace")

		// The same URL opened afresh shows the same filter (bookmarkable).
		mustRun(t, ctx, "vulnerable only", chromedp.Navigate(srv.base+"/images?has_vul=true"), chromedp.WaitVisible(chromedp.CSS("#images")))
		names = texts(t, ctx, imageLinks)
		if !slices.Equal(names, []string{"demo/goapp:1.0"}) {
			t.Errorf("has_vul=true rows %q, want demo/goapp:1.0", names)
		}
		sel := value(t, ctx, "has_vul select", chromedp.Value(chromedp.CSS("#has_vul")))
		if sel != "true" {
			t.Errorf("has_vul select shows %q after loading ?has_vul=true", sel)
		}
	})

	t.Run("the vulnerable Go image shows GO-2022-1059", func(t *testing.T) {
		mustRun(t, ctx, "open goapp",
			chromedp.Navigate(srv.base+"/images?namespace=demo&image_name=goapp"), chromedp.WaitVisible(chromedp.CSS("#images")),
			chromedp.Click(chromedp.CSS(imageLinks)),
			chromedp.WaitVisible(chromedp.CSS("#vulns")))
		rows := texts(t, ctx, "#vulns tbody tr")
		var row string
		for _, r := range rows {
			if strings.Contains(r, "GO-2022-1059") {
				row = r
			}
		}
		if row == "" {
			t.Fatalf("GO-2022-1059 not among %q", rows)
		}
		for _, want := range []string{"CVE-2022-32149", "golang.org/x/text", "0.3.7", "0.3.8"} {
			if !strings.Contains(row, want) {
				t.Errorf("GO-2022-1059 row %q lacks %q", row, want)
			}
		}
		screenshot(t, ctx, "image-goapp")
	})

	t.Run("select an image, scan it and watch the scan finish", func(t *testing.T) {
		const query = "image_type=private_image&namespace=demo&image_name=web&image_version=1.1&enterprise_project_id=all_granted_eps"
		before := apiScanTime(t, srv.base, token, query)
		list := srv.base + "/images?namespace=demo&image_name=web&image_version=1.1"
		mustRun(t, ctx, "open the list", chromedp.Navigate(list), chromedp.WaitVisible(chromedp.CSS("#images")),
			chromedp.Click(chromedp.CSS("#images tbody input[type=checkbox]")))
		value(t, ctx, "scan", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#scan button"))))
		if loc := value(t, ctx, "location", chromedp.Location()); loc != list {
			t.Errorf("after the scan request at %s, want the list %s", loc, list)
		}
		// Reload until the scan has finished: bounded by stepTimeout per
		// reload and by the test's context, not timed.
		for {
			mustRun(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#images")))
			status := texts(t, ctx, "#images tbody td.status")
			if len(status) != 1 {
				t.Fatalf("status cells %q", status)
			}
			if status[0] == "success" && apiScanTime(t, srv.base, token, query) > before {
				break
			}
			if strings.Contains(status[0], "failed") {
				t.Fatalf("the scan failed: %q", status[0])
			}
			time.Sleep(200 * time.Millisecond)
		}
		screenshot(t, ctx, "images-scanned")
		// The request is a scan task on the Tasks page, finished once its
		// one item is.
		for {
			mustRun(t, ctx, "tasks", chromedp.Navigate(srv.base+"/tasks"), chromedp.WaitVisible(chromedp.CSS("#scan-tasks")))
			rows := texts(t, ctx, "#scan-tasks tbody tr")
			if len(rows) != 1 || !strings.Contains(rows[0], "manual") {
				t.Fatalf("scan tasks %q, want the one the console started", rows)
			}
			if strings.Contains(rows[0], "finished") {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		screenshot(t, ctx, "tasks")
		// The scan-scope select through the GET form: the console's
		// scan is of every part, so malware alone lists nothing and every
		// part lists it; the URL and the select keep the choice.
		for _, sc := range []struct {
			value string
			rows  int
		}{{"3840", 0}, {"2147483647", 1}} {
			mustRun(t, ctx, "tasks", chromedp.Navigate(srv.base+"/tasks"), chromedp.WaitVisible(chromedp.CSS("#scan-tasks")))
			mustRun(t, ctx, "scope", chromedp.SetValue(chromedp.CSS("#scan_scope"), sc.value))
			value(t, ctx, "filter", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#task-filters button"))))
			if loc := value(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "scan_scope="+sc.value) {
				t.Errorf("after filtering, the URL %s lacks scan_scope=%s", loc, sc.value)
			}
			if got := value(t, ctx, "select", chromedp.Evaluate[string](`document.querySelector('#scan_scope').value`)); got != sc.value {
				t.Errorf("scan_scope=%s: the select shows %q", sc.value, got)
			}
			if rows := value(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('#scan-tasks tbody td:first-child a').length`)); rows != sc.rows {
				t.Errorf("scan_scope=%s: %d tasks, want %d", sc.value, rows, sc.rows)
			}
		}
		if unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)`)); len(unlabelled) > 0 {
			t.Errorf("form controls without a label on the Tasks page: %v", unlabelled)
		}
	})

	t.Run("a multi-arch tag shows its platforms", func(t *testing.T) {
		mustRun(t, ctx, "open multiarch",
			chromedp.Navigate(srv.base+"/images?namespace=tools&image_name=multiarch"), chromedp.WaitVisible(chromedp.CSS("#images")),
			chromedp.Click(chromedp.CSS(imageLinks)),
			chromedp.WaitVisible(chromedp.CSS("#vulns")))
		// Each member with its scan, the one the row describes (and the
		// quickstart scanned) marked.
		if got := strings.Join(texts(t, ctx, "#platforms"), " "); !regexp.MustCompile(
			`^linux/amd64 sha256:\w{12} \(scanned here, [^)]+\), linux/arm64 sha256:\w{12} \(unscan\)$`).MatchString(got) {
			t.Errorf("platforms of tools/multiarch:2.0: %q", got)
		}
	})

	t.Run("hostile names render as text", func(t *testing.T) {
		mustRun(t, ctx, "local images", chromedp.Navigate(srv.base+"/images?image_type=local_image&image_name="+url.QueryEscape(hostileText)),
			chromedp.WaitVisible(chromedp.CSS("#images")))
		if names := texts(t, ctx, imageLinks); !slices.Equal(names, []string{"evil/" + hostileText + ":1.0"}) {
			t.Errorf("hostile row shown as %q", names)
		}
		if v := texts(t, ctx, "#image_name"); len(v) != 1 {
			t.Errorf("image name filter field missing")
		}
		field := value(t, ctx, "filter field", chromedp.Value(chromedp.CSS("#image_name")))
		if field != hostileText {
			t.Errorf("the filter field holds %q, want the hostile text as typed", field)
		}
		screenshot(t, ctx, "images-hostile")
		mustRun(t, ctx, "hostile detail", chromedp.Navigate(fmt.Sprintf("%s/images/%d", srv.base, hostileID)), chromedp.WaitVisible(chromedp.CSS("#vulns")))
		if got := texts(t, ctx, "#vulns .pkg"); !slices.Equal(got, []string{hostileText}) {
			t.Errorf("package name shown as %q", got)
		}
		if got := texts(t, ctx, "#image-title"); !slices.Equal(got, []string{"evil/" + hostileText + ":1.0"}) {
			t.Errorf("title shown as %q", got)
		}
		scripts := value(t, ctx, "scripts", chromedp.Evaluate[int](`document.querySelectorAll('script').length`))
		imgs := value(t, ctx, "images", chromedp.Evaluate[int](`document.querySelectorAll('main img').length`))
		pwned := value(t, ctx, "pwned", chromedp.Evaluate[bool](`window.pwned !== undefined`))
		hrefs := value(t, ctx, "links", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href') || '')`))
		if scripts != 0 || imgs != 0 || pwned {
			t.Errorf("markup from the data became elements: %d scripts, %d images, pwned %v", scripts, imgs, pwned)
		}
		for _, h := range hrefs {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(h)), "javascript:") {
				t.Errorf("a link to %q", h)
			}
		}
		screenshot(t, ctx, "image-hostile")
		// The Packages tab too: the name and path are text.
		mustRun(t, ctx, "hostile packages", chromedp.Navigate(fmt.Sprintf("%s/images/%d?tab=packages", srv.base, hostileID)),
			chromedp.WaitVisible(chromedp.CSS("#packages")))
		if got := texts(t, ctx, "#packages .pkg"); !slices.Equal(got, []string{hostileText}) {
			t.Errorf("package name on the Packages tab shown as %q", got)
		}
		if got := texts(t, ctx, "#packages tbody td.mono"); len(got) == 0 || got[0] != "javascript:alert(1)" {
			t.Errorf("package path shown as %q", got)
		}
		scripts = value(t, ctx, "scripts", chromedp.Evaluate[int](`document.querySelectorAll('script').length`))
		imgs = value(t, ctx, "images", chromedp.Evaluate[int](`document.querySelectorAll('main img').length`))
		pwned = value(t, ctx, "pwned", chromedp.Evaluate[bool](`window.pwned !== undefined`))
		if scripts != 0 || imgs != 0 || pwned {
			t.Errorf("markup on the Packages tab became elements: %d scripts, %d images, pwned %v", scripts, imgs, pwned)
		}
	})

	t.Run("the vulnerable Go image's packages and its SBOM", func(t *testing.T) {
		mustRun(t, ctx, "open goapp",
			chromedp.Navigate(srv.base+"/images?namespace=demo&image_name=goapp"), chromedp.WaitVisible(chromedp.CSS("#images")),
			chromedp.Click(chromedp.CSS(imageLinks)), chromedp.WaitVisible(chromedp.CSS("#vulns")))
		value(t, ctx, "packages tab", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`nav.tabs a[href$="?tab=packages"]`))))
		mustRun(t, ctx, "packages", chromedp.WaitVisible(chromedp.CSS("#packages")))
		if got := texts(t, ctx, "#packages .pkg"); !slices.Contains(got, "golang.org/x/text") {
			t.Errorf("packages of demo/goapp: %q, want golang.org/x/text", got)
		}
		screenshot(t, ctx, "image-goapp-packages")
		// Download both documents through the page's links, in the browser
		// (its session cookie, its origin; the CSP allows 'self').
		for _, tc := range []struct{ link, format, name string }{
			{"#sbom-cyclonedx", "CycloneDX", `"bomFormat"`}, {"#sbom-spdx", "SPDX", `"spdxVersion"`},
		} {
			href := value(t, ctx, "link", chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).href`, tc.link)))
			if !strings.HasPrefix(href, srv.base+"/images/") {
				t.Fatalf("%s link %q", tc.format, href)
			}
			doc := value(t, ctx, "download "+tc.format, chromedp.Evaluate[string](fmt.Sprintf(
				`fetch(%q).then(r => r.ok ? r.text() : Promise.reject(new Error(r.status + " " + r.headers.get("content-type"))))`, href),
				chromedp.EvalAwaitPromise))
			var parsed map[string]any
			if err := json.Unmarshal([]byte(doc), &parsed); err != nil {
				t.Fatalf("%s document is not JSON: %v\n%.300s", tc.format, err, doc)
			}
			if !strings.Contains(doc, tc.name) || !strings.Contains(doc, "golang.org/x/text") {
				t.Errorf("%s document lacks %s or golang.org/x/text:\n%.500s", tc.format, tc.name, doc)
			}
			// Signed out, the same link shows the sign-in form, not the SBOM.
			if _, body := anon.do("GET", strings.TrimPrefix(href, srv.base), nil); strings.Contains(body, "golang.org/x/text") || !strings.Contains(body, `id="password"`) {
				t.Errorf("the %s link answers without a session", tc.format)
			}
		}
		// The other tabs open, with their headers.
		for _, tab := range []string{"settings", "passwords", "malware", "sensitive"} {
			u := strings.TrimSuffix(value(t, ctx, "location", chromedp.Location()), "?tab=packages")
			u = regexp.MustCompile(`\?tab=\w+$`).ReplaceAllString(u, "")
			mustRun(t, ctx, tab, chromedp.Navigate(u+"?tab="+tab), chromedp.WaitVisible(chromedp.CSS("#"+tab)))
			resp, _ := signed.do("GET", strings.TrimPrefix(u, srv.base)+"?tab="+tab, nil)
			checkHeaders(t, tab, resp)
		}
	})

	t.Run("the vulnerable Go image's unsafe settings", func(t *testing.T) {
		mustRun(t, ctx, "open goapp",
			chromedp.Navigate(srv.base+"/images?namespace=demo&image_name=goapp"), chromedp.WaitVisible(chromedp.CSS("#images")),
			chromedp.Click(chromedp.CSS(imageLinks)), chromedp.WaitVisible(chromedp.CSS("#vulns")))
		value(t, ctx, "settings tab", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`nav.tabs a[href$="?tab=settings"]`))))
		mustRun(t, ctx, "settings", chromedp.WaitVisible(chromedp.CSS("#settings")))
		// Each baseline lists its rules with their result: the sample sets
		// no HEALTHCHECK, so that rule failed; a rule it meets passed.
		rows := texts(t, ctx, "table.rules tbody tr")
		if !slices.ContainsFunc(rows, func(r string) bool {
			return strings.Contains(r, "config.no-healthcheck") && strings.Contains(r, "failed")
		}) ||
			!slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, "passed") }) {
			t.Errorf("the rules of demo/goapp's baselines: %q, want config.no-healthcheck failed and a rule passed", rows)
		}
		if counts := texts(t, ctx, "#settings tbody td:nth-child(5)"); len(counts) == 0 ||
			slices.ContainsFunc(counts, func(c string) bool { return !regexp.MustCompile(`^[0-9]+$`).MatchString(c) }) {
			t.Errorf("the baselines' rule counts: %q", counts)
		}
		// The rules route's result_type through the GET form: the URL
		// holds it, and only failed rules are listed.
		mustRun(t, ctx, "filter", chromedp.SetValue(chromedp.CSS("#result_type"), "failed"))
		value(t, ctx, "filter", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#settings-filters button"))))
		if loc := value(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "result_type=failed") || !strings.Contains(loc, "tab=settings") {
			t.Errorf("after filtering, the URL %s lacks tab=settings and result_type=failed", loc)
		}
		results := texts(t, ctx, "table.rules td.result")
		if len(results) == 0 || slices.ContainsFunc(results, func(r string) bool { return r != "failed" }) {
			t.Errorf("result_type=failed lists %q", results)
		}
		if rows := texts(t, ctx, "table.rules tbody tr"); !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, "config.no-healthcheck") }) {
			t.Errorf("result_type=failed rows %q lack config.no-healthcheck", rows)
		}
		if unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)`)); len(unlabelled) > 0 {
			t.Errorf("form controls without a label on the Unsafe settings tab: %v", unlabelled)
		}
		screenshot(t, ctx, "image-goapp-settings")
	})

	t.Run("the vulnerable Go image's layers and scan history", func(t *testing.T) {
		mustRun(t, ctx, "open goapp",
			chromedp.Navigate(srv.base+"/images?namespace=demo&image_name=goapp"), chromedp.WaitVisible(chromedp.CSS("#images")),
			chromedp.Click(chromedp.CSS(imageLinks)), chromedp.WaitVisible(chromedp.CSS("#vulns")))
		// The severity filter is a GET form: its state is the URL.
		mustRun(t, ctx, "filter", chromedp.SetValue(chromedp.CSS("#severity"), "unknown"))
		value(t, ctx, "filter", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#vuln-filters button"))))
		if loc := value(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "severity=unknown") {
			t.Errorf("after filtering, the URL %s lacks severity=unknown", loc)
		}
		// GO-2022-1059 has no severity in its record: unknown.
		if rows := texts(t, ctx, "#vulns tbody tr"); !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, "GO-2022-1059") }) {
			t.Errorf("severity=unknown rows %q lack GO-2022-1059", rows)
		}
		if unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)`)); len(unlabelled) > 0 {
			t.Errorf("form controls without a label on the Vulnerabilities tab: %v", unlabelled)
		}
		value(t, ctx, "layers tab", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`nav.tabs a[href$="?tab=layers"]`))))
		mustRun(t, ctx, "layers", chromedp.WaitVisible(chromedp.CSS("#layers")))
		var layer string
		for _, r := range texts(t, ctx, "#layers tbody tr") {
			if strings.Contains(r, "GO-2022-1059") {
				layer = r
			}
		}
		// The quickstart scanned it with this build: its step is recorded.
		if !strings.Contains(layer, "golang.org/x/text") || !strings.Contains(layer, "COPY demo-app") || strings.Contains(layer, "not recorded") {
			t.Errorf("the layer with GO-2022-1059: %q", layer)
		}
		screenshot(t, ctx, "image-goapp-layers")
		// The layer's link opens its findings: the Vulnerabilities tab
		// filtered to the layer.
		value(t, ctx, "layer's findings", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS("#layers a.layer-vulns-link"))))
		mustRun(t, ctx, "layer's findings", chromedp.WaitVisible(chromedp.CSS("#layer-filter")))
		if rows := texts(t, ctx, "#vulns tbody tr"); len(rows) == 0 || !strings.Contains(rows[0], "GO-2022-1059") {
			t.Errorf("the layer's findings: %q", rows)
		}
		loc := value(t, ctx, "location", chromedp.Location())
		if !strings.Contains(loc, "layer=sha256") {
			t.Errorf("the layer's findings at %s, want layer= in the URL", loc)
		}
		mustRun(t, ctx, "back to layers", chromedp.Navigate(regexp.MustCompile(`\?.*$`).ReplaceAllString(loc, "")+"?tab=layers"),
			chromedp.WaitVisible(chromedp.CSS("#layers")))
		value(t, ctx, "history tab", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`nav.tabs a[href$="?tab=history"]`))))
		mustRun(t, ctx, "history", chromedp.WaitVisible(chromedp.CSS("#history")))
		if rows := texts(t, ctx, "#history tbody tr"); len(rows) == 0 || !strings.Contains(rows[len(rows)-1], "success") {
			t.Errorf("scan history of demo/goapp: %q, want the quickstart's successful scan", rows)
		}
		screenshot(t, ctx, "image-goapp-history")
		for _, tab := range []string{"layers", "history"} {
			u := regexp.MustCompile(`\?.*$`).ReplaceAllString(value(t, ctx, "location", chromedp.Location()), "")
			resp, _ := signed.do("GET", strings.TrimPrefix(u, srv.base)+"?tab="+tab, nil)
			checkHeaders(t, tab, resp)
		}
	})

	t.Run("add a registry, test it, sync it and see its images", func(t *testing.T) {
		// A second registry on 127.0.0.1, which the quickstart's network
		// policy allows (it allows its own sample registry's address).
		reg := registrytest.New(t, registrytest.WithBasicAuth("robot", "s3cret-pw"))
		reg.PushImage(t, "console/app", "1.0", registrytest.ImageOptions{})
		mustRun(t, ctx, "registries", chromedp.Navigate(srv.base+"/registries"), chromedp.WaitVisible(chromedp.CSS("#add-registry")))
		if unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)`)); len(unlabelled) > 0 {
			t.Errorf("form controls without a label on the Registries page: %v", unlabelled)
		}
		mustRun(t, ctx, "fill the form",
			chromedp.SendKeys(chromedp.CSS("#registry_name"), "console-e2e"),
			chromedp.SetValue(chromedp.CSS("#registry_type"), "Harbor"),
			chromedp.SetValue(chromedp.CSS("#protocol"), "http"),
			chromedp.SendKeys(chromedp.CSS("#registry_addr"), reg.Addr()),
			chromedp.SendKeys(chromedp.CSS("#namespace"), "console"),
			chromedp.SendKeys(chromedp.CSS("#registry_username"), "robot"),
			chromedp.SendKeys(chromedp.CSS("#registry_password"), "s3cret-pw"))
		value(t, ctx, "add", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#registry_name"))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "was added") {
			t.Fatalf("after adding: %q", got)
		}
		row := func() string {
			for _, r := range texts(t, ctx, "#registries tbody tr") {
				if strings.Contains(r, "console-e2e") {
					return r
				}
			}
			t.Fatalf("no console-e2e row in %q", texts(t, ctx, "#registries tbody tr"))
			return ""
		}
		if r := row(); !strings.Contains(r, "http://"+reg.Addr()) {
			t.Errorf("row %q", r)
		}
		if html := value(t, ctx, "html", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, "s3cret-pw") {
			t.Errorf("the page shows the password")
		}
		value(t, ctx, "test connection", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`#registries button[aria-label="Test the connection of console-e2e"]`))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.HasPrefix(got[0], "Connection succeeded") {
			t.Errorf("test connection: %q", got)
		}
		screenshot(t, ctx, "registry")
		mustRun(t, ctx, "registries", chromedp.Navigate(srv.base+"/registries"), chromedp.WaitVisible(chromedp.CSS("#registries")))
		value(t, ctx, "sync now", chromedp.WaitEvent(page.LoadEventFired, nil,
			chromedp.Click(chromedp.CSS(`#registries button[aria-label="Sync console-e2e now"]`))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "sync task was started") {
			t.Errorf("sync now: %q", got)
		}
		// Reload until the sync has recorded its result: bounded by
		// stepTimeout per reload and the test's context, not timed.
		for {
			mustRun(t, ctx, "reload", chromedp.Navigate(srv.base+"/registries"), chromedp.WaitVisible(chromedp.CSS("#registries")))
			r := row()
			if strings.Contains(r, "success") {
				break
			}
			if strings.Contains(r, "fail") {
				t.Fatalf("the sync failed: %q", r)
			}
			time.Sleep(200 * time.Millisecond)
		}
		screenshot(t, ctx, "registries")
		mustRun(t, ctx, "its images", chromedp.Navigate(srv.base+"/images?namespace=console"), chromedp.WaitVisible(chromedp.CSS("#images")))
		if names := texts(t, ctx, imageLinks); !slices.Equal(names, []string{"console/app:1.0"}) {
			t.Errorf("images of the new registry: %q", names)
		}
		apiTotal := apiListTotal(t, srv.base, token, "image_type=private_image&namespace=console&enterprise_project_id=all_granted_eps")
		if got := texts(t, ctx, "#total"); len(got) != 1 || got[0] != fmt.Sprint(apiTotal) || apiTotal != 1 {
			t.Errorf("total_num on the page %q, API %d", got, apiTotal)
		}
		// The sync task is on the Tasks page, whose total is the API's
		// for the query it shows, one task a page with a link to the next.
		mustRun(t, ctx, "tasks", chromedp.Navigate(srv.base+"/tasks?type=image_sync"), chromedp.WaitVisible(chromedp.CSS("#sync-tasks")))
		if rows := strings.Join(texts(t, ctx, "#sync-tasks tbody tr"), " | "); !strings.Contains(rows, "manualSync") {
			t.Errorf("sync tasks: %q", rows)
		}
		mustRun(t, ctx, "tasks by one", chromedp.Navigate(srv.base+"/tasks?type=image_sync&limit=1"), chromedp.WaitVisible(chromedp.CSS("#sync-tasks")))
		taskTotal := apiTotalOf(t, srv.base, token, "tasks", "type=image_sync&limit=1&enterprise_project_id=all_granted_eps")
		if got := texts(t, ctx, "#total"); len(got) != 1 || got[0] != fmt.Sprint(taskTotal) || taskTotal < 1 {
			t.Errorf("tasks total_num on the page %q, API %d", got, taskTotal)
		}
		if next := texts(t, ctx, `a[rel=next]`); (taskTotal > 1) != (len(next) == 1) {
			t.Errorf("%d sync tasks one a page, next links %q", taskTotal, next)
		}
		// The Registries page pages too: the quickstart's registry and this
		// one, one a page.
		mustRun(t, ctx, "registries by one", chromedp.Navigate(srv.base+"/registries?limit=1"), chromedp.WaitVisible(chromedp.CSS("#registries")))
		regTotal := apiTotalOf(t, srv.base, token, "registries", "limit=1&enterprise_project_id=all_granted_eps")
		if got := texts(t, ctx, "#total"); len(got) != 1 || got[0] != fmt.Sprint(regTotal) || regTotal < 2 {
			t.Errorf("registries total_num on the page %q, API %d", got, regTotal)
		}
		first := texts(t, ctx, "#registries tbody tr")
		value(t, ctx, "next registries", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(`a[rel=next]`))))
		mustRun(t, ctx, "next registries", chromedp.WaitVisible(chromedp.CSS("#registries")))
		if second := texts(t, ctx, "#registries tbody tr"); len(first) != 1 || len(second) != 1 || first[0] == second[0] {
			t.Errorf("registries one a page: %q then %q", first, second)
		}
		screenshot(t, ctx, "registries-paged")
		// A registry address the policy denies is refused in the page.
		resp, body := signed.do("POST", "/registries/add", url.Values{"csrf": {csrfOf(t, signed)}, "registry_name": {"meta"},
			"registry_type": {"Other"}, "protocol": {"http"}, "registry_addr": {"169.254.169.254"}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "network policy") {
			t.Errorf("add 169.254.169.254: %s", resp.Status)
		}
	})

	t.Run("settings: vulnerability data, a credential shown once, the whitelist", func(t *testing.T) {
		mustRun(t, ctx, "settings", chromedp.Navigate(srv.base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#create-credential")))
		if unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select,textarea')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)`)); len(unlabelled) > 0 {
			t.Errorf("form controls without a label on the Settings page: %v", unlabelled)
		}
		if got := texts(t, ctx, "#ecosystems tbody tr"); len(got) == 0 || strings.HasPrefix(got[0], "None") {
			t.Errorf("no vulnerability data source listed: %q", got)
		}
		mustRun(t, ctx, "describe", chromedp.SendKeys(chromedp.CSS("#description"), "browser test"))
		value(t, ctx, "create credential", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#description"))))
		secretKeys := texts(t, ctx, "#new-secret-key")
		if len(secretKeys) != 1 || len(secretKeys[0]) < 20 {
			t.Fatalf("the create answer shows no secret key: %q", secretKeys)
		}
		mustRun(t, ctx, "settings again", chromedp.Navigate(srv.base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#credential-list")))
		if html := value(t, ctx, "html", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, secretKeys[0]) {
			t.Errorf("the Settings page shows the secret key again")
		}
		if rows := texts(t, ctx, "#credential-list tbody tr"); !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, "browser test") }) {
			t.Errorf("credential rows %q lack the new one", rows)
		}
		mustRun(t, ctx, "whitelist", chromedp.SetValue(chromedp.CSS("#customized_path"), "/etc/ssl/private\nrelative"))
		value(t, ctx, "save refused", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#customized_path"))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "customized_path[1]: must be an absolute path") {
			t.Errorf("a relative path: %q", got)
		}
		mustRun(t, ctx, "whitelist", chromedp.SetValue(chromedp.CSS("#customized_path"), "/etc/ssl/private\n/opt/*/keys"))
		value(t, ctx, "save", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#customized_path"))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "now has 2 entries") {
			t.Errorf("saving the whitelist: %q", got)
		}
		screenshot(t, ctx, "settings")
	})

	t.Run("scan all matching, and stop a running scan task", func(t *testing.T) {
		const query = "image_type=private_image&namespace=demo&image_name=web&enterprise_project_id=all_granted_eps"
		scanTasks := func() []string {
			mustRun(t, ctx, "tasks", chromedp.Navigate(srv.base+"/tasks"), chromedp.WaitVisible(chromedp.CSS("#scan-tasks")))
			return texts(t, ctx, "#scan-tasks tbody tr")
		}
		before := len(scanTasks())
		list := srv.base + "/images?namespace=demo&image_name=web"
		mustRun(t, ctx, "list", chromedp.Navigate(list), chromedp.WaitVisible(chromedp.CSS("#scan-all")))
		n := apiListTotal(t, srv.base, token, query)
		if got := texts(t, ctx, "#scan-all button"); n < 2 || !slices.Equal(got, []string{fmt.Sprintf("Scan all %d matching", n)}) {
			t.Fatalf("scan-all button %q, API total_num %d", got, n)
		}
		value(t, ctx, "scan all", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#scan-all button"))))
		if loc := value(t, ctx, "location", chromedp.Location()); loc != list {
			t.Errorf("after scan all at %s, want the list %s", loc, list)
		}
		if rows := scanTasks(); len(rows) != before+1 || !strings.Contains(rows[0], "manual") {
			t.Fatalf("scan tasks after scan all: %q (before %d)", rows, before)
		}
		// A scan task that stays running: the API's rate_limit of one
		// image an hour spaces the scans of a third-party registry's
		// images, so all but the first of its scans wait. A Harbor
		// connection with two images, added and synced through the
		// console's forms.
		reg := registrytest.New(t)
		reg.PushImage(t, "slow/a", "1.0", registrytest.ImageOptions{Layers: []map[string]string{{"a.txt": "a"}}})
		reg.PushImage(t, "slow/b", "1.0", registrytest.ImageOptions{Layers: []map[string]string{{"b.txt": "b"}}})
		resp, _ := signed.do("POST", "/registries/add", url.Values{"csrf": {csrfOf(t, signed)}, "registry_name": {"slow-e2e"},
			"registry_type": {"Harbor"}, "protocol": {"http"}, "registry_addr": {reg.Addr()}, "namespace": {"slow"}})
		_, answer := signed.do("GET", "/registries", nil)
		m := regexp.MustCompile(`href="/registries/(\d+)">slow-e2e<`).FindStringSubmatch(answer)
		if resp.StatusCode != http.StatusSeeOther || m == nil {
			t.Fatalf("add slow-e2e: %s\n%s", resp.Status, answer)
		}
		if resp, _ := signed.do("POST", "/registries/"+m[1]+"/sync", url.Values{"csrf": {csrfOf(t, signed)}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sync slow-e2e: %s", resp.Status)
		}
		// Until both images are listed: bounded by the test's context.
		for apiListTotal(t, srv.base, token, "image_type=private_image&namespace=slow&enterprise_project_id=all_granted_eps") != 2 {
			time.Sleep(200 * time.Millisecond)
		}
		body := `{"rate_limit":1,"is_all":true,"query_info":{"image_type":"private_image","namespace":"slow"}}`
		req, err := http.NewRequest("POST", srv.base+"/v5/"+quickstartProject+"/image/image-scan/tasks", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Auth-Token", token)
		req.Header.Set("Content-Type", "application/json")
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("create a rate-limited scan task: %s", resp.Status)
		}
		// Wait until the scan-all task has finished, so that the one
		// running task is the rate-limited one: reloads bounded by
		// stepTimeout each and the test's context, not timed.
		var rows []string
		for {
			rows = scanTasks()
			running := 0
			for _, r := range rows {
				if strings.Contains(r, "running") {
					running++
				}
			}
			if len(rows) != before+2 {
				t.Fatalf("scan tasks: %q, want %d", rows, before+2)
			}
			if running == 1 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		i := slices.IndexFunc(rows, func(r string) bool { return strings.Contains(r, "running") })
		stop := fmt.Sprintf(`#scan-tasks tbody tr:nth-child(%d) button`, i+1)
		label := value(t, ctx, "stop label", chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).getAttribute("aria-label")`, stop)))
		name, ok := strings.CutPrefix(label, "Stop ")
		if !ok {
			t.Fatalf("first scan task's button %q", label)
		}
		value(t, ctx, "stop", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(stop))))
		if loc := value(t, ctx, "location", chromedp.Location()); loc != srv.base+"/tasks" {
			t.Fatalf("after Stop at %s, want the Tasks page; the page says %q", loc, texts(t, ctx, "main"))
		}
		rows = texts(t, ctx, "#scan-tasks tbody tr")
		if !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, name) && strings.Contains(r, "stopped") }) {
			t.Errorf("task %s not stopped: %q", name, rows)
		}
		if n := value(t, ctx, "stop buttons", chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll('#scan-tasks button[aria-label="Stop %s"]').length`, name))); n != 0 {
			t.Errorf("the stopped task still has a Stop button")
		}
		screenshot(t, ctx, "tasks-stopped")
	})

	t.Run("settings: update the vulnerability data now", func(t *testing.T) {
		mustRun(t, ctx, "settings", chromedp.Navigate(srv.base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#update-vulndata")))
		value(t, ctx, "update now", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#update-vulndata button"))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "update queued") {
			t.Errorf("update now: %q", got)
		}
		// Reload until the workers have run it: bounded by stepTimeout per
		// reload and the test's context, not timed.
		for {
			mustRun(t, ctx, "reload", chromedp.Navigate(srv.base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#update-state")))
			state := strings.Join(texts(t, ctx, "#update-state"), "")
			if strings.Contains(state, "finished") {
				break
			}
			if strings.Contains(state, "failed") {
				t.Fatalf("the update failed: %q", state)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if html := value(t, ctx, "html", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); !strings.Contains(html, "/Go/all.zip") {
			t.Errorf("the last import is not the bucket's Go archive")
		}
		screenshot(t, ctx, "settings-updated")
		// Again at once: quickstart's default --vulndb-min-interval (an hour)
		// refuses it.
		value(t, ctx, "update now again", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS("#update-vulndata button"))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "Update now is taken again from") {
			t.Errorf("update now right after an update: %q", got)
		}
	})

	t.Run("roles: a viewer added on Settings sees no control that changes anything", func(t *testing.T) {
		const viewer, viewerPW = "browser-viewer", "viewer-pw-123"
		mustRun(t, ctx, "settings", chromedp.Navigate(srv.base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#create-user")),
			chromedp.SendKeys(chromedp.CSS("#new-user-name"), viewer),
			chromedp.SendKeys(chromedp.CSS("#new-user-password"), viewerPW),
			chromedp.SetValue(chromedp.CSS("#new-user-role"), "viewer"))
		value(t, ctx, "create user", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#new-user-name"))))
		if got := texts(t, ctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "User "+viewer+" created as viewer") {
			t.Fatalf("creating a viewer: %q", got)
		}
		if rows := texts(t, ctx, "#user-list tbody tr"); !slices.ContainsFunc(rows, func(r string) bool {
			return strings.HasPrefix(r, viewer) && strings.Contains(r, "viewer") && strings.Contains(r, "Set role")
		}) {
			t.Errorf("user rows %q lack the viewer with its role and a Set role control", rows)
		}
		if unlabelled := value(t, ctx, "labels", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]),select,textarea')).filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)`)); len(unlabelled) > 0 {
			t.Errorf("form controls without a label on the Settings page: %v", unlabelled)
		}
		screenshot(t, ctx, "settings-users")

		// The viewer, in a browser context of her own (her own cookies).
		vctx, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
		defer cancel()
		// The first action opens the tab, for vctx's life: not under a
		// step's timeout, whose end would close it.
		if err := chromedp.Do(vctx); err != nil {
			t.Fatalf("open the viewer's browser context: %v", err)
		}
		mustRun(t, vctx, "viewer signs in", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), viewer),
			chromedp.SendKeys(chromedp.CSS("#password"), viewerPW),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitVisible(chromedp.CSS("#coverage")))
		for _, p := range []string{"/", "/images", "/images?image_type=local_image", fmt.Sprintf("/images/%d", hostileID), "/registries", "/tasks", "/settings"} {
			mustRun(t, vctx, p, chromedp.Navigate(srv.base+p), chromedp.WaitVisible(chromedp.CSS("main")))
			if got := texts(t, vctx, "#my-role"); !slices.Equal(got, []string{"role viewer"}) {
				t.Errorf("viewer %s: role shown %q", p, got)
			}
			// Only GET forms (filters), Sign out and her own password
			// (Settings, Account): no control that changes the project.
			if posts := value(t, vctx, "forms", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('form')).filter(f => f.method === 'post' && f.getAttribute('action') !== '/signout' && f.getAttribute('action') !== '/settings/password').map(f => f.getAttribute('action'))`)); len(posts) > 0 {
				t.Errorf("viewer %s shows forms that change things: %v", p, posts)
			}
			if buttons := value(t, vctx, "buttons", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('button')).map(b => b.textContent.trim()).filter(x => x !== 'Filter' && x !== 'Sign out' && x !== 'Change password')`)); len(buttons) > 0 {
				t.Errorf("viewer %s shows buttons %q", p, buttons)
			}
		}
		screenshot(t, vctx, "settings-viewer")
		// She changes her own password: the session continues (re-issued;
		// the cookie read below is the new one).
		mustRun(t, vctx, "change password", chromedp.Navigate(srv.base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#change-password")),
			chromedp.SendKeys(chromedp.CSS("#current-password"), viewerPW),
			chromedp.SendKeys(chromedp.CSS("#new-password"), viewerPW+"-new"),
			chromedp.SendKeys(chromedp.CSS("#confirm-password"), viewerPW+"-new"))
		value(t, vctx, "change password", chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Submit(chromedp.CSS("#current-password"))))
		if got := texts(t, vctx, "#message"); len(got) != 1 || !strings.Contains(got[0], "Your password was changed.") {
			t.Errorf("the viewer's password change: %q", got)
		}
		mustRun(t, vctx, "still signed in", chromedp.Navigate(srv.base+"/settings"), chromedp.WaitVisible(chromedp.CSS("#account")))
		// A form posted anyway (its CSRF token is valid) is refused.
		jar, err := chromedp.Call(vctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.base}})
		if err != nil {
			t.Fatalf("cookies: %v", err)
		}
		vc := httpClient{t: t, base: srv.base}
		for _, c := range jar.Cookies {
			if c.Name == "openhss_session" {
				vc.cookie = &http.Cookie{Name: c.Name, Value: c.Value}
			}
		}
		if vc.cookie == nil {
			t.Fatal("no viewer session cookie")
		}
		_, body := vc.do("GET", "/", nil)
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatal("no CSRF token on the viewer's overview")
		}
		if resp, body := vc.do("POST", "/settings/whitelist", url.Values{"csrf": {m[1]}, "customized_path": {"/"}}); resp.StatusCode != http.StatusForbidden ||
			!strings.Contains(body, "Your role (viewer) does not allow this") {
			t.Errorf("viewer's whitelist post: %s", resp.Status)
		}
		if resp, body := signed.do("GET", "/settings", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "/opt/*/keys") {
			t.Errorf("the whitelist changed after the viewer's refused post")
		}
	})

	t.Run("another project's image is not found", func(t *testing.T) {
		resp, body := signed.do("GET", fmt.Sprintf("/images/%d", foreignID), nil)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "secret-app") {
			t.Errorf("GET another project's image: %s\n%.300s", resp.Status, body)
		}
		mustRun(t, ctx, "foreign", chromedp.Navigate(fmt.Sprintf("%s/images/%d", srv.base, foreignID)), chromedp.WaitVisible(chromedp.CSS(".error")))
		if got := texts(t, ctx, ".error"); !slices.Equal(got, []string{"Image not found."}) {
			t.Errorf("page says %q", got)
		}
	})

	t.Run("a sign-out without the CSRF token is refused and changes nothing", func(t *testing.T) {
		resp, _ := signed.do("POST", "/signout", url.Values{})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /signout without token: %s", resp.Status)
		}
		resp, _ = signed.do("POST", "/signout", url.Values{"csrf": {"forged"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /signout with a forged token: %s", resp.Status)
		}
		if resp, body := signed.do("GET", "/", nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="coverage"`) {
			t.Errorf("the session ended after refused sign-outs: %s", resp.Status)
		}
	})

	t.Run("sign out revokes the session", func(t *testing.T) {
		mustRun(t, ctx, "sign out", chromedp.Navigate(srv.base+"/"), chromedp.WaitVisible(chromedp.CSS("#coverage")),
			chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#username")))
		screenshot(t, ctx, "signed-out")
		// The old cookie, replayed, no longer opens anything.
		for _, p := range []string{"/", "/images", fmt.Sprintf("/images/%d", hostileID)} {
			resp, body := signed.do("GET", p, nil)
			if !strings.Contains(body, `id="password"`) || strings.Contains(body, `id="coverage"`) || strings.Contains(body, "evil/") {
				t.Errorf("GET %s with the signed-out cookie: %s, not the sign-in form", p, resp.Status)
			}
		}
	})
}

// listQueryOf is the query the Images page asks the API's list for: its
// URL's parameters without the empty ones, private_image and
// all_granted_eps unless given.
func listQueryOf(in url.Values) url.Values {
	q := url.Values{}
	for k, vs := range in {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	if q.Get("image_type") == "" {
		q.Set("image_type", "private_image")
	}
	if q.Get("enterprise_project_id") == "" {
		q.Set("enterprise_project_id", "all_granted_eps")
	}
	return q
}

// apiListTotal is total_num of GET swr-repository?query.
func apiListTotal(t *testing.T, base, token, query string) int64 {
	t.Helper()
	b, err := getWithToken(context.Background(), base+"/v5/"+quickstartProject+"/image/swr-repository?"+query, token)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		TotalNum int64 `json:"total_num"`
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		t.Fatal(err)
	}
	return resp.TotalNum
}

// apiTotalOf is total_num of GET /v5/{project}/image/{route}?query.
func apiTotalOf(t *testing.T, base, token, route, query string) int64 {
	t.Helper()
	b, err := getWithToken(context.Background(), base+"/v5/"+quickstartProject+"/image/"+route+"?"+query, token)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		TotalNum *int64 `json:"total_num"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || resp.TotalNum == nil {
		t.Fatalf("%s?%s: %v %s", route, query, err, b)
	}
	return *resp.TotalNum
}

// apiScanTime is latest_scan_time of the one row GET swr-repository?query
// lists.
func apiScanTime(t *testing.T, base, token, query string) int64 {
	t.Helper()
	b, err := getWithToken(context.Background(), base+"/v5/"+quickstartProject+"/image/swr-repository?"+query, token)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		DataList []struct {
			LatestScanTime int64 `json:"latest_scan_time"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(b, &resp); err != nil || len(resp.DataList) != 1 {
		t.Fatalf("%s: %v %s", query, err, b)
	}
	return resp.DataList[0].LatestScanTime
}

// csrfOf is the session's CSRF token, read from a page's form.
func csrfOf(t *testing.T, h httpClient) string {
	t.Helper()
	_, body := h.do("GET", "/registries", nil)
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on /registries")
	}
	return m[1]
}
