// Package secrets finds sensitive information (private keys, cloud and
// service credentials, tokens) in the files of a container image with
// gitleaks' detector and its default rules.
//
// Only candidate files are read: regular files of the final filesystem,
// text (no NUL byte near the start), no larger than a limit, outside the
// directories of binaries, documentation and package managers, and outside
// the path allowlist (HSS's sensitive-information file path whitelist).
// The walk keeps their content (Wants) and Analyze runs the detector over
// them on every core.
//
// Findings never hold a secret: gitleaks' matches are reduced to a masked
// form (a short prefix and the length) as soon as they are returned, and
// nothing of them is logged.
package secrets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/spf13/viper"
	"github.com/zricethezav/gitleaks/v8/config"
	"github.com/zricethezav/gitleaks/v8/detect"
	"github.com/zricethezav/gitleaks/v8/logging"
	"github.com/zricethezav/gitleaks/v8/report"
	"github.com/zricethezav/gitleaks/v8/sources"

	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/scanresult"
)

// DefaultMaxFileSize is the largest file read when Options leave it zero:
// configuration files, scripts and key files are small.
const DefaultMaxFileSize = 512 << 10

// The work budget of one image, when Options leave it zero
// (docs/scanner.md, "Sensitive information"). Real images read a few MiB
// of candidates and match a handful of times; one 512 KiB line dense with
// near-secrets costs seconds of CPU, almost all of it per match.
const (
	DefaultMaxBytes   = 64 << 20
	DefaultMaxMatches = 1000
)

// Budget is the RuleID of the finding that says the analyzer stopped at
// its work budget: the files it did not read may hold secrets.
const Budget = "openhss-work-budget"

// Options configure an Analyzer.
type Options struct {
	// MaxFileSize bounds the files read; larger ones are skipped.
	MaxFileSize int64
	// MaxBytes bounds the bytes of candidate files read per image, and
	// MaxMatches the detector's matches (before the line allowlists) per
	// image, which also bounds the findings. When either is reached the
	// remaining candidates are not read and a Budget finding says so.
	MaxBytes   int64
	MaxMatches int
	// Allowlist holds paths never reported (HSS's
	// /image/sensitive/filepath-whitelist); see NewAllowlist.
	Allowlist []string
	// Workers run the detector in parallel (default GOMAXPROCS).
	Workers int
	Logger  *slog.Logger
}

// Analyzer is a scanner.Analyzer. It holds no per-scan state: one
// Analyzer serves any number of concurrent scans.
type Analyzer struct {
	opts  Options
	log   *slog.Logger
	allow Allowlist
	// ready is closed when det and rules (or compileErr) are set: the rules
	// compile on a goroutine of their own, started by New, because the walk
	// (which only needs Wants) can run meanwhile; Analyze waits for them.
	ready      chan struct{}
	det        *detect.Detector
	rules      int
	compileErr error
	lineAllow  lineAllowlists // applied to det's findings; see lineAllowlists
}

// quietGitleaks silences gitleaks' package-level logger, which would
// otherwise write to stderr and, at trace level, print secrets. It is set
// once, before any detector exists, because it is a variable of theirs
// that their code reads without synchronisation.
var quietGitleaks sync.Once

// New returns an Analyzer using gitleaks' default rules. Compiling them
// takes about a tenth of a second of CPU; that happens in the background,
// so that the first scan's walk overlaps it instead of waiting.
func New(opts Options) (*Analyzer, error) {
	quietGitleaks.Do(func() { logging.Logger = zerolog.Nop() })
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxMatches <= 0 {
		opts.MaxMatches = DefaultMaxMatches
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	allow, err := NewAllowlist(opts.Allowlist)
	if err != nil {
		return nil, err
	}
	a := &Analyzer{opts: opts, log: log, allow: allow, ready: make(chan struct{})}
	go a.compile()
	return a, nil
}

func (a *Analyzer) compile() {
	defer close(a.ready)
	cfg, err := defaultConfig()
	if err != nil {
		a.compileErr = fmt.Errorf("gitleaks default config: %w", err)
		return
	}
	lineAllow := takeLineAllowlists(&cfg)
	det := detect.NewDetector(cfg)
	// Decoding passes (base64, hex, percent-encoding) stay off, as in
	// gitleaks' library default: they multiply the work per file and the
	// false positives on distribution files.
	det.MaxDecodeDepth = 0
	det.IgnoreGitleaksAllow = false
	a.det, a.rules, a.lineAllow = det, len(cfg.Rules), lineAllow
}

// detector waits for the compiled rules.
func (a *Analyzer) detector(ctx context.Context) (*detect.Detector, error) {
	select {
	case <-a.ready:
		return a.det, a.compileErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// defaultConfig is detect.NewDetectorDefaultConfig without viper's global
// instance, which is not safe to share.
func defaultConfig() (config.Config, error) {
	v := viper.New()
	v.SetConfigType("toml")
	if err := v.ReadConfig(strings.NewReader(config.DefaultConfig)); err != nil {
		return config.Config{}, err
	}
	var vc config.ViperConfig
	if err := v.Unmarshal(&vc); err != nil {
		return config.Config{}, err
	}
	return vc.Translate()
}

// Rules is the number of detection rules in use (0 if they failed to
// compile, which Analyze reports).
func (a *Analyzer) Rules() int {
	<-a.ready
	return a.rules
}

// Name implements scanner.Analyzer.
func (a *Analyzer) Name() string { return "secrets" }

// Scope is the part of a scan the analyzer is (scanner.Scoped): sensitive information.
func (a *Analyzer) Scope() scanresult.Scope { return scanresult.ScopeSecrets }

// Wants implements scanner.Analyzer: the walk keeps the candidates.
func (a *Analyzer) Wants(p string, fi fs.FileInfo) bool {
	return fi.Size() > 0 && fi.Size() <= a.opts.MaxFileSize && candidatePath(p) && !a.allow.Match(p)
}

// textSniff is how much of a file must be free of NUL bytes for the file
// to count as text.
const textSniff = 8 << 10

type job struct {
	e     scanner.Entry
	layer string
}

// Analyze implements scanner.Analyzer.
func (a *Analyzer) Analyze(ctx context.Context, img *scanner.Image, r *scanner.Report) error {
	start := time.Now()
	det, err := a.detector(ctx)
	if err != nil {
		return err
	}
	var jobs []job
	err = img.FS.Walk(func(e *scanner.Entry, kept bool) error {
		if kept && e.Type == scanner.TypeRegular && e.Size > 0 && e.Size <= a.opts.MaxFileSize &&
			candidatePath(e.Path) && !a.allow.Match(e.Path) {
			jobs = append(jobs, job{e: *e, layer: img.LayerDigest(e)})
		}
		return nil
	})
	if err != nil {
		return err
	}

	results := make([][]scanresult.Secret, len(jobs))
	var read, bytesRead int64
	var mu sync.Mutex
	var firstErr error
	// matches counts the detector's matches; past MaxMatches no new file
	// is started. Files already started finish: a file's matches come
	// back from the detector all at once.
	var matches atomic.Int64
	var unread []int // candidates left out by the budget
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(a.opts.Workers, max(len(jobs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n, nb int64
			defer func() {
				if p := recover(); p != nil {
					// The message of a panic deep in a rule could quote the
					// content: keep only that it happened.
					err := fmt.Errorf("secrets: detector panicked")
					mu.Lock()
					firstErr = firstOf(firstErr, err)
					mu.Unlock()
					for range next { // let the feeder finish
					}
				}
				mu.Lock()
				read, bytesRead = read+n, bytesRead+nb
				mu.Unlock()
			}()
			for i := range next {
				if matches.Load() >= int64(a.opts.MaxMatches) {
					mu.Lock()
					unread = append(unread, i)
					mu.Unlock()
					continue
				}
				found, raw, size, err := a.detectFile(ctx, det, img, jobs[i])
				if err != nil {
					mu.Lock()
					firstErr = firstOf(firstErr, err)
					mu.Unlock()
					continue
				}
				matches.Add(int64(raw))
				if size > 0 {
					n++
					nb += size
				}
				results[i] = found
			}
		}()
	}
	// Bytes are counted here, in walk order, from the sizes the walk
	// recorded: the same image always reads the same files.
	var reserved int64
	for i := range jobs {
		if ctx.Err() != nil {
			break
		}
		if reserved+jobs[i].e.Size > a.opts.MaxBytes || matches.Load() >= int64(a.opts.MaxMatches) {
			mu.Lock()
			unread = append(unread, i)
			mu.Unlock()
			continue
		}
		reserved += jobs[i].e.Size
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}

	seen := map[string]bool{}
	var out []scanresult.Secret
	for _, found := range results {
		for _, f := range found {
			if !seen[f.ID] {
				seen[f.ID] = true
				out = append(out, f)
			}
		}
	}
	slices.SortFunc(out, cmpFindings)
	if len(out) > a.opts.MaxMatches {
		out = out[:a.opts.MaxMatches]
	}
	m := matches.Load()
	if len(unread) > 0 || m > int64(a.opts.MaxMatches) {
		out = append(out, a.budgetFinding(jobs, unread, bytesRead, m))
	}
	r.Secrets = append(r.Secrets, out...)
	r.AddWork("secrets.files", read)
	r.AddWork("secrets.bytes", bytesRead)
	r.AddWork("secrets.matches", m)
	r.AddWork("secrets.unread", int64(len(unread)))
	a.log.DebugContext(ctx, "secrets: analyzed", "digest", img.Digest, "candidates", len(jobs), "text_files", read,
		"bytes", bytesRead, "matches", m, "unread", len(unread), "findings", len(out), "elapsed", time.Since(start))
	return nil
}

// budgetFinding says that the work budget stopped the analysis: how much
// was read, and the first candidate (in path order) that was not.
func (a *Analyzer) budgetFinding(jobs []job, unread []int, bytesRead, matches int64) scanresult.Secret {
	f := scanresult.Secret{
		ID:       findingID(Budget, "", 0),
		RuleID:   Budget,
		Severity: "low",
		Name:     "Sensitive information check incomplete",
		Description: fmt.Sprintf("The check stopped at its work budget (%d bytes, %d matches per image): "+
			"%d bytes read, %d matches; %d candidate files not read, which may hold sensitive information.",
			a.opts.MaxBytes, a.opts.MaxMatches, bytesRead, matches, len(unread)),
	}
	if len(unread) > 0 {
		first := slices.Min(unread)
		f.FilePath, f.LayerDigest = "/"+jobs[first].e.Path, jobs[first].layer
	}
	return f
}

func firstOf(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func cmpFindings(x, y scanresult.Secret) int {
	if c := strings.Compare(x.FilePath, y.FilePath); c != 0 {
		return c
	}
	if x.Line != y.Line {
		return x.Line - y.Line
	}
	return strings.Compare(x.RuleID, y.RuleID)
}

// detectFile runs the detector over one candidate and returns its findings,
// masked, the detector's matches, and the bytes read (0 when the file
// turned out not to be text).
func (a *Analyzer) detectFile(ctx context.Context, det *detect.Detector, img *scanner.Image, j job) ([]scanresult.Secret, int, int64, error) {
	f, err := img.FS.Open(j.e.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, 0, 0, nil
		}
		return nil, 0, 0, fmt.Errorf("secrets: open /%s: %w", j.e.Path, err)
	}
	b, err := io.ReadAll(io.LimitReader(f, a.opts.MaxFileSize))
	_ = f.Close()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("secrets: read /%s: %w", j.e.Path, err)
	}
	if !isText(b) || publicKeysOnly(b) {
		return nil, 0, 0, nil
	}
	filePath := "/" + j.e.Path
	var out []scanresult.Secret
	raw := detectFragment(ctx, det, sources.Fragment{Raw: string(b), FilePath: filePath, StartLine: 1})
	for _, gf := range raw {
		if a.lineAllow.allowed(gf, filePath) {
			continue
		}
		secret := gf.Secret
		if secret == "" {
			secret = gf.Match
		}
		out = append(out, scanresult.Secret{
			ID:          findingID(gf.RuleID, filePath, gf.StartLine),
			RuleID:      gf.RuleID,
			Severity:    Severity(gf.RuleID),
			Name:        RuleName(gf.RuleID),
			Description: gf.Description,
			FilePath:    filePath,
			Line:        gf.StartLine,
			LayerDigest: j.layer,
			Content:     Mask(secret),
		})
	}
	return out, len(raw), int64(len(b)), nil
}

// publicArmors are PEM and OpenPGP blocks that hold public material only.
var publicArmors = []string{"PGP PUBLIC KEY BLOCK", "PGP SIGNATURE", "CERTIFICATE", "PUBLIC KEY", "X509 CRL"}

// publicKeysOnly reports whether b is nothing but armoured public keys,
// certificates and signatures: a keyring or CA bundle, slow for the
// detector's generic rules (long base64 lines) and never a secret.
func publicKeysOnly(b []byte) bool {
	rest := bytes.TrimSpace(b)
	if len(rest) == 0 {
		return false
	}
	for len(rest) > 0 {
		found := false
		for _, kind := range publicArmors {
			begin, end := "-----BEGIN "+kind+"-----", "-----END "+kind+"-----"
			if !bytes.HasPrefix(rest, []byte(begin)) {
				continue
			}
			i := bytes.Index(rest, []byte(end))
			if i < 0 {
				return false
			}
			rest, found = bytes.TrimSpace(rest[i+len(end):]), true
			break
		}
		if !found {
			return false
		}
	}
	return true
}

func isText(b []byte) bool {
	for _, c := range b[:min(len(b), textSniff)] {
		if c == 0 {
			return false
		}
	}
	return true
}

// findingID is stable across scans of the same image and of any image
// with the same file: a hash of rule, path and line, never of the secret.
func findingID(rule, path string, line int) string {
	sum := sha256.Sum256([]byte(rule + "\x00" + path + "\x00" + strconv.Itoa(line)))
	return hex.EncodeToString(sum[:16])
}

// Mask reduces a secret to what may be shown: at most its first four
// characters (fewer for a short secret: never more than a quarter of it)
// and its length. The armour line of a PEM block is not secret and is
// kept, so that a key shows as what it is.
func Mask(secret string) string {
	n := utf8.RuneCountInString(secret)
	if strings.HasPrefix(secret, "-----BEGIN ") {
		if end := strings.Index(secret[len("-----BEGIN "):], "-----"); end >= 0 && end < 64 {
			head := secret[:len("-----BEGIN ")+end+5]
			return fmt.Sprintf("%s…(%d chars)", head, n)
		}
	}
	k := min(4, n/4)
	var prefix strings.Builder
	for _, c := range secret {
		if k == 0 {
			break
		}
		if !unicode.IsPrint(c) {
			c = '?'
		}
		prefix.WriteRune(c)
		k--
	}
	return fmt.Sprintf("%s…(%d chars)", prefix.String(), n)
}

// detectFragment runs det over one file's fragment. gitleaks' replacement for
// the deprecated detect.Fragment is sources.Fragment, but v8's DetectContext
// still takes the old type (a defined copy of sources.Fragment) and its
// DetectSource keeps every finding on the shared detector, which a detector
// reused across scans cannot do; so this converts at the one call.
func detectFragment(ctx context.Context, det *detect.Detector, f sources.Fragment) []report.Finding {
	//lint:ignore SA1019 gitleaks v8.30 has no DetectContext over sources.Fragment (v9 changes the parameter type)
	return det.DetectContext(ctx, detect.Fragment(f))
}
