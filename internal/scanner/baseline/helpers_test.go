package baseline_test

import (
	"archive/tar"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/dirlayer"
	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanner/scannertest"
	"github.com/openhss/openhss/internal/scanresult"
)

// Short local names for the shared image builder (internal/imagetest).
type file = imagetest.File

var (
	reg      = imagetest.Reg
	whiteout = imagetest.Whiteout
	layerOf  = imagetest.Layer
)

func regMode(name, body string, m int64) file { return file{Name: name, Body: body, Mode: m} }
func dir(name string, m int64) file           { return file{Name: name, Type: tar.TypeDir, Mode: m} }
func symlink(name, target string) file {
	return file{Name: name, Type: tar.TypeSymlink, Link: target, Mode: 0o777}
}
func owned(f file, uid, gid int) file        { f.UID, f.GID = uid, gid; return f }
func exe(name string) file                   { return regMode(name, "\x7fELF\x02\x01\x01", 0o755) }
func setuidExe(name string, bits int64) file { return regMode(name, "\x7fELF\x02\x01\x01", bits) }

// imageOf builds a linux/amd64 image from layers, then lets edit change
// its configuration (user, healthcheck, env, history, ports).
func imageOf(t testing.TB, edit func(*v1.ConfigFile), layers ...v1.Layer) v1.Image {
	t.Helper()
	img := imagetest.Image(t, layers...)
	if edit == nil {
		return img
	}
	return imagetest.WithConfigFile(t, img, edit)
}

// hardened is the configuration of an image that passes every
// configuration rule: a named user, a health check, a harmless
// environment and history.
func hardened(cf *v1.ConfigFile) {
	cf.Config.User = "app"
	cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/usr/local/bin/app", "-healthcheck"}}
	cf.Config.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"DB_PASSWORD_FILE=/run/secrets/db", // a file name, not a secret
		"API_TOKEN=",                       // declared, no value
		"GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
		"PASSWORD_MIN_LENGTH=12",
	}
	cf.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}, "2222/udp": {}}
	cf.History = []v1.History{
		{CreatedBy: "/bin/sh -c #(nop) ADD file:0b1c2f0e3f4a5b6c7d8e9f in / "},
		{CreatedBy: "RUN /bin/sh -c curl -fsSLo /tmp/app.tgz https://example.com/app.tgz && echo 'abc  /tmp/app.tgz' | sha256sum -c - && tar -xzf /tmp/app.tgz # buildkit"},
		{CreatedBy: "RUN /bin/sh -c wget -qO- https://example.com/data.tar.gz | tar -xz -C /opt # buildkit"},
		{CreatedBy: "COPY app /usr/local/bin/app # buildkit"},
		{CreatedBy: "ADD --chown=app:app static/ /srv/static/ # buildkit"},
	}
}

// scanImage runs a scanner with only the baseline analyzer.
func scanImage(t testing.TB, a *baseline.Analyzer, img v1.Image) *scanner.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir(), Analyzers: []scanner.Analyzer{a}})
	rep, err := s.Scan(ctx, img)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	if len(rep.Baseline) != len(baseline.Rules()) {
		t.Fatalf("%d baseline results, want one per rule (%d)", len(rep.Baseline), len(baseline.Rules()))
	}
	return rep
}

func newAnalyzer(t testing.TB, o baseline.Options) *baseline.Analyzer {
	t.Helper()
	a, err := baseline.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// failed lists the ids of the rules that failed, sorted.
func failed(rep *scanner.Report) []string {
	var ids []string
	for _, r := range rep.Baseline {
		if !r.Passed {
			ids = append(ids, r.RuleID)
		}
	}
	slices.Sort(ids)
	return ids
}

func result(t testing.TB, rep *scanner.Report, id string) scanresult.BaselineResult {
	t.Helper()
	for _, r := range rep.Baseline {
		if r.RuleID == id {
			return r
		}
	}
	t.Fatalf("no result for %s", id)
	return scanresult.BaselineResult{}
}

// describe prints failed rules with their evidence, for failure messages.
func describe(rep *scanner.Report) string {
	var b strings.Builder
	for _, r := range rep.Baseline {
		if !r.Passed {
			b.WriteString("\n  " + r.RuleID + ": " + r.Evidence)
		}
	}
	return b.String()
}

// pemKey returns a fresh ECDSA private key in PKCS#8 PEM, and a
// self-signed certificate for it.
func pemKey(t testing.TB) (key, cert string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "openhss-test"},
		NotBefore: time.Unix(1700000000, 0), NotAfter: time.Unix(2000000000, 0)}
	cder, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cder}))
}

// dirLayer packs the host directory root as a layer, with the modes,
// owners and types the files have on disk.
func dirLayer(t testing.TB, root string) v1.Layer {
	t.Helper()
	l, _, err := dirlayer.Layer(filepath.Join(t.TempDir(), "layer.tar.gz"), root)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
