// Package baseline is the unsafe-settings analyzer: a fixed set of rules,
// each with a stable id, evaluated against an image's configuration and its
// final filesystem during the scanner's single walk. Every scan yields one
// result per rule, passed or failed; unsafe_setting_num is the number of
// failed ones. Weak or empty passwords are also reported per account, never
// with the password.
package baseline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanresult"
)

// Sizes of the files the analyzer keeps. A bigger file is left out by the
// walk; its rules then see it as absent, and the analyzer logs that.
const (
	maxAccountFile = 16 << 20 // /etc/passwd, /etc/shadow
	maxConfigFile  = 1 << 20  // login.defs, sshd_config and its includes
	maxKeyFile     = 64 << 10 // private key candidates
	maxEvidence    = 5        // items named in one result's Evidence
)

const (
	pathPasswd    = "/etc/passwd"
	pathShadow    = "/etc/shadow"
	pathLoginDefs = "/etc/login.defs"
)

// Options configure the analyzer. The zero value is ready to use.
type Options struct {
	// WeakPasswords extend the built-in dictionary of common passwords;
	// they, and the file's words, are tried before the built-in ones.
	WeakPasswords []string
	// WeakPasswordFile names a file of extra weak passwords, one per line
	// (blank lines and lines starting with '#' are skipped). New reads it
	// once.
	WeakPasswordFile string
	// SetuidAllowlist adds absolute paths ("/usr/bin/sudo") to
	// DefaultSetuidAllowlist: setuid/setgid programs that do not fail the
	// file.unexpected-setuid rule.
	SetuidAllowlist []string
	// WeakPasswordBudget bounds the hashing work of the weak-password rule
	// per image (default 1s). It is an estimate from each hash's
	// algorithm and parameters, not a clock, so results do not depend on
	// the machine's load: accounts whose dictionary did not fit are
	// logged as partially checked.
	WeakPasswordBudget time.Duration
	Logger             *slog.Logger
}

// Analyzer evaluates the baseline rules. It implements scanner.Analyzer
// and is safe for concurrent scans.
type Analyzer struct {
	dict   *dictionary
	setuid map[string]bool // canonical paths, see canonicalBinPath
	budget time.Duration
	log    *slog.Logger
}

var _ scanner.Analyzer = (*Analyzer)(nil)

// New returns the analyzer. It fails only when WeakPasswordFile cannot be
// read.
func New(opts Options) (*Analyzer, error) {
	extra := opts.WeakPasswords
	if opts.WeakPasswordFile != "" {
		words, err := readWordFile(opts.WeakPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("baseline: weak password file: %w", err)
		}
		extra = append(append([]string(nil), extra...), words...)
	}
	a := &Analyzer{
		// The operator's words go first: they are what is known to be used
		// at the site, and a long list is normally a superset of the
		// built-in one anyway. With slow hashes only the head is tried.
		dict:   newDictionary(extra, commonPasswords),
		setuid: map[string]bool{},
		budget: opts.WeakPasswordBudget,
		log:    opts.Logger,
	}
	if a.budget <= 0 {
		a.budget = defaultCrackBudget
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range append(DefaultSetuidAllowlist(), opts.SetuidAllowlist...) {
		a.setuid[canonicalBinPath(strings.TrimPrefix(path.Clean("/"+p), "/"))] = true
	}
	return a, nil
}

func readWordFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var words []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.TrimRight(sc.Text(), "\r")
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		words = append(words, w)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return words, nil
}

// Name implements scanner.Analyzer.
func (a *Analyzer) Name() string { return "baseline" }

// Scope is the part of a scan the analyzer is (scanner.Scoped): unsafe settings and weak passwords.
func (a *Analyzer) Scope() scanresult.Scope { return scanresult.ScopeBaseline }

// Wants keeps the account, login and sshd configuration files, and small
// files whose names make them private key candidates.
func (a *Analyzer) Wants(p string, fi fs.FileInfo) bool {
	switch p {
	case "etc/passwd", "etc/shadow":
		return fi.Size() <= maxAccountFile
	case "etc/login.defs", sshdConfig:
		return fi.Size() <= maxConfigFile
	}
	if fi.Size() > maxKeyFile {
		return false
	}
	return strings.HasPrefix(p, "etc/ssh/sshd_config.d/") || isKeyCandidate(p)
}

// isKeyCandidate: *.pem, *.key, SSH identities (.ssh/id_*) and SSH host
// keys, public halves excluded.
func isKeyCandidate(p string) bool {
	dir, name := path.Split(p)
	switch {
	case strings.HasSuffix(name, ".pem"), strings.HasSuffix(name, ".key"):
		return true
	case strings.HasSuffix(name, ".pub"):
		return false
	case strings.HasPrefix(name, "id_"):
		return dir == ".ssh/" || strings.HasSuffix(dir, "/.ssh/")
	case strings.HasPrefix(name, "ssh_host_") && strings.HasSuffix(name, "_key"):
		return dir == "etc/ssh/"
	}
	return false
}

// Analyze implements scanner.Analyzer: one BaselineResult per rule, in
// Rules() order, and a WeakPassword per account with an empty or weak
// password.
func (a *Analyzer) Analyze(ctx context.Context, img *scanner.Image, r *scanner.Report) error {
	c := newImageCheck(a, img)
	for _, ri := range rules {
		ev, err := c.run(ctx, ri.ID)
		if err != nil {
			return fmt.Errorf("rule %s: %w", ri.ID, err)
		}
		r.Baseline = append(r.Baseline, scanresult.BaselineResult{
			RuleID: ri.ID, Name: ri.Name, CheckName: ri.CheckName, CheckType: ri.CheckType, Severity: ri.Severity,
			Standard: ri.Standard, Description: ri.Description, Remediation: ri.Remediation,
			Passed: len(ev) == 0, Evidence: evidence(ev),
		})
	}
	r.WeakPasswords = append(r.WeakPasswords, c.weak...)
	// The budget is estimated work, not time: these are what the tests
	// bound.
	r.AddWork("baseline.weak_password.attempts", int64(c.crack.attempts))
	r.AddWork("baseline.weak_password.estimated_us", c.crack.spent.Microseconds())
	return nil
}

// evidence names the first few items and counts the rest.
func evidence(items []string) string {
	if len(items) <= maxEvidence {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s (+%d more)", strings.Join(items[:maxEvidence], ", "), len(items)-maxEvidence)
}

var errTooLarge = errors.New("file over the size limit")

// readKept reads a file the walk kept, following symlinks inside the image.
func readKept(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge
	}
	return b, nil
}
