package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openhss/openhss/internal/demo"
	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/store"
)

// execCLI runs args through execute, as main does, and returns the exit
// status with what was printed.
func execCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = execute(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// joseMain links gopkg.in/square/go-jose.v2, whose GO-2024-2631 has no
// fixed version in any release: a real finding --ignore-unfixed drops.
const joseMain = `package main

import (
	"fmt"

	jose "gopkg.in/square/go-jose.v2"
)

func main() { fmt.Println(jose.RS256) }
`

// scanImages are the test's real images: vulnerable holds the quickstart's
// Go program (golang.org/x/text v0.3.7: GO-2022-1059, fixed in 0.3.8) and
// one linking go-jose v2.6.0 (GO-2024-2631, unfixed); clean holds no
// software; other is another clean image, of its own digest.
func scanImages(t *testing.T) (vulnerable, clean, other v1.Image) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skipf("the go command builds the test's vulnerable programs: %v", err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	goApp, err := demo.BuildVulnerableGoApp(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	joseApp, err := demo.BuildGoProgram(ctx, dir, "unfixed-go-app", joseMain, "gopkg.in/square/go-jose.v2@v2.6.0")
	if err != nil {
		t.Fatal(err)
	}
	osRelease := imagetest.Reg("etc/os-release", "ID=openhss-test\nVERSION_ID=\"1\"\n")
	image := func(files ...imagetest.File) v1.Image {
		return imagetest.Image(t, imagetest.Layer(t, append(files, osRelease)...))
	}
	vulnerable = image(imagetest.Exe("usr/local/bin/demo-app", string(goApp)), imagetest.Exe("usr/local/bin/jose-app", string(joseApp)))
	clean = image(imagetest.Reg("srv/www/index.html", "<h1>clean</h1>\n"))
	other = image(imagetest.Reg("srv/www/index.html", "<h1>another</h1>\n"))
	return vulnerable, clean, other
}

var goVulnData struct {
	once sync.Once
	dir  string
	err  error
}

// goVulnDataDir is data/osv of the Go vulnerability database module the
// quickstart falls back to (goVulnDBVersion), through the Go module proxy.
func goVulnDataDir(t *testing.T) string {
	t.Helper()
	goVulnData.once.Do(func() {
		cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+goVulnDBVersion)
		cmd.Dir = t.TempDir() // outside the module: never touches go.mod
		out, err := cmd.Output()
		if err != nil {
			goVulnData.err = err
			return
		}
		var mod struct{ Dir string }
		if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
			goVulnData.err = fmt.Errorf("go mod download: %q (%v)", out, err)
			return
		}
		goVulnData.dir = filepath.Join(mod.Dir, "data", "osv")
	})
	if goVulnData.err != nil {
		t.Fatalf("golang.org/x/vulndb@%s: %v", goVulnDBVersion, goVulnData.err)
	}
	return goVulnData.dir
}

func pushImage(t *testing.T, reg *registrytest.Registry, repo, tag string, img v1.Image) {
	t.Helper()
	if err := remote.Write(reg.Repo(t, repo).Tag(tag), img, reg.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
}

// jsonReport is one image of `scan --wait --json`, decoded loosely so that
// the test sees exactly the printed field names.
type jsonReport struct {
	ID              int64            `json:"id"`
	Image           string           `json:"image"`
	ImageType       string           `json:"image_type"`
	Digest          string           `json:"image_digest"`
	ScanStatus      string           `json:"scan_status"`
	VulNum          int32            `json:"vul_num"`
	Vulnerabilities []map[string]any `json:"vulnerabilities"`
}

// TestScanCommand drives `openhss scan` over real images, a real registry
// and the Go vulnerability database: every image type, ref resolution,
// the findings it prints, and the --fail-on gate's exit statuses.
func TestScanCommand(t *testing.T) {
	vulnerable, clean, other := scanImages(t)
	// Every command below that reaches a registry reaches registrytest's
	// on loopback, which the default network policy denies.
	t.Setenv("OPENHSS_REGISTRY_ALLOW", loopbackAllow)
	data := t.TempDir()
	g := []string{"--data", data, "--log-level", "error"}
	const project = "scanproject"
	cli := func(args ...string) (int, string, string) {
		t.Helper()
		return execCLI(t, append(args, g...)...)
	}
	if code, out, errOut := cli("db", "import", goVulnDataDir(t)); code != 0 {
		t.Fatalf("db import: %d %s %s", code, out, errOut)
	}

	// 1. A project holding only an imported local image: --all without
	// --type scans it.
	tarPath := filepath.Join(t.TempDir(), "goapp.tar")
	tag, err := name.NewTag("example.com/team/goapp:1.0")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(tarPath, tag, vulnerable); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := cli("images", "import", "--project", project, tarPath); code != 0 {
		t.Fatalf("images import: %d %s %s", code, out, errOut)
	}
	code, out, errOut := cli("scan", "--project", project, "--all", "--wait")
	if code != 0 {
		t.Fatalf("scan --all --wait of a local image: exit %d\n%s%s", code, out, errOut)
	}
	// The findings table: GO-2022-1059 on golang.org/x/text v0.3.7, fixed
	// in 0.3.8, unrated by the Go database; the unfixed one with "-".
	for _, want := range []string{
		"team/goapp:1.0 (local_image, id ", ": success",
		"VUL_ID", "PACKAGE", "INSTALLED", "FIXED", "SEVERITY", "PATH",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("scan --all --wait lacks %q:\n%s", want, out)
		}
	}
	if !hasRow(out, "GO-2022-1059", "golang.org/x/text", "0.3.7", "0.3.8", "unknown", "/usr/local/bin/demo-app") ||
		!hasRow(out, "GO-2024-2631", "gopkg.in/square/go-jose.v2", "2.6.0", "-", "unknown", "/usr/local/bin/jose-app") {
		t.Fatalf("findings table lacks GO-2022-1059 or GO-2024-2631 rows:\n%s", out)
	}

	// 2. The same name synced from a registry as a private_image, next to
	// the local one: ambiguous without --type.
	reg := registrytest.New(t)
	pushImage(t, reg, "team/goapp", "1.0", vulnerable)
	pushImage(t, reg, "team/clean", "1.0", clean)
	gone := registrytest.New(t)
	pushImage(t, gone, "gone/app", "1.0", other)
	for _, r := range []struct{ name, addr, ns string }{{"main", reg.Addr(), "team"}, {"gone", gone.Addr(), "gone"}} {
		if code, out, errOut := cli("registry", "add", "--project", project, "--name", r.name, "--addr", r.addr,
			"--protocol", "http", "--namespace", r.ns); code != 0 {
			t.Fatalf("registry add: %d %s %s", code, out, errOut)
		}
	}
	if code, out, errOut := cli("sync", "--project", project, "--wait"); code != 0 {
		t.Fatalf("sync: %d %s %s", code, out, errOut)
	}
	gone.Close() // its image now fails to download

	st, err := store.Open(context.Background(), "sqlite://"+filepath.Join(data, "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	row := func(typ inventory.ImageType, ns, name string) inventory.Image {
		t.Helper()
		rows, err := st.ImagesByRef(context.Background(), project, typ, ns, name, "1.0")
		if err != nil || len(rows) != 1 {
			t.Fatalf("%s %s/%s:1.0: %v %+v", typ, ns, name, err, rows)
		}
		return rows[0]
	}
	local, private := row(inventory.LocalImage, "team", "goapp"), row(inventory.PrivateImage, "team", "goapp")
	cleanRow := row(inventory.PrivateImage, "team", "clean")

	// Without --wait a queued scan would leave the rows waiting_for_scan.
	code, _, errOut = cli("scan", "--project", project, "team/goapp:1.0")
	for _, want := range []string{"ambiguous", fmt.Sprintf("private_image id %d from registry \"main\" (%s)", private.ID, reg.Addr()),
		fmt.Sprintf("local_image id %d from imported", local.ID), "--type"} {
		if code != exitError || !strings.Contains(errOut, want) {
			t.Fatalf("ambiguous ref: exit %d, stderr lacks %q:\n%s", code, want, errOut)
		}
	}
	if got := row(inventory.PrivateImage, "team", "goapp"); got.ScanStatus != inventory.ScanSuccess {
		t.Fatalf("an ambiguous name queued a scan: %s", got.ScanStatus)
	}

	// 3. Bad gate flags are errors at start: exit 2, nothing queued.
	for _, args := range [][]string{
		{"team/clean:1.0", "--wait", "--fail-on", "severe"},
		{"team/clean:1.0", "--fail-on", "high"},
		{"team/clean:1.0", "--wait", "--ignore-unfixed"},
		{"team/nothing:1.0", "--wait"},
	} {
		code, out, errOut := cli(append([]string{"scan", "--project", project}, args...)...)
		if code != exitError || errOut == "" {
			t.Fatalf("scan %v: exit %d, want %d with a message\n%s%s", args, code, exitError, out, errOut)
		}
		if got := row(inventory.PrivateImage, "team", "clean"); got.ScanStatus != inventory.Unscan {
			t.Fatalf("scan %v queued a scan: %s", args, got.ScanStatus)
		}
	}

	// 4. The gate. The Go database rates none of its records, and an
	// unrated finding counts as medium: high passes, medium blocks, and
	// --ignore-unfixed leaves GO-2024-2631 out of the count.
	code, out, errOut = cli("scan", "--project", project, "team/clean:1.0", "--wait", "--fail-on", "low")
	if code != exitOK || !strings.Contains(out, "policy passed: no vulnerabilities at or above LOW") {
		t.Fatalf("clean image --fail-on low: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli("scan", "--project", project, "--type", "private_image", "team/goapp:1.0", "--wait", "--fail-on", "HIGH")
	if code != exitOK || !strings.Contains(out, "policy passed") {
		t.Fatalf("vulnerable image --fail-on HIGH: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = cli("scan", "--project", project, "--type", "private_image", "team/goapp:1.0", "--wait", "--fail-on", "medium")
	if code != exitPolicy {
		t.Fatalf("vulnerable image --fail-on medium: exit %d\n%s%s", code, out, errOut)
	}
	blocking := blockingSection(t, out)
	all := countLine(t, errOut, "MEDIUM")
	if !strings.Contains(blocking, "GO-2022-1059") || !strings.Contains(blocking, "GO-2024-2631") ||
		!strings.Contains(errOut, "in 1 images") || all < 2 {
		t.Fatalf("--fail-on medium: %d blocking\n%s\nstderr: %s", all, blocking, errOut)
	}
	code, out, errOut = cli("scan", "--project", project, "--type", "private_image", "team/goapp:1.0", "--wait",
		"--fail-on", "medium", "--ignore-unfixed")
	if code != exitPolicy {
		t.Fatalf("--ignore-unfixed: exit %d\n%s%s", code, out, errOut)
	}
	blocking = blockingSection(t, out)
	if fixedOnly := countLine(t, errOut, "MEDIUM"); fixedOnly != all-1 || strings.Contains(blocking, "GO-2024-2631") ||
		!strings.Contains(blocking, "GO-2022-1059") {
		t.Fatalf("--ignore-unfixed: %d blocking, want %d without GO-2024-2631\n%s", fixedOnly, all-1, blocking)
	}
	// A scan that failed leaves the policy unchecked: an error, not a pass.
	code, out, errOut = cli("scan", "--project", project, "gone/app:1.0", "--wait", "--fail-on", "critical")
	if code != exitError || !strings.Contains(errOut, "policy cannot be checked") || !strings.Contains(errOut, "download_failed") {
		t.Fatalf("failed scan with --fail-on: exit %d\n%s%s", code, out, errOut)
	}

	// 5. --json prints per image the counts and the API's items.
	code, out, errOut = cli("scan", "--project", project, fmt.Sprint(private.ID), "team/clean:1.0", "--wait", "--json")
	if code != exitOK {
		t.Fatalf("--json: exit %d\n%s%s", code, out, errOut)
	}
	var reports []jsonReport
	if err := json.Unmarshal([]byte(out), &reports); err != nil || len(reports) != 2 {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if r := reports[1]; r.ID != cleanRow.ID || r.ScanStatus != "success" || r.VulNum != 0 || len(r.Vulnerabilities) != 0 {
		t.Fatalf("clean image report = %+v", r)
	}
	r := reports[0]
	if r.ID != private.ID || r.ImageType != "private_image" || r.Image != "team/goapp:1.0" || r.ScanStatus != "success" || r.VulNum < 2 {
		t.Fatalf("vulnerable image report = %+v", r)
	}
	api := apiVulns(t, data, project, private)
	for _, v := range r.Vulnerabilities {
		if v["severity"] != "unknown" {
			t.Fatalf("severity of %v: want unknown (the Go database rates no record)", v)
		}
		delete(v, "severity")
	}
	key := func(m map[string]any) string { return fmt.Sprint(m["vul_id"], m["app_name"], m["app_path"]) }
	sortBy := func(ms []map[string]any) {
		slices.SortFunc(ms, func(a, b map[string]any) int { return strings.Compare(key(a), key(b)) })
	}
	sortBy(api)
	sortBy(r.Vulnerabilities)
	gotJSON, _ := json.Marshal(r.Vulnerabilities)
	wantJSON, _ := json.Marshal(api)
	if len(api) < 2 || !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("--json vulnerabilities differ from the API's items\ncli: %s\napi: %s", gotJSON, wantJSON)
	}
}

// hasRow reports whether a table line holds the cells in order.
func hasRow(out string, cells ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if slices.Equal(strings.Fields(line), cells) {
			return true
		}
	}
	return false
}

// blockingSection is what follows the "policy failed" line of stdout.
func blockingSection(t *testing.T, out string) string {
	t.Helper()
	_, after, ok := strings.Cut(out, "policy failed: ")
	if !ok {
		t.Fatalf("no policy failed section:\n%s", out)
	}
	return after
}

// countLine reads N of "policy failed: N vulnerabilities ... at or above LEVEL".
func countLine(t *testing.T, stderr, level string) int {
	t.Helper()
	_, after, ok := strings.Cut(stderr, "openhss: policy failed: ")
	var n int
	if !ok || !strings.Contains(after, "at or above "+level) {
		t.Fatalf("stderr: %q", stderr)
	}
	if _, err := fmt.Sscanf(after, "%d vulnerabilities", &n); err != nil {
		t.Fatalf("stderr: %q: %v", stderr, err)
	}
	return n
}

// apiVulns asks the HTTP API, in process, for the vulnerabilities of img.
func apiVulns(t *testing.T, data, project string, img inventory.Image) []map[string]any {
	t.Helper()
	if _, err := run(t, "auditor-pw-123\n", "user", "create", "--name", "auditor", "--project", project, "--enterprise-projects", "all",
		"--password-stdin", "--data", data, "--log-level", "error"); err != nil {
		t.Fatalf("user create: %v", err)
	}
	gl := &globals{data: data, logLevel: "error"}
	a, err := gl.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	svc, err := a.services(&serveOptions{region: "local-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.handler)
	defer srv.Close()
	ctx := context.Background()
	token, err := fetchToken(ctx, srv.URL, project, "auditor", "auditor-pw-123")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(img.Digest, "sha256:")
	body, err := getWithToken(ctx, srv.URL+"/v5/"+project+"/image/"+id+"/vulnerabilities?image_type="+string(img.Type)+"&limit=200", token)
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		TotalNum int              `json:"total_num"`
		DataList []map[string]any `json:"data_list"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.TotalNum != len(resp.DataList) {
		t.Fatalf("API answer: %v %s", err, body)
	}
	return resp.DataList
}

// TestSeverityGate reads the labels vulndb.Rate stores (CVSS ratings,
// distributions' words, "unknown") as the table and --fail-on do.
func TestSeverityGate(t *testing.T) {
	for _, tc := range []struct {
		label string
		want  severity
		// blocked lists the --fail-on levels a fixed finding of this label
		// fails.
		blocked []severity
	}{
		{"critical", sevCritical, []severity{sevCritical, sevHigh, sevMedium, sevLow}},
		{"HIGH", sevHigh, []severity{sevHigh, sevMedium, sevLow}},
		{"Important", sevHigh, []severity{sevHigh, sevMedium, sevLow}}, // Red Hat
		{"moderate", sevMedium, []severity{sevMedium, sevLow}},
		{"medium*", sevMedium, []severity{sevMedium, sevLow}}, // Debian's guessed urgency
		{"unknown", sevUnknown, []severity{sevMedium, sevLow}},
		{"not yet assigned", sevUnknown, []severity{sevMedium, sevLow}},
		{"", sevUnknown, []severity{sevMedium, sevLow}},
		{"low", sevLow, []severity{sevLow}},
		{"unimportant", sevLow, []severity{sevLow}},
		{"none", sevLow, []severity{sevLow}},
	} {
		got := severityOf(tc.label)
		if got != tc.want {
			t.Errorf("severityOf(%q) = %s, want %s", tc.label, got, tc.want)
		}
		for _, level := range []severity{sevCritical, sevHigh, sevMedium, sevLow} {
			v := scanVuln{Severity: got}
			v.Solution = "1.2.3"
			if blocks := (policy{threshold: level}).blocks(v); blocks != slices.Contains(tc.blocked, level) {
				t.Errorf("%q under --fail-on %s: blocks = %v", tc.label, level, blocks)
			}
			v.Solution = ""
			if (policy{threshold: level, ignoreUnfixed: true}).blocks(v) {
				t.Errorf("%q without a fix blocks under --ignore-unfixed", tc.label)
			}
		}
	}
	for _, in := range []string{"High", " critical ", "LOW"} {
		if _, err := parseSeverity(in); err != nil {
			t.Errorf("parseSeverity(%q): %v", in, err)
		}
	}
	for _, in := range []string{"", "unknown", "severe", "none"} {
		if _, err := parseSeverity(in); err == nil {
			t.Errorf("parseSeverity(%q) accepted", in)
		}
	}
}
