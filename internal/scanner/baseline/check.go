package baseline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanresult"
)

// imageCheck is one image under evaluation: what the rules share, parsed
// once.
type imageCheck struct {
	a    *Analyzer
	img  *scanner.Image
	cfg  v1.Config
	hist []v1.History
	accs *accounts
	walk *walkFindings
	weak []scanresult.WeakPassword
	// crack is the weak-password check's work, for Report.Work
	crack crackStats
}

func newImageCheck(a *Analyzer, img *scanner.Image) *imageCheck {
	c := &imageCheck{a: a, img: img}
	if img.Config != nil {
		c.cfg, c.hist = img.Config.Config, img.Config.History
	}
	passwd := c.readAccountFile("etc/passwd")
	shadow := c.readAccountFile("etc/shadow")
	c.accs = parseAccounts(passwd, shadow)
	return c
}

// readAccountFile reads a kept file; absent, unreadable or oversized it is
// empty, and only the last two are worth a log line.
func (c *imageCheck) readAccountFile(name string) []byte {
	b, err := readKept(c.img.FS, name, maxAccountFile)
	if err == nil {
		return b
	}
	if e, ok := c.img.FS.Entry(name); ok && e.Type == scanner.TypeRegular {
		c.a.log.Info("baseline: file not checked", "digest", c.img.Digest, "path", "/"+name, "size", e.Size, "err", err)
	}
	return nil
}

// layerOf is the digest of the layer that last wrote name.
func (c *imageCheck) layerOf(name string) string {
	e, ok := c.img.FS.Entry(strings.TrimPrefix(name, "/"))
	if !ok {
		return ""
	}
	return c.img.LayerDigest(&e)
}

// run evaluates one rule and returns its evidence: empty when it passed.
func (c *imageCheck) run(ctx context.Context, id string) ([]string, error) {
	switch id {
	case RuleRunsAsRoot:
		return c.runsAsRoot(), nil
	case RuleNoHealthcheck:
		return c.noHealthcheck(), nil
	case RuleSecretInEnv:
		return c.secretInEnv(), nil
	case RuleAddRemoteURL:
		return c.addRemoteURL(), nil
	case RulePipeToShell:
		return c.pipeToShell(), nil
	case RuleSSHD:
		return c.sshd(), nil
	case RuleEmptyPassword:
		return c.emptyPasswords(), nil
	case RuleExtraUID0:
		return c.extraUID0(), nil
	case RuleWeakPassword:
		return c.weakPasswords(ctx)
	case RulePassMaxDays:
		return c.passMaxDays(), nil
	case RulePassMinLen:
		return c.passMinLen(), nil
	case RuleWorldWritable:
		return c.files().worldWritable, nil
	case RuleUnexpectedSetuid:
		return c.files().setuid, nil
	case RulePrivateKey:
		return c.privateKeys(), nil
	case RuleSSHRootLogin:
		return c.sshdOption("PermitRootLogin", "yes"), nil
	case RuleSSHEmptyPasswords:
		return c.sshdOption("PermitEmptyPasswords", "yes"), nil
	}
	return nil, fmt.Errorf("no check for rule %q", id)
}

// --- image configuration ---

func (c *imageCheck) runsAsRoot() []string {
	user, _, _ := strings.Cut(strings.TrimSpace(c.cfg.User), ":")
	switch {
	case user == "":
		return []string{"no USER: runs as root"}
	case user == "root":
		return []string{`USER "root"`}
	}
	if uid, err := strconv.Atoi(user); err == nil {
		if uid == 0 {
			return []string{fmt.Sprintf("USER %q", c.cfg.User)}
		}
		return nil
	}
	if a := c.accs.byName[user]; a != nil && a.inPasswd && a.uid == 0 {
		return []string{fmt.Sprintf("USER %q has UID 0", user)}
	}
	return nil
}

func (c *imageCheck) noHealthcheck() []string {
	hc := c.cfg.Healthcheck
	switch {
	case hc == nil || len(hc.Test) == 0:
		return []string{"no HEALTHCHECK"}
	case strings.EqualFold(hc.Test[0], "NONE"):
		return []string{"HEALTHCHECK NONE"}
	}
	return nil
}

// secretEnvName matches variable names that hold a secret by convention.
// *_KEY alone is left out on purpose: GPG_KEY, NGINX_GPGKEY_PATH and the
// like are public key ids in many official images.
var secretEnvName = regexp.MustCompile(`^(?:[A-Z0-9_]*_)?(?:PASSWORD|PASSWD|SECRET|SECRET_KEY|TOKEN)$|^AWS_SECRET_ACCESS_KEY$`)

func (c *imageCheck) secretInEnv() []string {
	var names []string
	for _, kv := range c.cfg.Env {
		name, val, _ := strings.Cut(kv, "=")
		if strings.TrimSpace(val) != "" && secretEnvName.MatchString(strings.ToUpper(name)) {
			names = append(names, name) // the name only: the value is the secret
		}
	}
	return names
}

// addRemote matches ADD (in legacy "#(nop) ADD" and BuildKit forms) with a
// URL or git source, after optional --flags.
var addRemote = regexp.MustCompile(`(?:^|\s|#\(nop\)\s*)ADD\s+(?:--\S+\s+)*((?:https?|ftp|git)://\S+|git@[^\s:]+:\S*)`)

func (c *imageCheck) addRemoteURL() []string {
	var ev []string
	for i, h := range c.hist {
		m := addRemote.FindStringSubmatch(h.CreatedBy)
		if m == nil {
			continue
		}
		// Name the host only: a URL can carry credentials or tokens.
		ev = append(ev, fmt.Sprintf("history step %d: ADD from %s", i+1, urlHost(m[1])))
	}
	return ev
}

func urlHost(s string) string {
	if rest, ok := strings.CutPrefix(s, "git@"); ok {
		host, _, _ := strings.Cut(rest, ":")
		return host
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" {
		return "a remote URL"
	}
	return u.Hostname()
}

// pipeToShell matches a download piped into an interpreter, or an
// interpreter running a downloaded script through command or process
// substitution.
var pipeToShell = []*regexp.Regexp{
	regexp.MustCompile(`\b(?:curl|wget)\b[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+\S+=\S*\s+)*(?:/usr)?(?:/bin/)?(?:sh|bash|dash|ash|zsh|ksh|python[0-9.]*|perl|ruby)\b`),
	regexp.MustCompile(`\b(?:sh|bash|dash|ash|zsh|ksh)\s+(?:-\S+\s+)*(?:-c\s+)?["']?\$\(\s*(?:curl|wget)\b`),
	regexp.MustCompile(`\b(?:sh|bash|dash|ash|zsh|ksh|source|\.)\s+<\(\s*(?:curl|wget)\b`),
}

func (c *imageCheck) pipeToShell() []string {
	var ev []string
	for i, h := range c.hist {
		for _, re := range pipeToShell {
			if m := re.FindString(h.CreatedBy); m != "" {
				tool := "curl"
				if strings.Contains(m, "wget") {
					tool = "wget"
				}
				ev = append(ev, fmt.Sprintf("history step %d: %s output run by a shell", i+1, tool))
				break
			}
		}
	}
	return ev
}

// sshServers are the SSH daemons looked for, as installed by their
// packages (resolved through a merged /usr).
var sshServers = []string{"usr/sbin/sshd", "sbin/sshd", "usr/sbin/dropbear", "usr/bin/dropbear"}

func (c *imageCheck) sshd() []string {
	var ev []string
	for port := range c.cfg.ExposedPorts {
		p, proto, _ := strings.Cut(port, "/")
		if p == "22" && (proto == "" || proto == "tcp") {
			ev = append(ev, "exposes port 22/tcp")
			break
		}
	}
	seen := map[string]bool{}
	for _, p := range sshServers {
		e, ok := c.img.FS.Entry(p)
		if ok && (e.Type == scanner.TypeRegular || e.Type == scanner.TypeSymlink) && !seen[e.Path] {
			seen[e.Path] = true
			ev = append(ev, "/"+e.Path+" installed")
		}
	}
	return ev
}

// --- accounts ---

func (c *imageCheck) emptyPasswords() []string {
	var names []string
	for _, a := range c.accs.list {
		file, ok := a.emptyPassword()
		if !ok {
			continue
		}
		names = append(names, a.name)
		c.addWeak(a, "empty_password", file)
	}
	return names
}

func (c *imageCheck) addWeak(a *account, typ, file string) {
	if len(c.weak) >= maxWeakPasswordRows {
		return
	}
	c.weak = append(c.weak, scanresult.WeakPassword{User: a.name, Type: typ, Path: file, LayerDigest: c.layerOf(file), UserType: a.userType()})
}

func (c *imageCheck) extraUID0() []string {
	var names []string
	for _, a := range c.accs.list {
		if a.inPasswd && a.uid == 0 && a.name != "root" {
			names = append(names, a.name)
		}
	}
	return names
}

func (c *imageCheck) weakPasswords(ctx context.Context) ([]string, error) {
	var (
		targets []*hashTarget
		skipped int // hashes that cannot or will not be tried
	)
	for _, a := range c.accs.list {
		if _, empty := a.emptyPassword(); empty {
			continue // reported by account.empty-password
		}
		h, _ := a.hash()
		v, cost, st := parseHash(h)
		switch st {
		case hashUsable:
			targets = append(targets, &hashTarget{acct: a, v: v, cost: cost, own: c.a.dict.ownCandidates(a.name), dict: c.a.dict})
		case hashLocked:
		default:
			skipped++
		}
	}
	// Superusers first, so that a long file cannot push root past the cap.
	slices.SortStableFunc(targets, func(x, y *hashTarget) int {
		return cmp.Compare(boolRank(x.acct.uid != 0), boolRank(y.acct.uid != 0))
	})
	if len(targets) > maxHashedAccounts {
		skipped += len(targets) - maxHashedAccounts
		targets = targets[:maxHashedAccounts]
	}
	stats, err := crack(ctx, targets, c.a.budget)
	if err != nil {
		return nil, err
	}
	c.crack = stats
	var names []string
	for _, t := range targets {
		if t.found {
			names = append(names, t.acct.name)
			_, file := t.acct.hash()
			c.addWeak(t.acct, "weak_password", file)
		}
	}
	if len(targets) > 0 || skipped > 0 {
		// Counts only: never a password, not even a rank in the list.
		c.a.log.Info("baseline: weak password check", "digest", c.img.Digest, "accounts", len(targets),
			"weak", len(names), "attempts", stats.attempts, "estimated", stats.spent.Round(time.Millisecond).String(),
			"partial", stats.outOfBudget, "not_checked", skipped)
	}
	return names, nil
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (c *imageCheck) loginDefs() (map[string]string, bool) {
	b, err := readKept(c.img.FS, "etc/login.defs", maxConfigFile)
	if err != nil {
		return nil, false
	}
	return loginDefs(b), true
}

// passMaxDays: a missing key means shadow-utils writes no maximum age
// (passwords never expire), so it fails like 99999 does; without
// login.defs (Alpine, distroless) there is no shadow-utils policy to check.
func (c *imageCheck) passMaxDays() []string {
	defs, ok := c.loginDefs()
	if !ok {
		return nil
	}
	v, set := defs["PASS_MAX_DAYS"]
	if !set {
		return []string{pathLoginDefs + ": PASS_MAX_DAYS not set"}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 90 {
		return []string{fmt.Sprintf("%s: PASS_MAX_DAYS %s", pathLoginDefs, v)}
	}
	return nil
}

// passMinLen: a missing key passes, since every mainstream distribution
// leaves the length to PAM (Debian ships the key commented out).
func (c *imageCheck) passMinLen() []string {
	defs, ok := c.loginDefs()
	if !ok {
		return nil
	}
	v, set := defs["PASS_MIN_LEN"]
	if !set {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 8 {
		return []string{fmt.Sprintf("%s: PASS_MIN_LEN %s", pathLoginDefs, v)}
	}
	return nil
}

// --- files ---

// walkFindings is what one pass over every path of the image found.
type walkFindings struct {
	worldWritable, setuid []string
	keyCandidates         []string // kept files to read
}

// tmpDirs are where world-writable is expected.
var tmpDirs = []string{"tmp", "var/tmp", "dev/shm"}

func underTmp(p string) bool {
	for _, d := range tmpDirs {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func (c *imageCheck) files() *walkFindings {
	if c.walk != nil {
		return c.walk
	}
	w := &walkFindings{}
	_ = c.img.FS.Walk(func(e *scanner.Entry, kept bool) error {
		switch e.Type {
		case scanner.TypeRegular:
			if e.Mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 && !c.a.setuid[canonicalBinPath(e.Path)] {
				w.setuid = append(w.setuid, "/"+e.Path)
			}
			if e.Mode.Perm()&0o002 != 0 && !underTmp(e.Path) {
				w.worldWritable = append(w.worldWritable, "/"+e.Path)
			}
			if kept && isKeyCandidate(e.Path) {
				w.keyCandidates = append(w.keyCandidates, e.Path)
			}
		case scanner.TypeDir:
			// The sticky bit lets only owners delete or rename entries:
			// the usual shared-directory setup (/run/lock), not a risk.
			if e.Mode.Perm()&0o002 != 0 && e.Mode&fs.ModeSticky == 0 && !underTmp(e.Path) {
				w.worldWritable = append(w.worldWritable, "/"+e.Path)
			}
		}
		return nil
	})
	c.walk = w
	return w
}

// privateKeyBlock is a PEM (or OpenSSH) private key header: RSA, EC, DSA,
// OPENSSH, ENCRYPTED, or bare PKCS#8.
var privateKeyBlock = regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----`)

func (c *imageCheck) privateKeys() []string {
	var paths []string
	for _, p := range c.files().keyCandidates {
		b, err := readKept(c.img.FS, p, maxKeyFile)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				c.a.log.Info("baseline: key candidate not read", "digest", c.img.Digest, "path", "/"+p, "err", err)
			}
			continue
		}
		if privateKeyBlock.Match(b) {
			paths = append(paths, "/"+p)
		}
	}
	return paths
}

// --- sshd ---

// sshdOption fails when keyword is set to bad, globally (the first value
// sshd reads) or in any Match block.
func (c *imageCheck) sshdOption(keyword, bad string) []string {
	v, ok := readSSHDConfig(c.img.FS, keyword)
	if !ok {
		return nil
	}
	key := strings.ToLower(keyword)
	var ev []string
	if s, set := v.global[key]; set && s.value == bad {
		ev = append(ev, fmt.Sprintf("/%s: %s %s", s.file, keyword, bad))
	}
	for _, s := range v.inMatch[key] {
		if s.value == bad {
			ev = append(ev, fmt.Sprintf("/%s: %s %s in a Match block", s.file, keyword, bad))
			break
		}
	}
	return ev
}
