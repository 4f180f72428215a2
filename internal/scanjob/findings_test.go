package scanjob_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/malware"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanner/secrets"
	"github.com/openhss/openhss/internal/scanresult"
)

// analyzingScanner gives every scan a fresh malware analyzer (it keeps
// per-scan state), as cmd/openhss does.
type analyzingScanner struct {
	dir      string
	baseline *baseline.Analyzer
	malware  *malware.Analyzer
	secrets  *secrets.Analyzer
}

func (s *analyzingScanner) ScanScope(ctx context.Context, img v1.Image, scope scanresult.Scope) (*scanner.Report, error) {
	sc, err := scanner.New(scanner.Options{ScratchDir: s.dir,
		Analyzers: []scanner.Analyzer{s.baseline, s.malware, s.secrets}})
	if err != nil {
		return nil, err
	}
	return sc.ScanScope(ctx, img, scope)
}

// withAnalyzers swaps e's scan service for one whose scanner runs the
// three analyzers, with the store as signature database.
func withAnalyzers(t *testing.T, e *env) {
	t.Helper()
	b, err := baseline.New(baseline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sec, err := secrets.New(secrets.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := malware.New(malware.Options{Signatures: e.store})
	if err != nil {
		t.Fatal(err)
	}
	sc := &analyzingScanner{dir: t.TempDir(), baseline: b, secrets: sec, malware: m}
	e.svc = newService(t, scanjob.Options{Store: e.store, Scanner: sc, Matcher: e.db, Box: e.box,
		Transport: registrytestTransport(t), Log: slog.New(slog.DiscardHandler)})
}

// configured sets the image config: a non-root user and a HEALTHCHECK, so
// that only the files decide the baseline.
func configured(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.User = "app"
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/bin/true"}}
	out, err := mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const (
	weakPassword = "123456"
	awsKeyID     = "AKIAQYLPMN5HHHFPZAM2"
	awsSecret    = "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"
	toolScript   = "#!/bin/sh\n# an innocent-looking tool the feed will name\necho working\n"
)

const osRelease = "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"

const passwd = "root:x:0:0:root:/root:/bin/bash\napp:x:1000:1000::/home/app:/bin/sh\n"

func privateKeyPEM(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

func TestAnalyzersEndToEnd(t *testing.T) {
	var requests atomic.Int64
	reg := registrytest.New(t, registrytest.WithMiddleware(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			h.ServeHTTP(w, r)
		})
	}))
	key := privateKeyPEM(t)
	keyBody := strings.Split(key, "\n")[1]
	shadow := "root:" + scannertest.SHA512Crypt(t, weakPassword) + ":19700:0:90:7:::\napp:!:19700:0:90:7:::\n"
	base := []imagetest.File{
		imagetest.Reg("etc/os-release", osRelease),
		imagetest.Reg("etc/passwd", passwd),
		{Name: "etc/shadow", Mode: 0o640, Body: "root:*:19700:0:90:7:::\napp:!:19700:0:90:7:::\n"},
	}
	risky := configured(t, image(t,
		imagetest.Layer(t, base...),
		imagetest.Layer(t,
			imagetest.File{Name: "etc/shadow", Mode: 0o640, Body: shadow},
			imagetest.Reg("opt/vendor/lib/share/data/tests/av/eicar.com", malware.EICAR),
			imagetest.File{Name: "root/.ssh/id_ecdsa", Mode: 0o600, Body: key},
			imagetest.Reg("srv/app/config.env", "AWS_ACCESS_KEY_ID="+awsKeyID+"\nAWS_SECRET_ACCESS_KEY="+awsSecret+"\n"),
			imagetest.Exe("usr/local/bin/tool.sh", toolScript),
		),
	))
	clean := configured(t, image(t, imagetest.Layer(t, base...)))
	push(t, reg, "team/risky", "1", risky)
	push(t, reg, "team/clean", "1", clean)

	e := newEnv(t, reg, envConfig{noVulnData: true})
	withAnalyzers(t, e)
	ctx := context.Background()
	rows := e.syncAll(t)
	if _, err := e.svc.Request(ctx, project, []inventory.Image{rows["team/risky:1"], rows["team/clean:1"]}); err != nil {
		t.Fatal(err)
	}
	e.runAll(t)
	rows = e.rows(t)
	r, c := rows["team/risky:1"], rows["team/clean:1"]
	if r.ScanStatus != inventory.ScanSuccess || c.ScanStatus != inventory.ScanSuccess {
		t.Fatalf("scan status: risky %s %q, clean %s %q", r.ScanStatus, r.ScanFailedDesc, c.ScanStatus, c.ScanFailedDesc)
	}

	ra, err := e.store.GetAnalysis(ctx, r.ManifestDigest)
	if err != nil {
		t.Fatal(err)
	}
	if len(ra.Baseline) != len(baseline.Rules()) {
		t.Errorf("%d baseline results stored, want every rule (%d)", len(ra.Baseline), len(baseline.Rules()))
	}
	if r.UnsafeSettingNum == 0 || r.UnsafeSettingNum != ra.FailedRules() {
		t.Errorf("unsafe_setting_num %d, failed rules stored %d", r.UnsafeSettingNum, ra.FailedRules())
	}
	failed := map[string]bool{}
	for _, b := range ra.Baseline {
		failed[b.RuleID] = !b.Passed
	}
	for _, id := range []string{baseline.RuleWeakPassword, baseline.RulePrivateKey} {
		if !failed[id] {
			t.Errorf("rule %s did not fail on the risky image", id)
		}
	}
	if len(ra.WeakPasswords) != 1 || ra.WeakPasswords[0].User != "root" {
		t.Errorf("weak password users = %+v, want root", ra.WeakPasswords)
	}
	if r.MaliciousFileNum < 1 || int(r.MaliciousFileNum) != len(ra.Malware) {
		t.Errorf("malicious_file_num %d, malware stored %+v", r.MaliciousFileNum, ra.Malware)
	}
	eicar := false
	for _, m := range ra.Malware {
		eicar = eicar || m.FilePath == "/opt/vendor/lib/share/data/tests/av/eicar.com"
	}
	if !eicar {
		t.Errorf("EICAR under a deep path not found: %+v", ra.Malware)
	}
	rules := map[string]bool{}
	for _, s := range ra.Secrets {
		rules[s.RuleID] = true
	}
	if !rules["private-key"] || !rules["aws-access-token"] {
		t.Errorf("secrets found: %+v; want a private key and an AWS key", ra.Secrets)
	}
	// Nothing stored holds a plaintext secret or the password.
	stored, err := json.Marshal(ra)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{weakPassword, awsKeyID, awsSecret, keyBody} {
		if strings.Contains(string(stored), plain) {
			t.Errorf("the stored analysis holds the plaintext %q", plain)
		}
	}

	ca, err := e.store.GetAnalysis(ctx, c.ManifestDigest)
	if err != nil {
		t.Fatal(err)
	}
	if c.UnsafeSettingNum != 0 || c.MaliciousFileNum != 0 || len(ca.Malware)+len(ca.Secrets)+len(ca.WeakPasswords) != 0 {
		var why []string
		for _, b := range ca.Baseline {
			if !b.Passed {
				why = append(why, b.RuleID+": "+b.Evidence)
			}
		}
		t.Errorf("clean image: unsafe %d malicious %d, failed %v, findings %+v", c.UnsafeSettingNum, c.MaliciousFileNum, why, ca)
	}

	yes, no := true, false
	for _, tc := range []struct {
		name string
		f    func(*inventory.Filter)
		want string
	}{
		{"has_malicious_file", func(f *inventory.Filter) { f.HasMaliciousFile = &yes }, "team/risky:1"},
		{"no malicious file", func(f *inventory.Filter) { f.HasMaliciousFile = &no }, "team/clean:1"},
		{"has_unsafe_setting", func(f *inventory.Filter) { f.HasUnsafeSetting = &yes }, "team/risky:1"},
		{"no unsafe setting", func(f *inventory.Filter) { f.HasUnsafeSetting = &no }, "team/clean:1"},
	} {
		f := inventory.Filter{ProjectID: project, Type: inventory.PrivateImage, Limit: 10}
		tc.f(&f)
		page, err := e.store.ListImages(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Images) != 1 || page.Images[0].Namespace+"/"+page.Images[0].Name+":"+page.Images[0].Tag != tc.want {
			t.Errorf("%s: %d rows %+v, want %s", tc.name, len(page.Images), page.Images, tc.want)
		}
	}

	// A signature imported later names the stored script: the re-check
	// finds it without a registry request.
	sum := sha256.Sum256([]byte(toolScript))
	if _, err := e.store.ImportSignatures(ctx, []scanresult.Signature{{SHA256: hex.EncodeToString(sum[:]), Name: "Test.Dropper"}}); err != nil {
		t.Fatal(err)
	}
	before := requests.Load()
	st, err := e.svc.RecheckMalware(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := requests.Load() - before; n != 0 {
		t.Fatalf("the registry saw %d requests during the re-check, want 0", n)
	}
	if st.Images != 1 {
		t.Errorf("re-check changed %d images, want 1", st.Images)
	}
	after := e.rows(t)["team/risky:1"]
	if after.MaliciousFileNum != r.MaliciousFileNum+1 {
		t.Errorf("malicious_file_num after the re-check = %d, want %d", after.MaliciousFileNum, r.MaliciousFileNum+1)
	}
	again, err := e.svc.RecheckMalware(ctx)
	if err != nil || again.Images != 0 {
		t.Errorf("a second re-check = %+v, %v; want no change", again, err)
	}
}
