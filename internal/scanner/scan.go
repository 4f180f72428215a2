package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// Defaults for Options left zero.
const (
	DefaultMaxImageSize    = 10 << 30
	DefaultMaxUnpackedSize = 20 << 30
	DefaultMaxFileSize     = 64 << 20
	DefaultMaxFiles        = 2_000_000
)

// Options configure a Scanner. Zero values take the defaults above.
type Options struct {
	// ScratchDir is the parent of each scan's temporary directory, the only
	// place a scan writes to (default os.TempDir()).
	ScratchDir string
	// MaxImageSize bounds the compressed size of the image: the sum the
	// manifest declares, checked before any layer is pulled, and the bytes
	// actually read.
	MaxImageSize int64
	// MaxUnpackedSize bounds the bytes decompressed while walking the
	// layers (all of them, kept or not): a decompression bomb ends as
	// image_oversized.
	MaxUnpackedSize int64
	// MaxFileSize bounds one kept file; a bigger one is skipped, not fatal.
	MaxFileSize int64
	// MaxFiles bounds the tar entries of one layer.
	MaxFiles int
	// MaxScratchSize bounds the kept files one scan holds on disk at once
	// (default DefaultMaxScratchSize); a scan that needs more ends as
	// image_oversized.
	MaxScratchSize int64
	// ScratchLimit bounds the kept files all the concurrent scans of this
	// Scanner hold on disk at once (default DefaultScratchLimit): a scan
	// whose next file does not fit waits for others to give space back
	// (see scratchPool), within its context. One Scanner per process
	// makes it the process's limit.
	ScratchLimit int64
	// Analyzers run after the software inventory, in the same walk.
	Analyzers []Analyzer
	Logger    *slog.Logger
}

// Analyzer looks at an image during a scan's single walk over its layers.
type Analyzer interface {
	// Name identifies the analyzer in logs and errors.
	Name() string
	// Wants reports whether the walk should keep the content of the file
	// at path (io/fs form: "etc/shadow") so that Analyze can read it from
	// Image.FS. fi comes from the tar header. Keep the answer cheap: it is
	// asked for every regular file of every layer.
	Wants(path string, fi fs.FileInfo) bool
	// Analyze runs once after the walk, with the final filesystem, and adds
	// its findings to r. An error that is not a *Failure ends the scan as
	// failed + failed_to_scan_software.
	Analyze(ctx context.Context, img *Image, r *Report) error
}

// ScanLocal is an Analyzer that keeps state during one scan. The scanner
// calls ForScan at the start of every scan and uses what it returns for
// that scan only, so one Scanner can run many scans at once.
type ScanLocal interface {
	Analyzer
	ForScan() Analyzer
}

// Scoped is an Analyzer that is one part of a scan's scope
// (scanresult.Scope): it runs only in the scans that select its part. An
// analyzer that is not Scoped runs in every scan.
type Scoped interface {
	Analyzer
	Scope() scanresult.Scope
}

// forScan returns the analyzers of one scan of scope.
func (s *Scanner) forScan(scope scanresult.Scope) []Analyzer {
	out := make([]Analyzer, 0, len(s.opts.Analyzers))
	for _, a := range s.opts.Analyzers {
		if sc, ok := a.(Scoped); ok && !scope.Has(sc.Scope()) {
			continue
		}
		if l, ok := a.(ScanLocal); ok {
			a = l.ForScan()
		}
		out = append(out, a)
	}
	return out
}

// Streamer is an Analyzer that also sees the bytes of every regular file of
// every layer as they stream past (to hash them, say), without a second
// read. Files that a higher layer replaces or deletes stream past too:
// Analyze can tell, from Image.FS, which (path, layer) survived.
type Streamer interface {
	Analyzer
	// StreamFile returns where to copy e's content, or nil to skip it. The
	// walk closes the writer after the last byte; a write or close error
	// fails the scan.
	StreamFile(e *Entry) io.WriteCloser
}

// Scanner scans images. It is safe for concurrent use; each scan has its
// own scratch directory.
type Scanner struct {
	opts    Options
	log     *slog.Logger
	inv     *softwareInventory
	scratch *scratchPool
	// sweep removes the stale scratch directories of dead processes, once,
	// before the first scan.
	sweep sync.Once
}

// New returns a Scanner with opts' zero values defaulted. A nil analyzer
// or a negative limit is an error: it would otherwise fail every scan.
func New(opts Options) (*Scanner, error) {
	for i, a := range opts.Analyzers {
		if a == nil {
			return nil, fmt.Errorf("scanner: Options.Analyzers[%d] is nil", i)
		}
	}
	for _, v := range []struct {
		name string
		n    int64
	}{
		{"MaxImageSize", opts.MaxImageSize}, {"MaxUnpackedSize", opts.MaxUnpackedSize}, {"MaxFileSize", opts.MaxFileSize},
		{"MaxFiles", int64(opts.MaxFiles)}, {"MaxScratchSize", opts.MaxScratchSize}, {"ScratchLimit", opts.ScratchLimit},
	} {
		if v.n < 0 {
			return nil, fmt.Errorf("scanner: Options.%s %d is negative", v.name, v.n)
		}
	}
	if opts.ScratchDir == "" {
		opts.ScratchDir = os.TempDir()
	}
	if opts.MaxImageSize <= 0 {
		opts.MaxImageSize = DefaultMaxImageSize
	}
	if opts.MaxUnpackedSize <= 0 {
		opts.MaxUnpackedSize = DefaultMaxUnpackedSize
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.MaxScratchSize <= 0 {
		opts.MaxScratchSize = DefaultMaxScratchSize
	}
	if opts.ScratchLimit <= 0 {
		opts.ScratchLimit = DefaultScratchLimit
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Scanner{opts: opts, log: log, inv: newSoftwareInventory(opts.MaxFileSize),
		scratch: newScratchPool(opts.ScratchLimit, opts.MaxScratchSize)}, nil
}

// Scratch reports the use of the scratch directory by this Scanner's scans.
func (s *Scanner) Scratch() ScratchUsage { return s.scratch.usage() }

// Scan pulls img's layers once, base first, and returns what its analyzers
// found. Every error is a *Failure carrying the HSS status and
// scan_failed_desc.
func (s *Scanner) Scan(ctx context.Context, img v1.Image) (*Report, error) {
	return s.ScanScope(ctx, img, scanresult.ScopeAll)
}

// ScanScope is Scan of the parts scope selects: the software inventory
// only with scanresult.ScopeVulnerabilities (the matcher's input), and
// only the Scoped analyzers of a selected part. The walk keeps only the
// files those ask for, so a scan of fewer parts keeps fewer files; the
// layers are read all the same. A Report of a scan without the inventory
// has the manifest's Digest and Layers and no Packages.
func (s *Scanner) ScanScope(ctx context.Context, img v1.Image, scope scanresult.Scope) (rep *Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, &Failure{Status: inventory.ScanFailed, Desc: DescFailedToScanSoftware,
				Err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
		}
		if err != nil {
			err = AsFailure(err)
		}
	}()

	s.sweep.Do(func() {
		if _, err := RemoveStaleScratch(s.opts.ScratchDir, s.log); err != nil {
			s.log.Warn("scanner: remove stale scratch directories", "err", err)
		}
	})
	sd, err := newScratchDir(s.opts.ScratchDir)
	if err != nil {
		return nil, &Failure{Status: inventory.ScanFailed, Desc: DescFailedToScanFile, Err: fmt.Errorf("scratch dir: %w", err)}
	}
	acct := s.scratch.account()
	defer func() {
		if rmErr := sd.remove(); rmErr != nil {
			s.log.Warn("scanner: remove scratch dir", "dir", sd.path, "err", rmErr)
		}
		acct.close()
	}()

	w, err := s.newWalk(ctx, img, sd.path, acct, scope)
	if err != nil {
		return nil, err
	}
	im, err := w.run()
	if err != nil {
		return nil, err
	}
	rep = &Report{SBOM: scanresult.SBOM{Digest: im.Digest, Layers: im.Layers, History: im.History},
		CompressedBytes: w.compressed, UnpackedBytes: w.unpacked}
	if w.inventory {
		if err := s.inv.Analyze(ctx, im, rep); err != nil {
			return nil, analyzerFailure(ctx, s.inv, err)
		}
	}
	for _, a := range w.analyzers {
		if err := a.Analyze(ctx, im, rep); err != nil {
			return nil, analyzerFailure(ctx, a, err)
		}
	}
	s.log.Debug("scanner: scanned", "digest", rep.Digest, "layers", len(rep.Layers), "packages", len(rep.Packages),
		"compressed", rep.CompressedBytes, "unpacked", rep.UnpackedBytes, "kept_on_disk", w.blobs.disk)
	return rep, nil
}

func analyzerFailure(ctx context.Context, a Analyzer, err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return contextFailure(ctxErr)
	}
	return &Failure{Status: inventory.ScanFailed, Desc: DescFailedToScanSoftware, Err: fmt.Errorf("%s: %w", a.Name(), err)}
}
