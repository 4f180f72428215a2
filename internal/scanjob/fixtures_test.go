package scanjob_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/mod/semver"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/localimage"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

const project = "p1"

// goVulnDBVersion is the golang.org/x/vulndb module the tests match against.
const goVulnDBVersion = "v0.0.0-20261105234957-e22db6528018"

// Module versions the test binary is built with: deliberately old.
var vulnDeps = map[string]string{
	"golang.org/x/text": "v0.3.7",
	"golang.org/x/net":  "v0.0.0-20211112202133-69e39bad7dc2",
}

var (
	onceVulnDB sync.Once
	vulnDBDir  string
	vulnDBErr  error

	onceBinary sync.Once
	binary     []byte
	binaryErr  error

	onceWindows sync.Once
	winBinary   []byte
	windowsErr  error
)

// goVulnDB returns the data/osv directory of the Go vulnerability database
// module, downloaded once through the module proxy.
func goVulnDB(t *testing.T) string {
	t.Helper()
	onceVulnDB.Do(func() {
		cmd := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+goVulnDBVersion)
		cmd.Dir = os.TempDir()
		out, err := cmd.Output()
		if err != nil {
			vulnDBErr = err
			return
		}
		var info struct{ Dir string }
		vulnDBErr = json.Unmarshal(out, &info)
		vulnDBDir = filepath.Join(info.Dir, "data", "osv")
	})
	if vulnDBErr != nil {
		t.Fatalf("download golang.org/x/vulndb: %v", vulnDBErr)
	}
	return vulnDBDir
}

// vulnBinary builds, once, a Go program that links the old modules of
// vulnDeps.
func vulnBinary(t *testing.T) []byte {
	t.Helper()
	onceBinary.Do(func() {
		dir, err := os.MkdirTemp("", "scanjob-vulnapp")
		if err != nil {
			binaryErr = err
			return
		}
		defer os.RemoveAll(dir)
		gomod := "module example.com/vulnapp\n\ngo 1.17\n\nrequire (\n"
		for m, v := range vulnDeps {
			gomod += "\t" + m + " " + v + "\n"
		}
		gomod += ")\n"
		src := `package main

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/language"
)

func main() {
	doc, _ := html.Parse(strings.NewReader("<p>hi</p>"))
	fmt.Println(language.English, doc != nil)
}
`
		for name, body := range map[string]string{"go.mod": gomod, "main.go": src} {
			if binaryErr = os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); binaryErr != nil {
				return
			}
		}
		env := append(os.Environ(), "GOFLAGS=-mod=mod", "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off",
			"GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
		for _, args := range [][]string{{"mod", "tidy"}, {"build", "-trimpath", "-o", "vulnapp", "."}} {
			cmd := exec.Command("go", args...)
			cmd.Dir, cmd.Env = dir, env
			if out, err := cmd.CombinedOutput(); err != nil {
				binaryErr = &buildError{args: args, out: string(out), err: err}
				return
			}
		}
		// tidy must not have moved the deliberately old versions.
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			binaryErr = err
			return
		}
		for m, v := range vulnDeps {
			if !strings.Contains(string(mod), m+" "+v) {
				binaryErr = &buildError{args: []string{"mod", "tidy"}, out: string(mod), err: io.ErrUnexpectedEOF}
				return
			}
		}
		binary, binaryErr = os.ReadFile(filepath.Join(dir, "vulnapp"))
	})
	if binaryErr != nil {
		t.Fatalf("build the test binary: %v", binaryErr)
	}
	return binary
}

// windowsBinary cross-compiles, once, a program without imports for
// windows/amd64: its only package is the standard library, the same
// version as vulnapp's but for another platform.
func windowsBinary(t *testing.T) []byte {
	t.Helper()
	onceWindows.Do(func() {
		dir, err := os.MkdirTemp("", "scanjob-winapp")
		if err != nil {
			windowsErr = err
			return
		}
		defer os.RemoveAll(dir)
		for name, body := range map[string]string{"go.mod": "module example.com/winapp\n\ngo 1.21\n", "main.go": "package main\n\nfunc main() {}\n"} {
			if windowsErr = os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); windowsErr != nil {
				return
			}
		}
		args := []string{"build", "-trimpath", "-o", "winapp.exe", "."}
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			windowsErr = &buildError{args: args, out: string(out), err: err}
			return
		}
		winBinary, windowsErr = os.ReadFile(filepath.Join(dir, "winapp.exe"))
	})
	if windowsErr != nil {
		t.Fatalf("build the windows test binary: %v", windowsErr)
	}
	return winBinary
}

type buildError struct {
	args []string
	out  string
	err  error
}

func (e *buildError) Error() string {
	return "go " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.out
}

// image builds a linux/amd64 image of layers with a fixed created time.
func image(t *testing.T, layers ...v1.Layer) v1.Image {
	t.Helper()
	return imagetest.WithConfigFile(t, imagetest.Image(t, layers...), func(cf *v1.ConfigFile) {
		cf.Created = v1.Time{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	})
}

// vulnImage is an Alpine-less image holding the vulnerable Go binary.
func vulnImage(t *testing.T) v1.Image {
	return image(t,
		imagetest.Layer(t, imagetest.Reg("etc/os-release", "ID=scratchy\nVERSION_ID=1\nPRETTY_NAME=\"test\"\n")),
		imagetest.Layer(t, imagetest.Exe("usr/local/bin/vulnapp", string(vulnBinary(t)))),
	)
}

func push(t *testing.T, reg *registrytest.Registry, repo, tag string, img v1.Image) v1.Hash {
	t.Helper()
	if err := remote.Write(reg.Repo(t, repo).Tag(tag), img, reg.RemoteOptions()...); err != nil {
		t.Fatalf("push %s:%s: %v", repo, tag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// env is one openhss: a store, the vulnerability data, a registry
// connection and the scan service.
type env struct {
	store *sqlite.Store
	box   *secret.Box
	db    *vulndb.DB
	svc   *scanjob.Service
	sync  *registry.Syncer
	reg   inventory.Registry
	waits atomic.Int64 // retry waits of the scans' registry requests
}

type envConfig struct {
	user, pass   string // registry connection credentials
	maxImageSize int64
	timeout      time.Duration
	noVulnData   bool
	// addr is the connection's address (default the registry's own).
	addr string
	// onWait runs at each retry wait of a scan's registry request, with
	// its number; the waits themselves are instant.
	onWait func(n int64)
}

func newEnv(t *testing.T, reg *registrytest.Registry, c envConfig) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	box, err := secret.NewBox(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	db := newVulnDB(t, st)
	if !c.noVulnData {
		if _, err := db.Import(ctx, goVulnDB(t)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.EnsureProject(ctx, inventory.Project{ID: project, Name: project}); err != nil {
		t.Fatal(err)
	}
	sealed, err := box.Seal(c.pass)
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.CreateRegistry(ctx, inventory.Registry{
		ProjectID: project, EnterpriseProjectID: "0", Name: "local", Type: inventory.OtherRegistry, Protocol: "http",
		Addr: cmp.Or(c.addr, reg.Addr()), Username: c.user, PasswordSealed: sealed, Status: inventory.RegistryPending,
	})
	if err != nil {
		t.Fatal(err)
	}
	sc := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir(), MaxImageSize: c.maxImageSize})
	e := &env{store: st, box: box, db: db, reg: r}
	// Retries wait no wall-clock time in tests.
	retry := registry.RetryPolicy{Sleep: func(ctx context.Context, _ time.Duration) error {
		n := e.waits.Add(1)
		if c.onWait != nil {
			c.onWait(n)
		}
		return ctx.Err()
	}}
	rt := registrytestTransport(t)
	e.svc = newService(t, scanjob.Options{Store: st, Scanner: sc, Matcher: db, Box: box, Transport: rt,
		MaxImageSize: c.maxImageSize, Timeout: c.timeout, Retry: retry, Log: slog.New(slog.DiscardHandler)})
	e.sync = newSyncer(t, st, box, rt)
	return e
}

// syncAll syncs the registry connection and returns the rows by
// "namespace/name:tag".
func (e *env) syncAll(t *testing.T) map[string]inventory.Image {
	t.Helper()
	ctx := context.Background()
	if _, err := e.sync.SyncRegistry(ctx, e.reg); err != nil {
		t.Fatal(err)
	}
	return e.rows(t)
}

func (e *env) rows(t *testing.T) map[string]inventory.Image {
	t.Helper()
	page, err := e.store.ListImages(context.Background(), inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]inventory.Image{}
	for _, img := range page.Images {
		out[img.Namespace+"/"+img.Name+":"+img.Tag] = img
	}
	return out
}

// runner returns a jobs runner with the scan handlers.
func (e *env) runAll(t *testing.T) {
	t.Helper()
	r := e.runner(t, 0)
	if err := r.RunUntilIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// affectedSemver is an independent OSV SEMVER evaluation with
// golang.org/x/mod/semver: is v in a range of introduced/fixed/
// last_affected events?
func affectedSemver(events []map[string]string, v string) bool {
	canon := func(s string) string {
		if s == "0" {
			return ""
		}
		return "v" + s
	}
	type ev struct {
		kind, ver string
	}
	var evs []ev
	for _, e := range events {
		for k, x := range e {
			evs = append(evs, ev{k, canon(x)})
		}
	}
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i].ver, evs[j].ver
		if a == "" || b == "" {
			return a == "" && b != ""
		}
		return semver.Compare(a, b) < 0
	})
	affected := false
	for _, e := range evs {
		cmp := 1
		if e.ver != "" {
			cmp = semver.Compare(v, e.ver)
		}
		switch e.kind {
		case "introduced":
			if e.ver == "" || cmp >= 0 {
				affected = true
			}
		case "fixed":
			if cmp >= 0 {
				affected = false
			}
		case "last_affected":
			if cmp > 0 {
				affected = false
			}
		}
	}
	return affected
}

// expectedGoVulns reads every record of the Go vulnerability database and
// returns the ids affecting any of pkgs (module path → "vX.Y.Z") in a
// binary built for goos/goarch: an affected entry whose imports are all
// restricted to other platforms does not count (docs/scanner.md).
func expectedGoVulns(t *testing.T, dir string, pkgs map[string]string, goos, goarch string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, de := range entries {
		if !strings.HasSuffix(de.Name(), ".json") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var rec struct {
			ID        string `json:"id"`
			Withdrawn string `json:"withdrawn"`
			Affected  []struct {
				Package struct{ Ecosystem, Name string } `json:"package"`
				Ranges  []struct {
					Type   string              `json:"type"`
					Events []map[string]string `json:"events"`
				} `json:"ranges"`
				EcosystemSpecific struct {
					Imports []struct {
						GOOS   []string `json:"goos"`
						GOARCH []string `json:"goarch"`
					} `json:"imports"`
				} `json:"ecosystem_specific"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			t.Fatalf("%s: %v", de.Name(), err)
		}
		if rec.Withdrawn != "" {
			continue
		}
		for _, a := range rec.Affected {
			v, ok := pkgs[a.Package.Name]
			if !ok || a.Package.Ecosystem != "Go" {
				continue
			}
			imports := a.EcosystemSpecific.Imports
			built := len(imports) == 0
			for _, im := range imports {
				if (len(im.GOOS) == 0 || slices.Contains(im.GOOS, goos)) && (len(im.GOARCH) == 0 || slices.Contains(im.GOARCH, goarch)) {
					built = true
				}
			}
			if !built {
				continue
			}
			for _, r := range a.Ranges {
				if r.Type == "SEMVER" && affectedSemver(r.Events, v) {
					want[rec.ID] = true
				}
			}
		}
	}
	return want
}

// goVersion is this toolchain's version as the vulndb's SemVer ("v1.26.8").
func goVersion() string {
	v := strings.TrimPrefix(runtime.Version(), "go")
	if i := strings.IndexAny(v, " -"); i >= 0 {
		v = v[:i]
	}
	if strings.Count(v, ".") == 1 {
		v += ".0"
	}
	return "v" + v
}

func writeTarball(path string, img v1.Image) error {
	ref, err := name.ParseReference("local/app:1.0")
	if err != nil {
		return err
	}
	return tarball.WriteToFile(path, ref, img)
}

func importLocal(t *testing.T, e *env, path string) inventory.Image {
	t.Helper()
	img, err := localimage.Import(context.Background(), e.store, project, "0", path, "")
	if err != nil {
		t.Fatal(err)
	}
	return img
}
