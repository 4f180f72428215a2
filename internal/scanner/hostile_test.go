package scanner_test

import (
	"archive/tar"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanner"
)

// Hostile layers that must scan without touching the host: each is
// skipped entry by entry, and the host's canary package never appears.
func TestHostileEntriesAreContained(t *testing.T) {
	sbForName := newSandbox(t) // only for the canary's path in the cases
	canary := sbForName.canary
	up := strings.Repeat("../", 12)
	cases := []struct {
		name  string
		files []file
		want  []string // packages expected
	}{
		{"dotdot paths", []file{
			reg(up+strings.TrimPrefix(canary, "/"), "overwritten"),
			reg("var/../../"+up+"tmp/escape", "x"),
			reg("../var/lib/dpkg/status", "Package: escaped\nStatus: install ok installed\nVersion: 1\n\n"),
		}, nil},
		{"absolute paths", []file{
			reg(canary, "overwritten"),
			reg("/var/lib/dpkg/status", "Package: absolute\nStatus: install ok installed\nVersion: 1\n\n"),
		}, nil},
		{"symlinked status to a host file", []file{
			symlink("var/lib/dpkg/status", canary),
		}, nil},
		{"relative symlink climbing out", []file{
			symlink("var/lib/dpkg/status", up+strings.TrimPrefix(canary, "/")),
		}, nil},
		{"symlinked status to the host passwd", []file{
			symlink("var/lib/dpkg/status", "/etc/passwd"),
		}, nil},
		{"write through a symlinked directory", []file{
			symlink("var/lib/dpkg", canary[:strings.LastIndex(canary, "/")]),
			reg("var/lib/dpkg/canary", "overwritten"),
			reg("var/lib/dpkg/status", "Package: inside\nStatus: install ok installed\nVersion: 1\n\n"),
		}, nil}, // lands inside the image, at the symlink's in-image target (tmp/...), where no extractor looks
		{"os-release symlink loop", []file{
			symlink("etc/os-release", "../usr/lib/os-release"),
			symlink("usr/lib/os-release", "/etc/os-release"),
			symlink("a", "b"), symlink("b", "a/c"),
			reg("var/lib/dpkg/status", "Package: ok\nStatus: install ok installed\nVersion: 1\n\n"),
		}, []string{"ok@1"}},
		{"directory symlink loop", []file{
			symlink("var/lib", "../var/lib"),
			reg("var/lib/dpkg/status", "Package: x\nStatus: install ok installed\nVersion: 1\n\n"),
		}, nil},
		{"hard links outside", []file{
			hardlink("var/lib/dpkg/status", canary),
			hardlink("usr/lib/os-release", up+"etc/os-release"),
			hardlink("etc/os-release", "etc/os-release"),
		}, nil},
		{"device files", []file{
			special("var/lib/dpkg/status", tar.TypeChar),
			special("etc/os-release", tar.TypeBlock),
			special("lib/apk/db/installed", tar.TypeFifo),
			special("dev/null", tar.TypeChar),
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t)
			for i := range tc.files { // point at this subtest's canary
				tc.files[i].name = strings.ReplaceAll(tc.files[i].name, strings.TrimPrefix(canary, "/"), strings.TrimPrefix(sb.canary, "/"))
				tc.files[i].name = strings.ReplaceAll(tc.files[i].name, canary, sb.canary)
				tc.files[i].link = strings.ReplaceAll(tc.files[i].link, canary[:strings.LastIndex(canary, "/")], sb.parent)
			}
			rep, err := scan(t, sb.scanner(scanner.Options{}), imageOf(t, layerOf(t, tc.files...)))
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			if got := names(rep.Packages); strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("packages %v, want %v", got, tc.want)
			}
			sb.check(t)
		})
	}
}

func TestGzipBomb(t *testing.T) {
	sb := newSandbox(t)
	img := imageOf(t, layerOf(t, zeros("bomb", 64<<20), reg("var/lib/dpkg/status", "Package: a\n")))
	_, err := scan(t, sb.scanner(scanner.Options{MaxUnpackedSize: 4 << 20}), img)
	wantFailure(t, err, inventory.ImageOversized, scanner.DescImageOversized)
	sb.check(t)
}

func TestDeclaredSizeOverLimit(t *testing.T) {
	sb := newSandbox(t)
	img := imageOf(t, layerOf(t, reg("a", strings.Repeat("x", 4096))))
	_, err := scan(t, sb.scanner(scanner.Options{MaxImageSize: 100}), img)
	wantFailure(t, err, inventory.ImageOversized, scanner.DescImageOversized)
	sb.check(t)
}

func TestEntryCountOverLimit(t *testing.T) {
	sb := newSandbox(t)
	var files []file
	for i := range 50 {
		files = append(files, reg(fmt.Sprintf("f%d", i), ""))
	}
	_, err := scan(t, sb.scanner(scanner.Options{MaxFiles: 10}), imageOf(t, layerOf(t, files...)))
	wantFailure(t, err, inventory.ImageOversized, scanner.DescImageOversized)
	sb.check(t)
}

// A kept file over MaxFileSize is skipped, not fatal.
func TestFileOverSizeCapIsSkipped(t *testing.T) {
	sb := newSandbox(t)
	big := "Package: big\nStatus: install ok installed\nVersion: 1\nDescription: " + strings.Repeat("x", 8<<10) + "\n\n"
	img := imageOf(t, layerOf(t, reg("var/lib/dpkg/status", big), reg("app/node_modules/a/package.json", `{"name":"a","version":"1.0.0"}`)))
	rep, err := scan(t, sb.scanner(scanner.Options{MaxFileSize: 4 << 10}), img)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(rep.Packages); strings.Join(got, ",") != "a@1.0.0" {
		t.Errorf("packages %v", got)
	}
	sb.check(t)
}

func TestCorruptLayerIsFailedToScan(t *testing.T) {
	sb := newSandbox(t)
	// Valid gzip around bytes that are not a tar archive: the transfer is
	// fine, the content is not.
	img := imageOf(t, rawLayer(t, []byte(strings.Repeat("not a tar archive ", 100))))
	_, err := scan(t, sb.scanner(scanner.Options{}), img)
	wantFailure(t, err, inventory.ScanFailed, scanner.DescFailedToScanSoftware)
	sb.check(t)
}

func TestHundredThousandFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-entry layer")
	}
	sb := newSandbox(t)
	files := make([]file, 0, 100_001)
	for i := range 100_000 {
		files = append(files, reg(fmt.Sprintf("d%03d/f%05d", i%500, i), "x"))
	}
	files = append(files, reg("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\n"))
	img := imageOf(t, layerOf(t, files...))
	start := time.Now()
	rep, err := scan(t, sb.scanner(scanner.Options{}), img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scanned 100,000 entries in %v", time.Since(start))
	if got := names(rep.Packages); strings.Join(got, ",") != "a@1" {
		t.Errorf("packages %v", got)
	}
	sb.check(t)
}

// --- through a real registry ---

func push(t *testing.T, r *registrytest.Registry, repo string, img v1.Image) {
	t.Helper()
	if err := remote.Write(r.Repo(t, repo).Tag("v1"), img, r.RemoteOptions()...); err != nil {
		t.Fatal(err)
	}
}

// pull resolves the image through the registry's front door (with its
// middleware) and scans it; errors resolving it map through FetchFailure.
func pullAndScan(t *testing.T, s *scanner.Scanner, r *registrytest.Registry, repo string, timeout time.Duration, opts ...remote.Option) (*scanner.Report, error) {
	t.Helper()
	ref, err := name.ParseReference(r.Addr()+"/"+repo+":v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	img, err := remote.Image(ref, append(opts, remote.WithContext(ctx))...)
	if err != nil {
		return nil, scanner.FetchFailure(err)
	}
	return s.Scan(ctx, img)
}

func blobPath(r *http.Request, digest string) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+digest)
}

func TestRegistryScan(t *testing.T) {
	sb := newSandbox(t)
	r := registrytest.New(t)
	status, n := debianStatus(t)
	push(t, r, "debian", imageOf(t, layerOf(t, reg("usr/lib/os-release", bookwormOSRelease),
		symlink("etc/os-release", "../usr/lib/os-release"), reg("var/lib/dpkg/status", status))))
	rep, err := pullAndScan(t, sb.scanner(scanner.Options{}), r, "debian", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Packages) != n || rep.CompressedBytes == 0 || rep.UnpackedBytes < int64(len(status)) {
		t.Errorf("%d packages, %d compressed, %d unpacked", len(rep.Packages), rep.CompressedBytes, rep.UnpackedBytes)
	}
	sb.check(t)
}

func TestRegistryFailures(t *testing.T) {
	layer := layerOf(t, reg("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\n"),
		reg("padding", strings.Repeat("openhss ", 4096)))
	img := imageOf(t, layer)
	ld := digestOf(t, layer)

	corrupt := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if blobPath(r, ld) {
				next.ServeHTTP(&flipWriter{ResponseWriter: w, at: 200}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	truncate := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if blobPath(r, ld) {
				next.ServeHTTP(&cutWriter{ResponseWriter: w, after: 100}, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	unauthorized := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if blobPath(r, ld) {
				w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	forbidden := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if blobPath(r, ld) {
				http.Error(w, `{"errors":[{"code":"DENIED","message":"denied"}]}`, http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	slow := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if blobPath(r, ld) {
				select {
				case <-r.Context().Done():
				case <-time.After(30 * time.Second):
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	for _, tc := range []struct {
		name       string
		middleware func(http.Handler) http.Handler
		timeout    time.Duration
		status     inventory.ScanStatus
		desc       string
	}{
		{"digest mismatch", corrupt, time.Minute, inventory.DownloadFailed, scanner.DescDownloadFailed},
		{"broken transfer", truncate, time.Minute, inventory.DownloadFailed, scanner.DescDownloadFailed},
		{"401 on a blob", unauthorized, time.Minute, inventory.DownloadFailed, scanner.DescAuthenticationFailed},
		{"403 on a blob", forbidden, time.Minute, inventory.DownloadFailed, scanner.DescAuthenticationFailed},
		{"slow registry", slow, 500 * time.Millisecond, inventory.DownloadFailed, scanner.DescResponseTimedOut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := newSandbox(t)
			r := registrytest.New(t, registrytest.WithMiddleware(tc.middleware))
			push(t, r, "app", img)
			_, err := pullAndScan(t, sb.scanner(scanner.Options{}), r, "app", tc.timeout)
			wantFailure(t, err, tc.status, tc.desc)
			sb.check(t)
		})
	}

	t.Run("missing blob", func(t *testing.T) {
		sb := newSandbox(t)
		r := registrytest.New(t, registrytest.WithDelete())
		push(t, r, "app", img)
		req, _ := http.NewRequest(http.MethodDelete, "http://"+r.Repo(t, "app").RegistryStr()+"/v2/app/blobs/"+ld, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("DELETE blob: %s", resp.Status)
		}
		_, err = pullAndScan(t, sb.scanner(scanner.Options{}), r, "app", time.Minute)
		wantFailure(t, err, inventory.DownloadFailed, scanner.DescDownloadFailed)
		sb.check(t)
	})

	t.Run("wrong credentials", func(t *testing.T) {
		sb := newSandbox(t)
		r := registrytest.New(t, registrytest.WithBasicAuth("alice", "secret"))
		push(t, r, "app", img)
		_, err := pullAndScan(t, sb.scanner(scanner.Options{}), r, "app", time.Minute,
			remote.WithAuth(&authn.Basic{Username: "alice", Password: "wrong"}))
		wantFailure(t, err, inventory.DownloadFailed, scanner.DescAuthenticationFailed)
		sb.check(t)
	})

	t.Run("registry gone", func(t *testing.T) {
		sb := newSandbox(t)
		r := registrytest.New(t)
		push(t, r, "app", img)
		ref, _ := name.ParseReference(r.Addr()+"/app:v1", name.Insecure)
		pulled, err := remote.Image(ref)
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		_, err = sb.scanner(scanner.Options{}).Scan(context.Background(), pulled)
		wantFailure(t, err, inventory.DownloadFailed, scanner.DescDownloadFailed)
		sb.check(t)
	})
}

// flipWriter corrupts one byte of the response body.
type flipWriter struct {
	http.ResponseWriter
	at, n int
}

func (f *flipWriter) Write(p []byte) (int, error) {
	if i := f.at - f.n; i >= 0 && i < len(p) {
		q := append([]byte(nil), p...)
		q[i] ^= 0xff
		p = q
	}
	f.n += len(p)
	return f.ResponseWriter.Write(p)
}

// cutWriter stops the body early; the declared Content-Length then makes
// the transfer incomplete.
type cutWriter struct {
	http.ResponseWriter
	after, n int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if c.n >= c.after {
		panic(http.ErrAbortHandler)
	}
	p = p[:min(len(p), c.after-c.n)]
	c.n += len(p)
	return c.ResponseWriter.Write(p)
}
