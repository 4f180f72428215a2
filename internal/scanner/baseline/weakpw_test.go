package baseline_test

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"github.com/go-crypt/x/yescrypt"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanresult"
)

// Hashes made by libxcrypt's mkpasswd (Debian's whois package), an
// implementation independent of the one the analyzer uses.
const (
	mkpasswdYescrypt123456 = "$y$j9T$sY03VX4ibvI/m/I6nUjsz.$ur2Ffz7Z357tUgFjYjwdG6JmzKvdtVyRmqn4pdQzu45" // mkpasswd -m yescrypt 123456
	mkpasswdYescryptToor   = "$y$j9T$baaRQmOp.1E9I8POeorz2/$gA.lq.WqgJrOrtPPIue2meSLmJNyFiVZkhAQCbpCb6C" // mkpasswd -m yescrypt toor
	mkpasswdBcrypt123456   = "$2b$05$mu1g9n7F1nqdRa1Ji6gJwOljZA41lk5ywX0uYfgtvRWx9q8xK4g6e"              // mkpasswd -m bcrypt 123456
	mkpasswdMD5123456      = "$1$o58cSeay$gEE/VQJjAGxzB3FU0lHls0"                                        // mkpasswd -m md5crypt 123456
	mkpasswdSHA256123456   = "$5$yFl3pkuwM8Yaf8e3$OmCRysOlPQ9Y4ZIVir33hSOrzx4hNMYqwwA2ll/Upc1"           // mkpasswd -m sha256crypt 123456
	// mkpasswd -m yescrypt -R 15 123456: N = 2^16, r = 32, 256 MiB and
	// about 20 s per attempt. Must be skipped, not tried.
	mkpasswdYescryptAbsurd = "$y$jFT$Vpn8XbdgUHoHf1YcHV3Dr.$nnxqKFLvFniIeDC6QKoYyunNIg/Cm4kGBQU8le0Ni3C"
)

// shaCrypt hashes pw with the crypt library ("$1$", "$5$" or "$6$").
func shaCrypt(t testing.TB, scheme, pw string) string {
	t.Helper()
	switch scheme {
	case "$1$":
		h, err := md5crypt.New()
		if err != nil {
			t.Fatal(err)
		}
		d, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		return d.Encode()
	case "$5$", "$6$":
		opt := shacrypt.WithSHA512()
		if scheme == "$5$" {
			opt = shacrypt.WithSHA256()
		}
		h, err := shacrypt.New(opt, shacrypt.WithIterations(5000))
		if err != nil {
			t.Fatal(err)
		}
		d, err := h.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		return d.Encode()
	}
	t.Fatalf("scheme %s", scheme)
	return ""
}

// yescryptHash hashes pw with Debian's default parameters and a random salt.
func yescryptHash(t testing.TB, pw string) string {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	h, err := yescrypt.Hash([]byte(pw), append([]byte("$y$j9T$"), yescrypt.Encode64(salt)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// opensslCrypt hashes pw with `openssl passwd`, when openssl is there.
func opensslCrypt(t testing.TB, flag, pw string) string {
	t.Helper()
	cmd := exec.Command("openssl", "passwd", flag, "-stdin")
	cmd.Stdin = strings.NewReader(pw + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("openssl passwd %s: %v", flag, err)
	}
	return strings.TrimSpace(string(out))
}

// randomPassword is 24 characters from crypto/rand: in no dictionary.
func randomPassword(t testing.TB) string {
	return rand.Text()[:24]
}

func shadowImage(t testing.TB, shadow string) v1.Image {
	t.Helper()
	return imageOf(t, hardened, layerOf(t, cleanFiles(t)...), layerOf(t, reg("etc/shadow", shadow)))
}

func TestWeakPasswordSchemes(t *testing.T) {
	strong := randomPassword(t)
	cases := []struct {
		name, hash string
		weak       bool
	}{
		{"sha512-crypt 123456", shaCrypt(t, "$6$", "123456"), true},
		{"sha512-crypt strong", shaCrypt(t, "$6$", strong), false},
		{"sha512-crypt rounds=10000 toor", shaCryptRounds(t, "toor", 10000), true},
		{"sha256-crypt password", shaCrypt(t, "$5$", "password"), true},
		{"md5-crypt admin", shaCrypt(t, "$1$", "admin"), true},
		{"md5-crypt strong", shaCrypt(t, "$1$", strong), false},
		{"mkpasswd yescrypt 123456", mkpasswdYescrypt123456, true},
		{"mkpasswd yescrypt toor", mkpasswdYescryptToor, true},
		{"yescrypt strong", yescryptHash(t, strong), false},
		{"mkpasswd bcrypt 123456", mkpasswdBcrypt123456, true},
		{"mkpasswd md5-crypt 123456", mkpasswdMD5123456, true},
		{"mkpasswd sha256-crypt 123456", mkpasswdSHA256123456, true},
		{"yescrypt absurd parameters skipped", mkpasswdYescryptAbsurd, false},
		{"sha512-crypt absurd rounds skipped", "$6$rounds=999999999$saltsalt$" + strings.Repeat("a", 86), false},
		{"DES crypt unsupported", "abJnggxhB/yWI", false},
		{"malformed", "$6$", false},
	}
	a := newAnalyzer(t, baseline.Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep := scanImage(t, a, shadowImage(t, "root:"+c.hash+":19700:0:99999:7:::\napp:!:19700::::::\n"))
			var want []scanresult.WeakPassword
			var wantFailed []string
			if c.weak {
				want = []scanresult.WeakPassword{{User: "root", Type: "weak_password", Path: "/etc/shadow", LayerDigest: rep.Layers[1], UserType: "root"}}
				wantFailed = []string{baseline.RuleWeakPassword}
			}
			if !slices.Equal(rep.WeakPasswords, want) {
				t.Fatalf("weak passwords %+v, want %+v", rep.WeakPasswords, want)
			}
			if got := failed(rep); !slices.Equal(got, wantFailed) {
				t.Fatalf("failed %v, want %v:%s", got, wantFailed, describe(rep))
			}
		})
	}
}

func shaCryptRounds(t testing.TB, pw string, rounds int) string {
	t.Helper()
	h, err := shacrypt.New(shacrypt.WithSHA512(), shacrypt.WithIterations(rounds))
	if err != nil {
		t.Fatal(err)
	}
	d, err := h.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	return d.Encode()
}

// TestWeakPasswordOpenSSL cross-checks with hashes from another
// implementation, made at test time.
func TestWeakPasswordOpenSSL(t *testing.T) {
	a := newAnalyzer(t, baseline.Options{})
	for _, flag := range []string{"-6", "-5", "-1"} {
		t.Run(flag, func(t *testing.T) {
			shadow := "root:" + opensslCrypt(t, flag, "qwerty") + ":19700::::::\n" +
				"app:" + opensslCrypt(t, flag, randomPassword(t)) + ":19700::::::\n"
			rep := scanImage(t, a, shadowImage(t, shadow))
			if len(rep.WeakPasswords) != 1 || rep.WeakPasswords[0].User != "root" {
				t.Fatalf("weak passwords %+v, want root only", rep.WeakPasswords)
			}
		})
	}
}

// TestWeakPasswordExtraWordsNeverLeak: words from Options and from a file
// are tried, accounts guessed from their own names are found, and the
// password shows up nowhere: not in the report, not in the logs.
func TestWeakPasswordExtraWordsNeverLeak(t *testing.T) {
	const fromFile, fromSlice = "Zebra-Orchid-77", "Quartz-Falcon-19"
	words := filepath.Join(t.TempDir(), "words.txt")
	if err := os.WriteFile(words, []byte("# site list\n\n"+fromFile+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	log, logs := logBuffer()
	a := newAnalyzer(t, baseline.Options{WeakPasswordFile: words, WeakPasswords: []string{fromSlice}, Logger: log})
	passwd := cleanPasswd + "ops:x:1001:1001::/home/ops:/bin/sh\ndeploy:x:1002:1002::/home/deploy:/bin/sh\nsvc:x:999:999::/:/bin/false\n"
	shadow := "root:" + shaCrypt(t, "$6$", fromFile) + ":19700::::::\n" +
		"ops:" + shaCrypt(t, "$5$", fromSlice) + ":19700::::::\n" +
		"deploy:" + shaCrypt(t, "$1$", "deploy123") + ":19700::::::\n" +
		"svc:" + shaCrypt(t, "$6$", randomPassword(t)) + ":19700::::::\n"
	img := imageOf(t, hardened, layerOf(t, cleanFiles(t)...), layerOf(t, reg("etc/passwd", passwd), reg("etc/shadow", shadow)))
	rep := scanImage(t, a, img)
	var got []string
	for _, w := range rep.WeakPasswords {
		got = append(got, w.User+"/"+w.Type+"/"+w.UserType)
	}
	if want := []string{"root/weak_password/root", "ops/weak_password/user", "deploy/weak_password/user"}; !slices.Equal(got, want) {
		t.Fatalf("weak passwords %v, want %v", got, want)
	}
	if ev := result(t, rep, baseline.RuleWeakPassword).Evidence; ev != "root, ops, deploy" {
		t.Errorf("evidence %q", ev)
	}
	everything := fmt.Sprintf("%#v", rep) + logs.String()
	for _, pw := range []string{fromFile, fromSlice, "deploy123"} {
		if strings.Contains(everything, pw) {
			t.Errorf("a password appears in the report or the logs") // not which: test output must not carry it either
		}
	}
	if !strings.Contains(logs.String(), "weak password check") {
		t.Errorf("no summary log line: %s", logs.String())
	}

	if _, err := baseline.New(baseline.Options{WeakPasswordFile: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("New accepted a missing word file")
	}
}

// TestHostileShadow: huge account files and absurd hash parameters end in
// bounded work (the test's deadline is the scan context; no timing
// assertion), with bounded findings.
func TestHostileShadow(t *testing.T) {
	const n = 100_000
	cheap := shaCrypt(t, "$6$", randomPassword(t))
	cases := []struct {
		name   string
		line   func(i int) string
		root   string // root's hash, on the last line
		failed []string
		weak   int
	}{
		{"absurd sha512 rounds", func(i int) string {
			return fmt.Sprintf("u%06d:$6$rounds=999999999$saltsaltsalt$%s:19700::::::", i, strings.Repeat("x", 86))
		}, "*", nil, 0},
		{"absurd yescrypt", func(i int) string { return fmt.Sprintf("u%06d:%s:19700::::::", i, mkpasswdYescryptAbsurd) }, "*", nil, 0},
		{"cheap hashes, many accounts", func(i int) string { return fmt.Sprintf("u%06d:%s:19700::::::", i, cheap) }, "*", nil, 0},
		{"weak root after many accounts", func(i int) string { return fmt.Sprintf("u%06d:%s:19700::::::", i, cheap) },
			shaCrypt(t, "$6$", "toor"), []string{baseline.RuleWeakPassword}, 1},
		{"empty passwords", func(i int) string { return fmt.Sprintf("u%06d::19700::::::", i) }, "*", []string{baseline.RuleEmptyPassword}, 256},
	}
	log, logs := logBuffer()
	a := newAnalyzer(t, baseline.Options{Logger: log})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logs.Reset()
			var b strings.Builder
			for i := range n {
				b.WriteString(c.line(i))
				b.WriteByte('\n')
			}
			b.WriteString("root:" + c.root + ":19700::::::\n")
			rep := scanImage(t, a, shadowImage(t, b.String()))
			if got := failed(rep); !slices.Equal(got, c.failed) {
				t.Fatalf("failed %v, want %v", got, c.failed)
			}
			if len(rep.WeakPasswords) != c.weak {
				t.Fatalf("%d weak password rows, want %d", len(rep.WeakPasswords), c.weak)
			}
			if slices.Contains(c.failed, baseline.RuleEmptyPassword) {
				if ev := result(t, rep, baseline.RuleEmptyPassword).Evidence; !strings.HasSuffix(ev, fmt.Sprintf("(+%d more)", n-5)) {
					t.Errorf("evidence %q", ev)
				}
			}
			if c.root != "*" {
				if w := rep.WeakPasswords; w[0].User != "root" || w[0].Type != "weak_password" {
					t.Errorf("weak passwords %+v, want root's", w)
				}
			}
			t.Logf("log: %s", logs.String())
		})
	}
}
