package baseline_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/scanner/baseline"
	"github.com/openhss/openhss/internal/scanresult"
)

const cleanPasswd = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
app:x:1000:1000:app:/home/app:/bin/sh
`

const cleanShadow = `root:*:19700:0:99999:7:::
daemon:*:19700:0:99999:7:::
nobody:*:19700:0:99999:7:::
app:!:19700:0:90:7:::
`

const cleanLoginDefs = `# hardened
MAIL_DIR        /var/mail
PASS_MAX_DAYS	90
PASS_MIN_DAYS	1
PASS_WARN_AGE	7
PASS_MIN_LEN	12
UID_MIN			 1000
ENCRYPT_METHOD YESCRYPT
`

const cleanSSHD = `Include /etc/ssh/sshd_config.d/*.conf
# PermitRootLogin yes
PermitRootLogin prohibit-password
PermitEmptyPasswords no
KbdInteractiveAuthentication no
UsePAM yes
Subsystem sftp /usr/lib/openssh/sftp-server
`

// cleanFiles is a small but complete root filesystem that passes every
// filesystem rule, with the near misses each rule must not trip on.
func cleanFiles(t testing.TB) []file {
	_, cert := pemKey(t)
	return []file{
		dir("etc", 0o755), dir("etc/ssh", 0o755), dir("etc/ssh/sshd_config.d", 0o755), dir("etc/ssl", 0o755),
		dir("etc/ssl/certs", 0o755), dir("etc/ssl/private", 0o700),
		reg("etc/passwd", cleanPasswd),
		owned(regMode("etc/shadow", cleanShadow, 0o640), 0, 42),
		reg("etc/group", "root:x:0:\nshadow:x:42:\napp:x:1000:\n"),
		reg("etc/login.defs", cleanLoginDefs),
		reg("etc/ssh/sshd_config", cleanSSHD),
		reg("etc/ssh/sshd_config.d/10-hardening.conf", "PasswordAuthentication no\nMatch User backup\n  PermitRootLogin no\n"),
		reg("etc/ssl/certs/server.pem", cert),                                    // a certificate, not a key
		reg("etc/ssl/private/README.key", "Put the TLS key here at run time.\n"), // named like a key, is not one
		reg("etc/ssh/ssh_host_ed25519_key.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOuyDx host\n"),
		dir("usr", 0o755), dir("usr/bin", 0o755), dir("usr/sbin", 0o755), dir("usr/local/bin", 0o755),
		symlink("bin", "usr/bin"), symlink("sbin", "usr/sbin"),
		setuidExe("usr/bin/su", 0o4755), setuidExe("usr/bin/passwd", 0o4755),
		owned(setuidExe("usr/sbin/unix_chkpwd", 0o2755), 0, 42),
		exe("usr/local/bin/app"), exe("usr/bin/ssh"), // an SSH client is not a server
		dir("tmp", 0o1777), regMode("tmp/scratch", "x", 0o666),
		dir("var", 0o755), dir("var/tmp", 0o1777), dir("var/mail", 0o2775), dir("run", 0o755), dir("run/lock", 0o1777),
		dir("dev", 0o755), dir("dev/shm", 0o1777), regMode("dev/shm/segment", "x", 0o666),
		dir("root", 0o700), dir("root/.ssh", 0o700), reg("root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOuyDx admin\n"),
		dir("home", 0o755), owned(dir("home/app", 0o750), 1000, 1000), owned(dir("home/app/.ssh", 0o700), 1000, 1000),
		owned(reg("home/app/.ssh/id_ed25519.pub", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMOuyDx app\n"), 1000, 1000),
	}
}

func TestCleanImagePassesEveryRule(t *testing.T) {
	a := newAnalyzer(t, baseline.Options{})
	img := imageOf(t, hardened, layerOf(t, cleanFiles(t)...))
	rep := scanImage(t, a, img)
	if got := failed(rep); len(got) != 0 {
		t.Fatalf("clean image failed %v:%s", got, describe(rep))
	}
	if len(rep.WeakPasswords) != 0 {
		t.Fatalf("weak passwords in a clean image: %+v", rep.WeakPasswords)
	}
	for i, r := range rep.Baseline {
		ri := baseline.Rules()[i]
		if r.RuleID != ri.ID || r.Name != ri.Name || r.CheckName != ri.CheckName || r.Severity != ri.Severity ||
			r.Standard != ri.Standard || r.Description == "" || r.Remediation == "" || r.Evidence != "" {
			t.Errorf("result %d = %+v, want the metadata of rule %+v and no evidence", i, r, ri)
		}
	}
}

// TestEachRuleFailsAlone changes the clean image in one way per case and
// checks that exactly the rules named fail, with the evidence expected.
func TestEachRuleFailsAlone(t *testing.T) {
	key, _ := pemKey(t)
	opensshKey := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n"
	rsaKey := strings.Replace(strings.Replace(key, "BEGIN PRIVATE", "BEGIN RSA PRIVATE", 1), "END PRIVATE", "END RSA PRIVATE", 1)
	sha512of123456 := shaCrypt(t, "$6$", "123456")
	type tc struct {
		name     string
		cfg      func(*v1.ConfigFile) // applied after hardened
		under    []file               // a layer between the clean one and files
		files    []file               // an extra layer over the clean one
		want     []string
		evidence string // must appear in the evidence of want[0]
	}
	cases := []tc{
		{name: "no user", cfg: func(c *v1.ConfigFile) { c.Config.User = "" }, want: []string{baseline.RuleRunsAsRoot}, evidence: "no USER"},
		{name: "user root", cfg: func(c *v1.ConfigFile) { c.Config.User = "root" }, want: []string{baseline.RuleRunsAsRoot}, evidence: `"root"`},
		{name: "user 0:0", cfg: func(c *v1.ConfigFile) { c.Config.User = "0:0" }, want: []string{baseline.RuleRunsAsRoot}, evidence: `"0:0"`},
		{name: "user 0:1000", cfg: func(c *v1.ConfigFile) { c.Config.User = "0:1000" }, want: []string{baseline.RuleRunsAsRoot}},
		{name: "user named with UID 0", cfg: func(c *v1.ConfigFile) { c.Config.User = "toor" },
			files: []file{reg("etc/passwd", cleanPasswd+"toor:x:0:0::/root:/bin/sh\n")},
			want:  []string{baseline.RuleRunsAsRoot, baseline.RuleExtraUID0}, evidence: "toor"},
		{name: "no healthcheck", cfg: func(c *v1.ConfigFile) { c.Config.Healthcheck = nil }, want: []string{baseline.RuleNoHealthcheck}},
		{name: "healthcheck none", cfg: func(c *v1.ConfigFile) { c.Config.Healthcheck = &v1.HealthConfig{Test: []string{"NONE"}} },
			want: []string{baseline.RuleNoHealthcheck}, evidence: "NONE"},
		{name: "password in env", cfg: func(c *v1.ConfigFile) { c.Config.Env = append(c.Config.Env, "MYSQL_ROOT_PASSWORD=s3cr3t-Value") },
			want: []string{baseline.RuleSecretInEnv}, evidence: "MYSQL_ROOT_PASSWORD"},
		{name: "aws secret in env", cfg: func(c *v1.ConfigFile) {
			c.Config.Env = append(c.Config.Env, "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "GITHUB_TOKEN=ghp_x", "APP_SECRET=y")
		}, want: []string{baseline.RuleSecretInEnv}, evidence: "AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, APP_SECRET"},
		{name: "add remote url", cfg: func(c *v1.ConfigFile) {
			c.History = append(c.History, v1.History{CreatedBy: "ADD https://user:tok@downloads.example.com/app.tar.gz /opt/ # buildkit"})
		}, want: []string{baseline.RuleAddRemoteURL}, evidence: "ADD from downloads.example.com"},
		{name: "legacy add remote url", cfg: func(c *v1.ConfigFile) {
			c.History = append(c.History, v1.History{CreatedBy: "/bin/sh -c #(nop) ADD https://example.org/x.tgz /tmp/"})
		}, want: []string{baseline.RuleAddRemoteURL}, evidence: "history step 6"},
		{name: "curl pipe sh", cfg: func(c *v1.ConfigFile) {
			c.History = append(c.History, v1.History{CreatedBy: "RUN /bin/sh -c curl -fsSL https://get.example.com | sh # buildkit"})
		}, want: []string{baseline.RulePipeToShell}, evidence: "curl"},
		{name: "wget pipe sudo bash", cfg: func(c *v1.ConfigFile) {
			c.History = append(c.History, v1.History{CreatedBy: "/bin/sh -c wget -qO- https://x.example/install.sh | sudo -E bash -s -- --yes"})
		}, want: []string{baseline.RulePipeToShell}, evidence: "wget"},
		{name: "sh -c curl substitution", cfg: func(c *v1.ConfigFile) {
			c.History = append(c.History, v1.History{CreatedBy: `RUN sh -c "$(curl -fsSL https://raw.example.com/install.sh)" # buildkit`})
		}, want: []string{baseline.RulePipeToShell}},
		{name: "port 22 exposed", cfg: func(c *v1.ConfigFile) { c.Config.ExposedPorts["22/tcp"] = struct{}{} },
			want: []string{baseline.RuleSSHD}, evidence: "22/tcp"},
		{name: "sshd installed", files: []file{exe("usr/sbin/sshd")}, want: []string{baseline.RuleSSHD}, evidence: "/usr/sbin/sshd"},
		{name: "empty password in shadow", files: []file{reg("etc/shadow", strings.Replace(cleanShadow, "root:*:", "root::", 1))},
			want: []string{baseline.RuleEmptyPassword}, evidence: "root"},
		{name: "empty password in passwd", files: []file{reg("etc/passwd", strings.Replace(cleanPasswd, "app:x:", "app::", 1))},
			want: []string{baseline.RuleEmptyPassword}, evidence: "app"},
		{name: "second uid 0", files: []file{reg("etc/passwd", cleanPasswd+"admin:x:0:0::/root:/bin/sh\n")},
			want: []string{baseline.RuleExtraUID0}, evidence: "admin"},
		{name: "weak root password", files: []file{reg("etc/shadow", strings.Replace(cleanShadow, "root:*:", "root:"+sha512of123456+":", 1))},
			want: []string{baseline.RuleWeakPassword}, evidence: "root"},
		{name: "login.defs max days", files: []file{reg("etc/login.defs", strings.Replace(cleanLoginDefs, "PASS_MAX_DAYS\t90", "PASS_MAX_DAYS\t99999", 1))},
			want: []string{baseline.RulePassMaxDays}, evidence: "PASS_MAX_DAYS 99999"},
		{name: "login.defs max days unset", files: []file{reg("etc/login.defs", "PASS_MIN_LEN 8\n")},
			want: []string{baseline.RulePassMaxDays}, evidence: "not set"},
		{name: "login.defs min len", files: []file{reg("etc/login.defs", cleanLoginDefs+"PASS_MIN_LEN 5\n")},
			want: []string{baseline.RulePassMinLen}, evidence: "PASS_MIN_LEN 5"},
		{name: "world-writable file", files: []file{regMode("opt/app/config.yaml", "a: 1\n", 0o666)},
			want: []string{baseline.RuleWorldWritable}, evidence: "/opt/app/config.yaml"},
		{name: "world-writable dir without sticky bit", files: []file{dir("srv/uploads", 0o777)},
			want: []string{baseline.RuleWorldWritable}, evidence: "/srv/uploads"},
		{name: "world-writable file in a sticky dir outside tmp", files: []file{regMode("run/lock/app.pid", "1\n", 0o666)},
			want: []string{baseline.RuleWorldWritable}, evidence: "/run/lock/app.pid"},
		{name: "unexpected setuid", files: []file{setuidExe("usr/local/bin/helper", 0o4755)},
			want: []string{baseline.RuleUnexpectedSetuid}, evidence: "/usr/local/bin/helper"},
		{name: "unexpected setgid", files: []file{setuidExe("opt/tool/run", 0o2711)},
			want: []string{baseline.RuleUnexpectedSetuid}, evidence: "/opt/tool/run"},
		{name: "sudo is not allowlisted by default", files: []file{setuidExe("usr/bin/sudo", 0o4755)},
			want: []string{baseline.RuleUnexpectedSetuid}, evidence: "/usr/bin/sudo"},
		{name: "root ssh identity", files: []file{regMode("root/.ssh/id_ed25519", opensshKey, 0o600)},
			want: []string{baseline.RulePrivateKey}, evidence: "/root/.ssh/id_ed25519"},
		{name: "user ssh identity", files: []file{owned(regMode("home/app/.ssh/id_rsa", rsaKey, 0o600), 1000, 1000)},
			want: []string{baseline.RulePrivateKey}, evidence: "/home/app/.ssh/id_rsa"},
		{name: "pem private key", files: []file{reg("opt/app/tls/server.pem", key)},
			want: []string{baseline.RulePrivateKey}, evidence: "/opt/app/tls/server.pem"},
		{name: "ssh host key", files: []file{regMode("etc/ssh/ssh_host_ed25519_key", opensshKey, 0o600)},
			want: []string{baseline.RulePrivateKey}, evidence: "/etc/ssh/ssh_host_ed25519_key"},
		{name: "sshd root login", files: []file{reg("etc/ssh/sshd_config", "PermitRootLogin yes\n")},
			want: []string{baseline.RuleSSHRootLogin}, evidence: "/etc/ssh/sshd_config: PermitRootLogin yes"},
		{name: "sshd root login from include", files: []file{reg("etc/ssh/sshd_config.d/50-cloud.conf", "permitrootlogin=yes\n")},
			want: []string{baseline.RuleSSHRootLogin}, evidence: "/etc/ssh/sshd_config.d/50-cloud.conf"},
		{name: "sshd root login in match", files: []file{reg("etc/ssh/sshd_config", cleanSSHD+"Match Address 10.0.0.0/8\n  PermitRootLogin yes\n")},
			want: []string{baseline.RuleSSHRootLogin}, evidence: "Match block"},
		{name: "sshd empty passwords yes", files: []file{reg("etc/ssh/sshd_config", "PermitEmptyPasswords yes\n")},
			want: []string{baseline.RuleSSHEmptyPasswords}, evidence: "PermitEmptyPasswords yes"},
		// Near misses: each of these must stay clean.
		{name: "first sshd value wins", files: []file{reg("etc/ssh/sshd_config", "PermitRootLogin no\nPermitRootLogin yes\n")}},
		{name: "key deleted by an upper layer", under: []file{reg("opt/removed/id_rsa.pem", key)}, files: []file{whiteout("opt", "removed")}},
		{name: "numeric non-root user", cfg: func(c *v1.ConfigFile) { c.Config.User = "1000:1000" }},
		{name: "locked hashes are not cracked", files: []file{reg("etc/shadow", strings.Replace(cleanShadow, "root:*:", "root:!"+sha512of123456+":", 1))}},
		{name: "no login.defs", files: []file{whiteout("etc", "login.defs")}},
	}
	base := layerOf(t, cleanFiles(t)...)
	a := newAnalyzer(t, baseline.Options{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			layers := []v1.Layer{base}
			if c.under != nil {
				layers = append(layers, layerOf(t, c.under...))
			}
			if c.files != nil {
				layers = append(layers, layerOf(t, c.files...))
			}
			img := imageOf(t, func(cf *v1.ConfigFile) {
				hardened(cf)
				if c.cfg != nil {
					c.cfg(cf)
				}
			}, layers...)
			rep := scanImage(t, a, img)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if got := failed(rep); !slices.Equal(got, want) {
				t.Fatalf("failed rules %v, want %v:%s", got, want, describe(rep))
			}
			if c.evidence != "" {
				if ev := result(t, rep, c.want[0]).Evidence; !strings.Contains(ev, c.evidence) {
					t.Errorf("evidence %q does not mention %q", ev, c.evidence)
				}
			}
			// Evidence never carries secret values.
			for _, r := range rep.Baseline {
				for _, secret := range []string{"s3cr3t-Value", "wJalrXUtnFEMI", "ghp_x", "user:tok", "tok@", "123456", "BEGIN"} {
					if strings.Contains(r.Evidence, secret) {
						t.Errorf("%s evidence %q leaks %q", r.RuleID, r.Evidence, secret)
					}
				}
			}
		})
	}
}

// TestSetuidAllowlistOption: an operator can allow a program, under either
// /usr layout.
func TestSetuidAllowlistOption(t *testing.T) {
	files := append(cleanFiles(t), setuidExe("usr/bin/sudo", 0o4755), setuidExe("usr/local/bin/helper", 0o4755))
	img := imageOf(t, hardened, layerOf(t, files...))
	rep := scanImage(t, newAnalyzer(t, baseline.Options{SetuidAllowlist: []string{"/bin/sudo"}}), img)
	if got := result(t, rep, baseline.RuleUnexpectedSetuid); got.Passed || got.Evidence != "/usr/local/bin/helper" {
		t.Fatalf("setuid result %+v, want only /usr/local/bin/helper", got)
	}
	rep = scanImage(t, newAnalyzer(t, baseline.Options{SetuidAllowlist: []string{"/usr/bin/sudo", "usr/local/bin/helper"}}), img)
	if got := failed(rep); len(got) != 0 {
		t.Fatalf("failed %v with both programs allowed:%s", got, describe(rep))
	}
}

func TestEvidenceIsBounded(t *testing.T) {
	var files []file
	for i := range 40 {
		files = append(files, regMode(fmt.Sprintf("srv/www/f%02d", i), "x", 0o666))
	}
	img := imageOf(t, hardened, layerOf(t, cleanFiles(t)...), layerOf(t, files...))
	rep := scanImage(t, newAnalyzer(t, baseline.Options{}), img)
	ev := result(t, rep, baseline.RuleWorldWritable).Evidence
	if want := "/srv/www/f00, /srv/www/f01, /srv/www/f02, /srv/www/f03, /srv/www/f04 (+35 more)"; ev != want {
		t.Fatalf("evidence %q, want %q", ev, want)
	}
}

// bookwormRootfs is a root filesystem made by
// `debootstrap --variant=minbase bookworm` (.ci/run builds one there; see
// the README's "Run the tests").
func bookwormRootfs(t testing.TB) string {
	t.Helper()
	root := os.Getenv("OPENHSS_BOOKWORM_ROOTFS")
	if root == "" {
		root = "/var/cache/openhss-test/bookworm-rootfs"
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/dpkg/status")); err != nil {
		t.Skipf("no debootstrap bookworm rootfs at %s (build it with `debootstrap --variant=minbase bookworm %s`): %v", root, root, err)
	}
	return root
}

// TestDebianMinbase scans a real debootstrapped Debian 12: its only
// finding is PASS_MAX_DAYS 99999, which Debian really ships (passwords
// never expire); with that one line fixed it passes every rule.
func TestDebianMinbase(t *testing.T) {
	root := bookwormRootfs(t)
	layer := dirLayer(t, root)
	a := newAnalyzer(t, baseline.Options{})

	t.Run("stock", func(t *testing.T) {
		rep := scanImage(t, a, imageOf(t, hardened, layer))
		if got, want := failed(rep), []string{baseline.RulePassMaxDays}; !slices.Equal(got, want) {
			t.Fatalf("failed %v, want %v:%s", got, want, describe(rep))
		}
		if ev := result(t, rep, baseline.RulePassMaxDays).Evidence; ev != "/etc/login.defs: PASS_MAX_DAYS 99999" {
			t.Errorf("evidence %q", ev)
		}
	})
	t.Run("hardened", func(t *testing.T) {
		defs, err := os.ReadFile(filepath.Join(root, "etc/login.defs"))
		if err != nil {
			t.Fatal(err)
		}
		fixed := strings.Replace(string(defs), "PASS_MAX_DAYS\t99999", "PASS_MAX_DAYS\t90", 1)
		if fixed == string(defs) {
			t.Fatal("login.defs has no PASS_MAX_DAYS 99999 line to fix")
		}
		rep := scanImage(t, a, imageOf(t, hardened, layer, layerOf(t, reg("etc/login.defs", fixed))))
		if got := failed(rep); len(got) != 0 {
			t.Fatalf("failed %v:%s", got, describe(rep))
		}
	})
	t.Run("as shipped by docker", func(t *testing.T) {
		// debian:bookworm's own configuration: no USER, no HEALTHCHECK.
		rep := scanImage(t, a, imageOf(t, func(cf *v1.ConfigFile) {
			cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
			cf.Config.Cmd = []string{"bash"}
			cf.History = []v1.History{{CreatedBy: "# debian.sh --arch 'amd64' out/ 'bookworm' '@1700000000'"}}
		}, layer))
		want := []string{baseline.RuleNoHealthcheck, baseline.RuleRunsAsRoot, baseline.RulePassMaxDays}
		slices.Sort(want)
		if got := failed(rep); !slices.Equal(got, want) {
			t.Fatalf("failed %v, want %v:%s", got, want, describe(rep))
		}
	})
}

// alpineFiles is Alpine 3.20's minimal root filesystem as the alpine
// image ships it (alpine-baselayout, busybox, apk-tools, musl,
// ca-certificates-bundle), with the accounts and modes of those packages,
// plus busybox-suid's /bin/bbsuid.
func alpineFiles(t testing.TB) []file {
	_, cert := pemKey(t)
	passwd := `root:x:0:0:root:/root:/bin/sh
bin:x:1:1:bin:/bin:/sbin/nologin
daemon:x:2:2:daemon:/sbin:/sbin/nologin
lp:x:4:7:lp:/var/spool/lpd:/sbin/nologin
sync:x:5:0:sync:/sbin:/bin/sync
shutdown:x:6:0:shutdown:/sbin:/sbin/shutdown
halt:x:7:0:halt:/sbin:/sbin/halt
mail:x:8:12:mail:/var/mail:/sbin/nologin
news:x:9:13:news:/usr/lib/news:/sbin/nologin
uucp:x:10:14:uucp:/var/spool/uucppublic:/sbin/nologin
cron:x:16:16:cron:/var/spool/cron:/sbin/nologin
ftp:x:21:21::/var/lib/ftp:/sbin/nologin
sshd:x:22:22:sshd:/dev/null:/sbin/nologin
games:x:35:35:games:/usr/games:/sbin/nologin
ntp:x:123:123:NTP:/var/empty:/sbin/nologin
guest:x:405:100:guest:/dev/null:/sbin/nologin
nobody:x:65534:65534:nobody:/:/sbin/nologin
`
	var shadow strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(passwd), "\n") {
		name, _, _ := strings.Cut(line, ":")
		pw := "!"
		if name == "root" {
			pw = "*"
		}
		fmt.Fprintf(&shadow, "%s:%s::0:::::\n", name, pw)
	}
	files := []file{
		dir("bin", 0o755), dir("sbin", 0o755), dir("usr", 0o755), dir("usr/bin", 0o755), dir("usr/sbin", 0o755),
		dir("etc", 0o755), dir("etc/apk", 0o755), dir("etc/apk/keys", 0o755), dir("etc/ssl", 0o755),
		dir("etc/ssl/certs", 0o755), dir("etc/ssl/private", 0o700), dir("etc/crontabs", 0o755),
		dir("lib", 0o755), dir("lib/apk", 0o755), dir("lib/apk/db", 0o755), dir("root", 0o700),
		dir("tmp", 0o1777), dir("var", 0o755), dir("var/tmp", 0o1777), dir("var/empty", 0o555),
		dir("var/lock", 0o755), dir("var/spool", 0o755), dir("var/spool/cron", 0o755), dir("dev", 0o755),
		dir("proc", 0o755), dir("sys", 0o755), dir("run", 0o755), dir("home", 0o755), dir("media", 0o755), dir("mnt", 0o755),
		dir("srv", 0o755), dir("opt", 0o755),
		reg("etc/alpine-release", "3.20.3\n"),
		reg("etc/os-release", "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n"),
		reg("etc/passwd", passwd),
		owned(regMode("etc/shadow", shadow.String(), 0o640), 0, 42),
		reg("etc/group", "root:x:0:root\nbin:x:1:root,bin,daemon\nshadow:x:42:\nnogroup:x:65533:\n"),
		reg("etc/shells", "/bin/sh\n/bin/ash\n"),
		reg("etc/securetty", "console\ntty1\n"),
		reg("etc/inittab", "::sysinit:/sbin/openrc sysinit\n"),
		regMode("etc/crontabs/root", "*/15 * * * * run-parts /etc/periodic/15min\n", 0o600),
		symlink("var/spool/cron/crontabs", "/etc/crontabs"),
		reg("etc/apk/keys/alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub", "-----BEGIN PUBLIC KEY-----\nMIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAutQkua2CAig4VFSJ7v54\n-----END PUBLIC KEY-----\n"),
		reg("etc/ssl/certs/ca-certificates.crt", cert),
		symlink("etc/ssl/cert.pem", "certs/ca-certificates.crt"),
		reg("etc/ssl/openssl.cnf", "[ req ]\ndefault_bits = 2048\n"),
		reg("lib/apk/db/installed", "P:busybox\nV:1.36.1-r29\n\n"),
		regMode("lib/ld-musl-x86_64.so.1", "\x7fELF", 0o755), symlink("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1"),
		exe("bin/busybox"), exe("sbin/apk"), exe("usr/bin/ssl_client"),
		// busybox-suid: the setuid wrapper Alpine ships for busybox's su,
		// passwd and friends, mode 4111 like the package installs it.
		setuidExe("bin/bbsuid", 0o4111),
	}
	for _, applet := range []string{"sh", "ash", "ls", "cat", "cp", "mv", "rm", "mkdir", "chmod", "chown", "grep", "sed", "tar", "gzip", "su", "login", "passwd", "ping"} {
		files = append(files, symlink("bin/"+applet, "/bin/busybox"))
	}
	for _, applet := range []string{"wget", "nc", "vi", "less", "ssl_client2", "crontab"} {
		files = append(files, symlink("usr/bin/"+applet, "/bin/busybox"))
	}
	return files
}

func TestAlpineMinimal(t *testing.T) {
	a := newAnalyzer(t, baseline.Options{})
	rep := scanImage(t, a, imageOf(t, hardened, layerOf(t, alpineFiles(t)...)))
	if got := failed(rep); len(got) != 0 {
		t.Fatalf("alpine failed %v:%s", got, describe(rep))
	}
	// Alpine 3.x before the CVE-2019-5021 fix shipped "root:::0:::::".
	cve := imageOf(t, hardened, layerOf(t, alpineFiles(t)...), layerOf(t, reg("etc/shadow", "root:::0:::::\nbin:!::0:::::\n")))
	rep = scanImage(t, a, cve)
	if got, want := failed(rep), []string{baseline.RuleEmptyPassword}; !slices.Equal(got, want) {
		t.Fatalf("failed %v, want %v:%s", got, want, describe(rep))
	}
	if want := []scanresult.WeakPassword{{User: "root", Type: "empty_password", Path: "/etc/shadow", LayerDigest: rep.Layers[1], UserType: "root"}}; !slices.Equal(rep.WeakPasswords, want) {
		t.Fatalf("weak passwords %+v, want %+v", rep.WeakPasswords, want)
	}
}

func TestRulesMetadata(t *testing.T) {
	ids := map[string]bool{}
	checks := map[string]baseline.BaselineInfo{}
	for _, b := range baseline.Baselines() {
		checks[b.CheckName] = b
	}
	for _, r := range baseline.Rules() {
		if ids[r.ID] {
			t.Errorf("duplicate rule id %s", r.ID)
		}
		ids[r.ID] = true
		b, ok := checks[r.CheckName]
		switch {
		case !ok:
			t.Errorf("%s: unknown check_name %q", r.ID, r.CheckName)
		case r.Standard != b.Standard || r.CheckType != b.CheckType:
			t.Errorf("%s: standard/check_type %s/%s differ from its baseline's %s/%s", r.ID, r.Standard, r.CheckType, b.Standard, b.CheckType)
		}
		if !slices.Contains([]string{"Low", "Medium", "High"}, r.Severity) {
			t.Errorf("%s: severity %q", r.ID, r.Severity)
		}
		if r.Name == "" || r.Description == "" || r.Remediation == "" {
			t.Errorf("%s: missing text", r.ID)
		}
	}
	if len(ids) < 16 {
		t.Errorf("%d rules", len(ids))
	}
}

// logBuffer collects the analyzer's log lines.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}
