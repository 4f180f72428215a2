package secrets_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/scanresult"
)

// testSecrets are generated for each run, so no real credential is in the
// source and none of them is on any allowlist of example keys.
type testSecrets struct {
	rsaPEM, ecPEM, sshPEM  string
	awsID, awsSecret, ghpT string
}

func (s testSecrets) all() []string {
	return []string{s.rsaPEM, s.ecPEM, s.sshPEM, s.awsID, s.awsSecret, s.ghpT}
}

func randomString(t testing.TB, alphabet string, n int) string {
	t.Helper()
	b := make([]byte, n)
	for i := range b {
		k, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Fatal(err)
		}
		b[i] = alphabet[k.Int64()]
	}
	return string(b)
}

func newSecrets(t testing.TB) testSecrets {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	_, edk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshBlock, err := ssh.MarshalPrivateKey(edk, "test key")
	if err != nil {
		t.Fatal(err)
	}
	const upperDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	return testSecrets{
		rsaPEM: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})),
		ecPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})),
		sshPEM: string(pem.EncodeToMemory(sshBlock)),
		awsID:  "AKIA" + randomString(t, upperDigits, 16),
		// Letters and digits only: with "/" and "+" in the alphabet, gitleaks'
		// generic-api-key rule missed about one random value in six, which
		// made this test flaky (80 runs in a row pass without them).
		awsSecret: randomString(t, alnum, 40),
		ghpT:      "ghp_" + randomString(t, alnum, 36),
	}
}

// leaks reports whether s holds any secret, or a 12-character piece of
// one (the PEM armour lines excepted, which are not secret).
func (ts testSecrets) leaks(s string) bool {
	for _, sec := range ts.all() {
		for _, line := range strings.Split(sec, "\n") {
			if strings.HasPrefix(line, "-----") {
				continue
			}
			for i := 0; i+12 <= len(line); i += 6 {
				if strings.Contains(s, line[i:i+12]) {
					return true
				}
			}
		}
	}
	return false
}

// captureStderr runs fn with file descriptor 2 redirected to a file and
// returns what was written there: gitleaks' logger writes to the stderr it
// saw at start-up, which swapping os.Stderr would not catch.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved, err := unix.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Dup3(int(f.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if err := unix.Dup3(saved, 2, 0); err != nil {
				panic(err)
			}
			unix.Close(saved)
		}()
		fn()
	}()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// syncBuffer is a log destination shared by the workers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFindsMaskedSecrets(t *testing.T) {
	ts := newSecrets(t)
	awsCreds := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\nregion = eu-west-1\n", ts.awsID, ts.awsSecret)
	base := layerOf(t,
		file{Name: "root/.ssh/id_rsa", Body: ts.rsaPEM, Mode: 0o600},
		reg("etc/ssl/private/server.key", ts.ecPEM),
		reg("home/app/.ssh/id_ed25519", ts.sshPEM),
		reg("root/.aws/credentials", awsCreds),
		reg("app/.env", "# deploy settings\nAPP_ENV=production\nGITHUB_TOKEN="+ts.ghpT+"\n"),
		reg("tmp/token.txt", "GITHUB_TOKEN="+ts.ghpT+"\n"),
		// A certificate bundle is skipped as public, unless a key hides in it.
		reg("etc/app/bundle.pem", "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"+ts.ecPEM),
		// Never read: documentation, a binary, the allowlist, too big.
		reg("usr/share/doc/app/example.key", ts.rsaPEM),
		reg("opt/app/blob.dat2", "\x00\x01binary"+ts.rsaPEM),
		reg("srv/fixtures/keys/test.pem", ts.ecPEM),
		reg("opt/demo/secrets.txt", "token: "+ts.ghpT+"\n"),
		reg("var/data/big.txt", "GITHUB_TOKEN="+ts.ghpT+"\n"+strings.Repeat("filler line\n", 6000)),
	)
	upper := layerOf(t, whiteout("tmp", "token.txt"), reg("app/README", "nothing to see\n"))
	img := imageOf(t, base, upper)

	logs := &syncBuffer{}
	a, err := secrets.New(secrets.Options{
		MaxFileSize: 64 << 10,
		Allowlist:   []string{"/srv/fixtures", "/opt/*/secrets.txt"},
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	var r *scanner.Report
	stderr := captureStderr(t, func() {
		r, err = scanWith(t, img, a)
	})
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for i, f := range r.Secrets {
		got = append(got, fmt.Sprintf("%s:%d %s %s", f.FilePath, f.Line, f.RuleID, f.Severity))
		if ts.leaks(fmt.Sprintf("%+v", f)) {
			t.Errorf("finding %d (%s:%d %s) holds a secret", i, f.FilePath, f.Line, f.RuleID)
		}
		if f.ID == "" || f.Name == "" || f.Description == "" || f.LayerDigest != digestOf(t, base) ||
			!strings.Contains(f.Content, "…(") {
			t.Errorf("finding %d incomplete: id %q name %q layer %q content %q", i, f.ID, f.Name, f.LayerDigest, f.Content)
		}
	}
	want := []string{
		"/app/.env:3 github-pat high",
		"/etc/app/bundle.pem:4 private-key high",
		"/etc/ssl/private/server.key:1 private-key high",
		"/home/app/.ssh/id_ed25519:1 private-key high",
		"/root/.aws/credentials:2 aws-access-token high",
		"/root/.aws/credentials:3 generic-api-key medium",
		"/root/.ssh/id_rsa:1 private-key high",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n got  %q\n want %q", got, want)
	}
	for _, f := range r.Secrets {
		switch {
		case f.RuleID == "github-pat" && f.Content != "ghp_…(40 chars)",
			f.FilePath == "/root/.ssh/id_rsa" && !strings.HasPrefix(f.Content, "-----BEGIN RSA PRIVATE KEY-----…("),
			f.RuleID == "aws-access-token" && f.Content != "AKIA…(20 chars)":
			t.Errorf("%s %s: content %q", f.FilePath, f.RuleID, f.Content)
		}
	}
	if ts.leaks(logs.String()) || ts.leaks(stderr) {
		t.Errorf("a secret reached the logs or stderr")
	}
	if !strings.Contains(logs.String(), "secrets: analyzed") {
		t.Errorf("no summary logged: %q", logs.String())
	}
	if stderr != "" && !strings.Contains(stderr, "=== RUN") {
		t.Logf("stderr during the scan (checked for secrets): %d bytes", len(stderr))
	}

	// The same image scanned again gives the same ids.
	r2, err := scanWith(t, img, a)
	if err != nil {
		t.Fatal(err)
	}
	ids := func(r *scanner.Report) (out []string) {
		for _, f := range r.Secrets {
			out = append(out, f.ID)
		}
		return out
	}
	if !slices.Equal(ids(r), ids(r2)) {
		t.Errorf("ids changed between scans")
	}
}

// A minimal Debian root filesystem, as debootstrap makes it, holds no
// secret: no false positive.
func TestCleanDebian(t *testing.T) {
	logs := &syncBuffer{}
	a, err := secrets.New(secrets.Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	r, err := scanWith(t, imageOf(t, debianLayer(t)), a)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range r.Secrets {
		t.Errorf("false positive: %s:%d %s %s", f.FilePath, f.Line, f.RuleID, f.Content)
	}
	t.Log(strings.TrimSpace(logs.String()))
}

func TestUsesDefaultRules(t *testing.T) {
	a, err := secrets.New(secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Rules() < 200 {
		t.Errorf("%d rules, want gitleaks' default set (222 in v8.30.1)", a.Rules())
	}
}

func TestBadAllowlist(t *testing.T) {
	for _, p := range []string{"/", "/srv/[", ".."} {
		if _, err := secrets.New(secrets.Options{Allowlist: []string{p}}); err == nil {
			t.Errorf("allowlist %q accepted", p)
		}
	}
}

func TestContextCancelled(t *testing.T) {
	a, err := secrets.New(secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var files []file
	for i := range 200 {
		files = append(files, reg(fmt.Sprintf("etc/app/conf%d.ini", i), "key = value\n"))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = scannertest.New(t, scanner.Options{ScratchDir: t.TempDir(), Analyzers: []scanner.Analyzer{a}}).Scan(ctx, imageOf(t, layerOf(t, files...)))
	if err == nil {
		t.Fatal("scan with a cancelled context succeeded")
	}
}

var _ io.Writer = (*syncBuffer)(nil)

// generic-api-key's "line" allowlists, which this package applies itself,
// still drop a candidate on the same line as an ES import; far along a
// long line from one (more than lineContext bytes), the candidate is
// reported where gitleaks alone would drop it.
func TestLineAllowlists(t *testing.T) {
	a, err := secrets.New(secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	candidate := `const api_key = "Zx81Qw27Er63Ty45Ui09";`
	img := imageOf(t, layerOf(t,
		reg("app/plain.js", candidate+"\n"),
		reg("app/import.js", `import { token } from "./auth"; `+candidate+"\n"),
		reg("app/far.js", `import { token } from "./auth"; `+strings.Repeat("let x = 1; ", 300)+candidate+"\n"),
		reg("app/mount.sh", "RUN --mount=type=secret,id=npm "+candidate+"\n"),
	))
	r, err := scanWith(t, img, a)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range r.Secrets {
		got = append(got, f.FilePath+" "+f.RuleID)
	}
	want := []string{"/app/far.js generic-api-key", "/app/plain.js generic-api-key"}
	if !slices.Equal(got, want) {
		t.Errorf("findings %v, want %v", got, want)
	}
}

// One 512 KiB line dense with candidates: gitleaks alone tests its
// line allowlists against the whole line for every candidate (tens of
// minutes); with the line cut around each match it takes seconds. Two
// such files: the first fills the match budget, the second is not read,
// and a budget finding says so. Work is asserted, not time.
func TestLongLineOfCandidates(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of detection")
	}
	a, err := secrets.New(secrets.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	near := "api_key=Zx81Qw27Er63Ty45Ui09;password=Pa55Wo4dXy7;token=Tk3n9Hh2Jj8Ll1Mm5;"
	line := strings.Repeat(near, secrets.DefaultMaxFileSize/len(near)+1)[:secrets.DefaultMaxFileSize]
	img := imageOf(t, layerOf(t, reg("app/config.env", line), reg("app/second.env", line)))
	r, err := scanWith(t, img, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("work %v, %d findings", r.Work, len(r.Secrets))
	if got := r.Work["secrets.bytes"]; got != secrets.DefaultMaxFileSize {
		t.Errorf("read %d bytes, want one file's (%d)", got, secrets.DefaultMaxFileSize)
	}
	if r.Work["secrets.matches"] < secrets.DefaultMaxMatches || r.Work["secrets.unread"] != 1 {
		t.Errorf("work %v: want the match budget filled by the first file and the second unread", r.Work)
	}
	// Findings are per (rule, file, line): one line, a finding or two,
	// then the budget finding.
	if len(r.Secrets) < 2 {
		t.Fatalf("findings %+v: want the line's and the budget finding", r.Secrets)
	}
	if last := r.Secrets[len(r.Secrets)-1]; last.RuleID != secrets.Budget || last.FilePath != "/app/second.env" {
		t.Errorf("last finding %+v, want the budget finding naming /app/second.env", last)
	}
}

// The work budget per image: candidates past MaxBytes (counted in path
// order from their sizes) or started after MaxMatches detector matches are
// not read, the findings stop at MaxMatches, and a finding of rule Budget
// names the first file left out.
func TestWorkBudget(t *testing.T) {
	ts := newSecrets(t)
	var files []file
	for i := range 10 {
		// 1 KiB each, one token and a padding comment.
		body := "GITHUB_TOKEN=" + ts.ghpT + "\n# " + strings.Repeat("x", 1024-len(ts.ghpT)-17) + "\n"
		files = append(files, reg(fmt.Sprintf("app/conf%02d.env", i), body))
	}
	img := imageOf(t, layerOf(t, files...))
	for _, tc := range []struct {
		name                string
		opts                secrets.Options
		read, unread, found int64
		firstUnread         string
	}{
		{"unbounded", secrets.Options{}, 10, 0, 10, ""},
		{"bytes", secrets.Options{MaxBytes: 3*1024 + 100}, 3, 7, 3, "/app/conf03.env"},
		{"matches", secrets.Options{MaxMatches: 4}, 4, 6, 4, "/app/conf04.env"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Workers = 1 // the match budget is checked between files
			a, err := secrets.New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			r, err := scanWith(t, img, a)
			if err != nil {
				t.Fatal(err)
			}
			if r.Work["secrets.files"] != tc.read || r.Work["secrets.bytes"] != tc.read*1024 || r.Work["secrets.unread"] != tc.unread {
				t.Errorf("work %v, want %d files (%d bytes) read and %d unread", r.Work, tc.read, tc.read*1024, tc.unread)
			}
			var found int64
			var budget []scanresult.Secret
			for _, f := range r.Secrets {
				if f.RuleID == secrets.Budget {
					budget = append(budget, f)
				} else {
					found++
				}
			}
			if found != tc.found {
				t.Errorf("%d findings, want %d", found, tc.found)
			}
			switch {
			case tc.firstUnread == "" && len(budget) != 0:
				t.Errorf("budget finding %+v within the budget", budget)
			case tc.firstUnread != "" && (len(budget) != 1 || budget[0].FilePath != tc.firstUnread ||
				!strings.Contains(budget[0].Description, "not read")):
				t.Errorf("budget findings %+v, want one naming %s", budget, tc.firstUnread)
			}
		})
	}
}
