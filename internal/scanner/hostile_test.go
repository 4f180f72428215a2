package scanner_test

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
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
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/secrets"
)

// hostileCase is an image that must scan without touching the host: each
// unsafe entry is skipped, and nothing of the host files shows up.
type hostileCase struct {
	name  string
	files []file   // @PARENT@ and @HOST@ stand for the sandbox's directories
	want  []string // packages expected
	// What the analyzers must report, exactly: file paths of secrets and
	// malware (none when nil).
	secrets, malware []string
	check            func(t *testing.T, rep *scanner.Report) // more, with analyzers only
}

// Hostile layers that must scan without touching the host, with and
// without the analyzers.
func TestHostileEntriesAreContained(t *testing.T) {
	up := strings.Repeat("../", 12)
	climb := strings.TrimSuffix(up, "/") // before an absolute @PARENT@ or @HOST@
	status := func(pkg string) string { return "Package: " + pkg + "\nStatus: install ok installed\nVersion: 1\n\n" }
	token := "ghp_" + strings.Repeat("Ab1Cd2Ef3G", 4)[:36]
	cases := []hostileCase{
		{name: "dotdot paths", files: []file{
			reg(climb+"@PARENT@/canary", "overwritten"),
			reg("var/../../"+up+"tmp/escape", "x"),
			reg("../var/lib/dpkg/status", status("escaped")),
		}},
		{name: "absolute paths", files: []file{
			reg("@PARENT@/canary", "overwritten"),
			reg("/var/lib/dpkg/status", status("absolute")),
		}},
		{name: "symlinked status to a host file", files: []file{
			symlink("var/lib/dpkg/status", "@PARENT@/canary"),
		}},
		{name: "relative symlink climbing out", files: []file{
			symlink("var/lib/dpkg/status", climb+"@PARENT@/canary"),
		}},
		{name: "symlinked status to the host passwd", files: []file{
			symlink("var/lib/dpkg/status", "/etc/passwd"),
		}},
		// lands inside the image, at the symlink's in-image target
		// (tmp/...), where no extractor looks
		{name: "write through a symlinked directory", files: []file{
			symlink("var/lib/dpkg", "@PARENT@"),
			reg("var/lib/dpkg/canary", "overwritten"),
			reg("var/lib/dpkg/status", status("inside")),
		}},
		{name: "os-release symlink loop", files: []file{
			symlink("etc/os-release", "../usr/lib/os-release"),
			symlink("usr/lib/os-release", "/etc/os-release"),
			symlink("a", "b"), symlink("b", "a/c"),
			reg("var/lib/dpkg/status", status("ok")),
		}, want: []string{"ok@1"}},
		{name: "directory symlink loop", files: []file{
			symlink("var/lib", "../var/lib"),
			reg("var/lib/dpkg/status", status("x")),
		}},
		{name: "hard links outside", files: []file{
			hardlink("var/lib/dpkg/status", "@PARENT@/canary"),
			hardlink("usr/lib/os-release", up+"etc/os-release"),
			hardlink("etc/os-release", "etc/os-release"),
			hardlink("etc/shadow", climb+"@HOST@/shadow"),
			hardlink("app/.env", "@HOST@/secret.env"),
		}},
		{name: "device files", files: []file{
			special("var/lib/dpkg/status", tar.TypeChar),
			special("etc/os-release", tar.TypeBlock),
			special("lib/apk/db/installed", tar.TypeFifo),
			special("etc/shadow", tar.TypeFifo),
			special("etc/ssh/sshd_config", tar.TypeChar),
			special("dev/null", tar.TypeChar),
		}},

		// --- aimed at the analyzers ---
		{name: "host files behind symlinks", files: []file{
			symlink("var/lib/dpkg/status", "@HOST@/status"),
			symlink("etc/passwd", "@HOST@/passwd"),
			symlink("etc/shadow", climb+"@HOST@/shadow"),
			symlink("etc/os-release", "@HOST@/os-release"),
			symlink("etc/ssh/sshd_config", climb+"@HOST@/sshd_config"),
			symlink("app/.env", "@HOST@/secret.env"),
			symlink("root/.ssh/id_rsa", climb+"@HOST@/secret.env"),
			exe("usr/sbin/sshd", "\x7fELF"),
		}, check: func(t *testing.T, rep *scanner.Report) {
			wantFailed(t, rep, baseline.RuleSSHD, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck)
		}},
		{name: "shadow symlinked to the host's /etc/shadow", files: []file{
			reg("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
			symlink("etc/shadow", "/etc/shadow"), // absolute: the image's own, a loop
		}, check: func(t *testing.T, rep *scanner.Report) {
			wantFailed(t, rep, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck)
		}},
		{name: "shadow symlinked to ../../etc/passwd", files: []file{
			reg("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nops::1000:1000::/home/ops:/bin/sh\n"),
			symlink("etc/shadow", "../../etc/passwd"),
		}, check: func(t *testing.T, rep *scanner.Report) {
			// Read as shadow, passwd's "x" locks root; ops has an empty
			// password field in passwd itself, which is a real finding.
			wantFailed(t, rep, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck, baseline.RuleEmptyPassword)
			if len(rep.WeakPasswords) != 1 || rep.WeakPasswords[0].User != "ops" || rep.WeakPasswords[0].Path != "/etc/passwd" {
				t.Errorf("weak passwords %+v, want ops's empty one", rep.WeakPasswords)
			}
		}},
		{name: "account after a 2 MiB line", files: []file{
			reg("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
			reg("etc/shadow", strings.Repeat("x", 2<<20)+"\nroot::19700:0:99999:7:::\n"),
		}, check: func(t *testing.T, rep *scanner.Report) {
			wantFailed(t, rep, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck, baseline.RuleEmptyPassword)
			if len(rep.WeakPasswords) != 1 || rep.WeakPasswords[0].User != "root" || rep.WeakPasswords[0].Type != "empty_password" {
				t.Errorf("weak passwords %+v, want root's empty one", rep.WeakPasswords)
			}
		}},
		{name: "sshd_config symlink loop", files: []file{
			symlink("etc/ssh/sshd_config", "sshd_config.d/loop.conf"),
			symlink("etc/ssh/sshd_config.d/loop.conf", "/etc/ssh/sshd_config"),
			exe("usr/sbin/sshd", "\x7fELF"),
		}, check: func(t *testing.T, rep *scanner.Report) {
			wantFailed(t, rep, baseline.RuleSSHD, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck)
		}},
		{name: "sshd_config including itself", files: []file{
			reg("etc/ssh/sshd_config", "Include /etc/ssh/sshd_config\nInclude sshd_config.d/*.conf\nPermitRootLogin no\n"),
			reg("etc/ssh/sshd_config.d/a.conf", "Include /etc/ssh/sshd_config.d/*.conf\nPermitEmptyPasswords yes\n"),
			reg("etc/ssh/sshd_config.d/b.conf", "Include /etc/ssh/sshd_config ../../../../@HOST@/sshd_config\n"),
		}, check: func(t *testing.T, rep *scanner.Report) {
			wantFailed(t, rep, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck, baseline.RuleSSHEmptyPasswords)
		}},
		{name: "secrets under ../ names", files: []file{
			reg(climb+"@PARENT@/leak.env", "TOKEN="+token+"\n"),
			reg("app/../../../leak.env", "TOKEN="+token+"\n"),
			reg("/leak.env", "TOKEN="+token+"\n"),
			reg("app/..token.env", "TOKEN="+token+"\n"), // a legal name
			reg("app/.../x.env", "TOKEN="+token+"\n"),   // a legal directory
		}, secrets: []string{"/app/.../x.env", "/app/..token.env"}},
		{name: "EICAR behind symlinks", files: []file{
			reg("opt/eicar.com", malware.EICAR),
			symlink("usr/local/bin/run", up+"opt/eicar.com"),
			symlink("usr/local/bin/host", "@HOST@/eicar.com"),
			symlink("usr/local/bin/host2", climb+"@HOST@/eicar.com"),
			symlink("opt/link", "@HOST@"),
		}, malware: []string{"/opt/eicar.com"}},
	}
	for _, k := range scanKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					sb := newSandbox(t)
					rep, err := scan(t, sb.scanner(t, k.options(scanner.Options{})), imageOf(t, layerOf(t, sb.expand(tc.files)...)))
					if err != nil {
						t.Fatalf("scan: %v", err)
					}
					if got := names(rep.Packages); strings.Join(got, ",") != strings.Join(tc.want, ",") {
						t.Errorf("packages %v, want %v", got, tc.want)
					}
					k.noHostLeak(t, rep)
					if k.analyzers != nil {
						wantPaths(t, "secrets", secretPaths(rep), tc.secrets)
						wantPaths(t, "malware", malwarePaths(rep), tc.malware)
						if tc.check != nil {
							tc.check(t, rep)
						}
					}
					sb.check(t)
				})
			}
		})
	}
}

// wantFailed asserts exactly ids failed among the baseline rules.
func wantFailed(t *testing.T, rep *scanner.Report, ids ...string) {
	t.Helper()
	var got []string
	for _, b := range rep.Baseline {
		if !b.Passed {
			got = append(got, b.RuleID)
		}
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("failed rules %v, want %v", got, ids)
	}
}

func wantPaths(t *testing.T, what string, got, want []string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s in %v, want %v", what, got, want)
	}
}

func secretPaths(rep *scanner.Report) []string {
	var out []string
	for _, s := range rep.Secrets {
		out = append(out, s.FilePath)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func malwarePaths(rep *scanner.Report) []string {
	var out []string
	for _, m := range rep.Malware {
		out = append(out, m.FilePath)
	}
	slices.Sort(out)
	return out
}

// eachKind runs fn as a subtest per scanner kind, each with a sandbox
// that it checks afterwards.
func eachKind(t *testing.T, fn func(t *testing.T, k scanKind, sb *sandbox)) {
	for _, k := range scanKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			sb := newSandbox(t)
			fn(t, k, sb)
			sb.check(t)
		})
	}
}

func TestGzipBomb(t *testing.T) {
	img := imageOf(t, layerOf(t, zeros("bomb", 64<<20), reg("var/lib/dpkg/status", "Package: a\n")))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		_, err := scan(t, sb.scanner(t, k.options(scanner.Options{MaxUnpackedSize: 4 << 20})), img)
		wantFailure(t, err, inventory.ImageOversized, scanner.DescImageOversized)
	})
}

func TestDeclaredSizeOverLimit(t *testing.T) {
	img := imageOf(t, layerOf(t, reg("a", strings.Repeat("x", 4096))))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		_, err := scan(t, sb.scanner(t, k.options(scanner.Options{MaxImageSize: 100})), img)
		wantFailure(t, err, inventory.ImageOversized, scanner.DescImageOversized)
	})
}

func TestEntryCountOverLimit(t *testing.T) {
	var files []file
	for i := range 50 {
		files = append(files, reg(fmt.Sprintf("f%d", i), ""))
	}
	img := imageOf(t, layerOf(t, files...))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		_, err := scan(t, sb.scanner(t, k.options(scanner.Options{MaxFiles: 10})), img)
		wantFailure(t, err, inventory.ImageOversized, scanner.DescImageOversized)
	})
}

// A kept file over MaxFileSize is skipped, not fatal.
func TestFileOverSizeCapIsSkipped(t *testing.T) {
	big := "Package: big\nStatus: install ok installed\nVersion: 1\nDescription: " + strings.Repeat("x", 8<<10) + "\n\n"
	img := imageOf(t, layerOf(t, reg("var/lib/dpkg/status", big), reg("app/node_modules/a/package.json", `{"name":"a","version":"1.0.0"}`)))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		rep, err := scan(t, sb.scanner(t, k.options(scanner.Options{MaxFileSize: 4 << 10})), img)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(rep.Packages); strings.Join(got, ",") != "a@1.0.0" {
			t.Errorf("packages %v", got)
		}
		k.noHostLeak(t, rep)
	})
}

func TestCorruptLayerIsFailedToScan(t *testing.T) {
	// Valid gzip around bytes that are not a tar archive: the transfer is
	// fine, the content is not.
	img := imageOf(t, rawLayer(t, []byte(strings.Repeat("not a tar archive ", 100))))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		_, err := scan(t, sb.scanner(t, k.options(scanner.Options{})), img)
		wantFailure(t, err, inventory.ScanFailed, scanner.DescFailedToScanSoftware)
	})
}

func TestHundredThousandFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-entry layer")
	}
	files := make([]file, 0, 100_001)
	for i := range 100_000 {
		files = append(files, reg(fmt.Sprintf("d%03d/f%05d", i%500, i), "x"))
	}
	files = append(files, reg("var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n\n"))
	img := imageOf(t, layerOf(t, files...))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		start := time.Now()
		rep, err := scan(t, sb.scanner(t, k.options(scanner.Options{})), img)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("scanned 100,000 entries in %v", time.Since(start))
		if got := names(rep.Packages); strings.Join(got, ",") != "a@1" {
			t.Errorf("packages %v", got)
		}
		k.noHostLeak(t, rep)
	})
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
	r := registrytest.New(t)
	status, n := debianStatus(t)
	push(t, r, "debian", imageOf(t, layerOf(t, reg("usr/lib/os-release", bookwormOSRelease),
		symlink("etc/os-release", "../usr/lib/os-release"), reg("var/lib/dpkg/status", status))))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		rep, err := pullAndScan(t, sb.scanner(t, k.options(scanner.Options{})), r, "debian", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Packages) != n || rep.CompressedBytes == 0 || rep.UnpackedBytes < int64(len(status)) {
			t.Errorf("%d packages, %d compressed, %d unpacked", len(rep.Packages), rep.CompressedBytes, rep.UnpackedBytes)
		}
		k.noHostLeak(t, rep)
	})
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
	kinds := scanKinds(t)
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
		for _, k := range kinds {
			t.Run(tc.name+"/"+k.name, func(t *testing.T) {
				sb := newSandbox(t)
				r := registrytest.New(t, registrytest.WithMiddleware(tc.middleware))
				push(t, r, "app", img)
				_, err := pullAndScan(t, sb.scanner(t, k.options(scanner.Options{})), r, "app", tc.timeout)
				wantFailure(t, err, tc.status, tc.desc)
				sb.check(t)
			})
		}
	}

	for _, k := range kinds {
		t.Run("missing blob/"+k.name, func(t *testing.T) {
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
			_, err = pullAndScan(t, sb.scanner(t, k.options(scanner.Options{})), r, "app", time.Minute)
			wantFailure(t, err, inventory.DownloadFailed, scanner.DescDownloadFailed)
			sb.check(t)
		})

		t.Run("wrong credentials/"+k.name, func(t *testing.T) {
			sb := newSandbox(t)
			r := registrytest.New(t, registrytest.WithBasicAuth("alice", "secret"))
			push(t, r, "app", img)
			_, err := pullAndScan(t, sb.scanner(t, k.options(scanner.Options{})), r, "app", time.Minute,
				remote.WithAuth(&authn.Basic{Username: "alice", Password: "wrong"}))
			wantFailure(t, err, inventory.DownloadFailed, scanner.DescAuthenticationFailed)
			sb.check(t)
		})

		t.Run("registry gone/"+k.name, func(t *testing.T) {
			sb := newSandbox(t)
			r := registrytest.New(t)
			push(t, r, "app", img)
			ref, _ := name.ParseReference(r.Addr()+"/app:v1", name.Insecure)
			pulled, err := remote.Image(ref)
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
			_, err = sb.scanner(t, k.options(scanner.Options{})).Scan(context.Background(), pulled)
			wantFailure(t, err, inventory.DownloadFailed, scanner.DescDownloadFailed)
			sb.check(t)
		})
	}
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

// The host files' markers are seen when their content is in the image:
// the leak checks of the hostile tests can fail.
func TestHostLeakChecksSeeHostFiles(t *testing.T) {
	hf := hostFiles()
	img := imageOf(t, layerOf(t,
		reg("var/lib/dpkg/status", hf["status"]), reg("etc/passwd", hf["passwd"]), reg("etc/shadow", hf["shadow"]),
		reg("etc/os-release", hf["os-release"]), reg("etc/ssh/sshd_config", hf["sshd_config"]), reg("app/.env", hf["secret.env"]),
	))
	k := scanKinds(t)[1]
	sb := newSandbox(t)
	rep, err := scan(t, sb.scanner(t, k.options(scanner.Options{})), img)
	if err != nil {
		t.Fatal(err)
	}
	leaks := strings.Join(hostLeaks(rep), "\n")
	for _, want := range []string{"host package", "host os-release", "host account {", "host account in " + baseline.RuleExtraUID0,
		"host secret", "host file hashed"} {
		if !strings.Contains(leaks, want) {
			t.Errorf("no %q among the leaks:\n%s", want, leaks)
		}
	}
	wantFailed(t, rep, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck, baseline.RuleEmptyPassword, baseline.RuleExtraUID0,
		baseline.RuleSSHRootLogin, baseline.RuleSSHEmptyPasswords)
	sb.check(t)
}

// zeroFile streams a tar entry of size zero bytes.
func zeroFile(tw *tar.Writer, name string, size int64) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o640, Size: size, ModTime: time.Unix(1700000000, 0)}); err != nil {
		return err
	}
	_, err := io.Copy(tw, io.LimitReader(zeroReader{}, size))
	return err
}

// repeatReader repeats s forever.
type repeatReader struct {
	s   string
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.s[r.off:])
		n += c
		r.off = (r.off + c) % len(r.s)
	}
	return n, nil
}

// Files far over the analyzers' size limits, and text files at the
// secrets analyzer's limit that are one long line of near-secrets, scan
// with bounded work: every byte is read once (the digest needs it), the
// huge files are neither kept on disk nor held in memory (the layers are
// generated as they are read, so the process's allocations show what the
// scan itself held), and the secrets analyzer stops at its match budget.
// Work is asserted, never time: the machine may be busy.
func TestHugeFilesForTheAnalyzers(t *testing.T) {
	if testing.Short() {
		t.Skip("streams hundreds of megabytes")
	}
	// Each piece looks like a credential assignment to gitleaks' keyword
	// filter and generic rule; none is a real secret.
	nearSecret := "api_key=Zx81Qw27Er63Ty45Ui09;password=Pa55Wo4dXy7;token=Tk3n9Hh2Jj8Ll1Mm5;"
	// At most three matches per piece, for a bound on one file's matches.
	maxFileMatches := int64(3 * (secrets.DefaultMaxFileSize/len(nearSecret) + 1))
	cases := []struct {
		name  string
		size  int64
		layer func(t *testing.T) v1.Layer
		// secretFiles is how many files the secrets analyzer may read (the
		// match budget leaves the second long line unread when one core
		// runs the detector).
		secretFiles int64
		// maxAlloc bounds the bytes the scan allocates.
		maxAlloc uint64
	}{
		{"200 MB /etc/shadow of zeros", 200 << 20, func(t *testing.T) v1.Layer {
			return streamLayer(t, func(tw *tar.Writer) error {
				for _, f := range []struct{ name, body string }{{"etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"},
					{"etc/login.defs", "PASS_MAX_DAYS 90\n"}} {
					if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))}); err != nil {
						return err
					}
					if _, err := io.WriteString(tw, f.body); err != nil {
						return err
					}
				}
				return zeroFile(tw, "etc/shadow", 200<<20)
			})
		}, 2, 100 << 20}, // passwd and login.defs are candidates
		{"200 MB sshd_config of zeros", 200 << 20, func(t *testing.T) v1.Layer {
			return streamLayer(t, func(tw *tar.Writer) error { return zeroFile(tw, "etc/ssh/sshd_config", 200<<20) })
		}, 0, 100 << 20},
		{"100 MB single-line text", 100 << 20, func(t *testing.T) v1.Layer {
			return streamLayer(t, func(tw *tar.Writer) error {
				const size = 100 << 20
				if err := tw.WriteHeader(&tar.Header{Name: "app/config.env", Typeflag: tar.TypeReg, Mode: 0o644, Size: size}); err != nil {
					return err
				}
				_, err := io.Copy(tw, io.LimitReader(&repeatReader{s: nearSecret}, size))
				return err
			})
		}, 0, 50 << 20},
		{"512 KiB single-line text", 512 << 10, func(t *testing.T) v1.Layer {
			line := strings.Repeat(nearSecret, (secrets.DefaultMaxFileSize/len(nearSecret))+1)[:secrets.DefaultMaxFileSize]
			return layerOf(t, reg("app/config.env", line), reg("etc/profile.d/long.sh", line))
		}, 2, 2 << 30}, // about 200 MiB allocated for both files
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := imageOf(t, tc.layer(t))
			if _, err := img.Digest(); err != nil { // generate once before measuring
				t.Fatal(err)
			}
			eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := sb.scanner(t, k.options(scanner.Options{}))
				rep, err := scan(t, s, img)
				runtime.ReadMemStats(&after)
				if err != nil {
					t.Fatal(err)
				}
				alloc := after.TotalAlloc - before.TotalAlloc
				scratch := s.Scratch()
				t.Logf("%d MiB allocated, scratch %+v, work %v, %d secrets", alloc>>20, scratch, rep.Work, len(rep.Secrets))
				// Holding a huge file would take its size at least.
				if tc.size > 64<<20 && int64(alloc) >= tc.size/2 {
					t.Errorf("%d MiB allocated for a %d MiB file", alloc>>20, tc.size>>20)
				}
				if alloc > tc.maxAlloc {
					t.Errorf("%d MiB allocated, want at most %d MiB", alloc>>20, tc.maxAlloc>>20)
				}
				if rep.UnpackedBytes < tc.size {
					t.Errorf("unpacked %d bytes, want at least %d", rep.UnpackedBytes, tc.size)
				}
				// Over the kept-file limit (64 MiB) nothing is written;
				// the 512 KiB files may go to disk, once each.
				if tc.size > scanner.DefaultMaxFileSize && scratch.Written != 0 {
					t.Errorf("%d bytes written to scratch for files over the kept-file limit", scratch.Written)
				}
				if scratch.Written > 2*tc.size || scratch.Held != 0 {
					t.Errorf("scratch %+v", scratch)
				}
				if k.analyzers != nil {
					files, read, matches := rep.Work["secrets.files"], rep.Work["secrets.bytes"], rep.Work["secrets.matches"]
					if files > tc.secretFiles || read > tc.secretFiles*secrets.DefaultMaxFileSize {
						t.Errorf("secrets read %d files, %d bytes; want at most %d files of %d bytes", files, read, tc.secretFiles, secrets.DefaultMaxFileSize)
					}
					if matches > files*maxFileMatches {
						t.Errorf("%d matches in %d files, more than %d a file", matches, files, maxFileMatches)
					}
					if a, b := rep.Work["baseline.weak_password.attempts"], rep.Work["baseline.weak_password.estimated_us"]; a != 0 || b != 0 {
						t.Errorf("weak-password work %d attempts, %d µs with no hash to try", a, b)
					}
				}
				k.noHostLeak(t, rep)
				if len(rep.WeakPasswords) != 0 {
					t.Errorf("weak passwords %+v", rep.WeakPasswords)
				}
				for _, s := range rep.Secrets {
					if len(s.Content) > 40 {
						t.Errorf("secret content not masked: %d characters", len(s.Content))
					}
				}
			})
		})
	}
}

// 100,000 accounts with costly hashes: the weak-password check spends its
// estimated budget (not the hashes' real cost: 100,000 yescrypt
// attempts would take over an hour) and still reports root's weak
// password, listed last.
func TestShadowOfExpensiveHashes(t *testing.T) {
	const (
		n = 100_000
		// mkpasswd -m yescrypt 123456: Debian's default parameters
		// (N = 4096, r = 32), about 46 ms an attempt.
		yescrypt123456 = "$y$j9T$sY03VX4ibvI/m/I6nUjsz.$ur2Ffz7Z357tUgFjYjwdG6JmzKvdtVyRmqn4pdQzu45"
		// mkpasswd -m yescrypt -R 15 123456: 256 MiB and about 20 s an
		// attempt.
		yescryptAbsurd = "$y$jFT$Vpn8XbdgUHoHf1YcHV3Dr.$nnxqKFLvFniIeDC6QKoYyunNIg/Cm4kGBQU8le0Ni3C"
	)
	// Other accounts carry the same hash under a salt that makes it
	// unmatchable: the setting parses, the comparison never succeeds.
	unmatchable := strings.Replace(yescrypt123456, "sY03VX4ibvI", "AAAAAAAAAAA", 1)
	var passwd, shadow strings.Builder
	for i := range n {
		fmt.Fprintf(&passwd, "u%06d:x:%d:100::/home/u%06d:/bin/sh\n", i, 1000+i, i)
		h := unmatchable
		switch i % 3 {
		case 1:
			h = yescryptAbsurd
		case 2:
			h = "$6$rounds=999999999$saltsaltsalt$" + strings.Repeat("x", 86)
		}
		fmt.Fprintf(&shadow, "u%06d:%s:19700:0:99999:7:::\n", i, h)
	}
	passwd.WriteString("root:x:0:0:root:/root:/bin/sh\n")
	shadow.WriteString("root:" + yescrypt123456 + ":19700:0:99999:7:::\n")
	img := imageOf(t, layerOf(t, reg("etc/passwd", passwd.String()), sized("etc/shadow", shadow.String(), 0o640)))
	eachKind(t, func(t *testing.T, k scanKind, sb *sandbox) {
		rep, err := scan(t, sb.scanner(t, k.options(scanner.Options{})), img)
		if err != nil {
			t.Fatal(err)
		}
		k.noHostLeak(t, rep)
		if k.analyzers == nil {
			return
		}
		// The work, not the time: the default budget is one second of
		// estimated hashing (root's 46 ms yescrypt a few times over, the
		// absurd hashes never tried), whatever the machine's load.
		attempts, estimated := rep.Work["baseline.weak_password.attempts"], rep.Work["baseline.weak_password.estimated_us"]
		t.Logf("%d attempts, %d µs estimated", attempts, estimated)
		if attempts == 0 || estimated > time.Second.Microseconds() || attempts > 1000 {
			t.Errorf("%d attempts, %d µs estimated: want some, within the one-second budget", attempts, estimated)
		}
		wantFailed(t, rep, baseline.RuleRunsAsRoot, baseline.RuleNoHealthcheck, baseline.RuleWeakPassword)
		if len(rep.WeakPasswords) != 1 || rep.WeakPasswords[0].User != "root" || rep.WeakPasswords[0].Type != "weak_password" {
			t.Errorf("weak passwords %+v, want root's", rep.WeakPasswords)
		}
	})
}
