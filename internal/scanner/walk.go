package scanner

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/openhss/openhss/internal/scanresult"
)

// walk is one scan's single pass over an image's layers.
type walk struct {
	s *Scanner
	// analyzers of this scan (see ScanLocal)
	analyzers []Analyzer
	// inventory: the software inventory runs (the scope selects
	// vulnerabilities).
	inventory bool
	ctx       context.Context
	img       v1.Image
	blobs     *blobStore
	tree      *tree
	buf       []byte

	layers               []v1.Layer
	digests              []string
	compressed, unpacked int64
	skipped              int // unsafe or unsupported entries left out
}

func (s *Scanner) newWalk(ctx context.Context, img v1.Image, dir string, scratch *scratchAccount, scope scanresult.Scope) (*walk, error) {
	blobs := newBlobStore(ctx, dir, scratch)
	return &walk{s: s, analyzers: s.forScan(scope), inventory: scope.Has(scanresult.ScopeVulnerabilities), ctx: ctx, img: img, blobs: blobs, tree: newTree(blobs), buf: make([]byte, 64<<10)}, nil
}

// run checks the declared size, walks every layer base first, and returns
// the final filesystem.
func (w *walk) run() (*Image, error) {
	fetch := func(err error) *Failure { return classify(w.ctx, err, FetchFailure) }
	digest, err := w.img.Digest()
	if err != nil {
		return nil, fetch(err)
	}
	m, err := w.img.Manifest()
	if err != nil {
		return nil, fetch(err)
	}
	declared := m.Config.Size
	for _, l := range m.Layers {
		declared += l.Size
	}
	if declared > w.s.opts.MaxImageSize {
		return nil, oversized("image declares %d bytes, more than the limit of %d", declared, w.s.opts.MaxImageSize)
	}
	cfg, err := w.img.ConfigFile()
	if err != nil {
		return nil, classify(w.ctx, err, softwareFailure)
	}
	if w.layers, err = w.img.Layers(); err != nil {
		return nil, fetch(err)
	}
	for i, l := range w.layers {
		d, err := l.Digest()
		if err != nil {
			return nil, fetch(err)
		}
		w.digests = append(w.digests, d.String())
		if err := w.walkLayer(i, l); err != nil {
			return nil, err
		}
	}
	if w.skipped > 0 {
		w.s.log.Info("scanner: skipped unsafe or unsupported tar entries", "digest", digest.String(), "count", w.skipped)
	}
	sizes := make([]int64, len(m.Layers))
	for i, l := range m.Layers {
		sizes[i] = l.Size
	}
	hist := make([]scanresult.HistoryEntry, len(cfg.History))
	for i, h := range cfg.History {
		hist[i] = scanresult.HistoryEntry{CreatedBy: redactStep(h.CreatedBy), EmptyLayer: h.EmptyLayer}
	}
	return &Image{Digest: digest.String(), Layers: w.digests, History: scanresult.LayersHistory(sizes, hist), Config: cfg,
		FS: &FS{t: w.tree}}, nil
}

// countingReader counts the compressed bytes of the whole image and marks
// read errors as transfer errors.
type countingReader struct {
	r     io.Reader
	n     *int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	if *c.n > c.limit {
		return n, &oversizeError{fmt.Sprintf("image is more than %d bytes compressed", c.limit)}
	}
	if err != nil && err != io.EOF {
		err = &fetchError{err}
	}
	return n, err
}

// unpackedReader counts decompressed bytes against MaxUnpackedSize.
type unpackedReader struct {
	r     io.Reader
	n     *int64
	limit int64
}

func (u *unpackedReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	*u.n += int64(n)
	if *u.n > u.limit {
		return n, &oversizeError{fmt.Sprintf("image unpacks to more than %d bytes", u.limit)}
	}
	return n, err
}

func (w *walk) walkLayer(idx int, l v1.Layer) (err error) {
	rc, err := l.Compressed()
	if err != nil {
		return classify(w.ctx, err, FetchFailure)
	}
	// A stalled registry must not outlive the scan's context.
	stop := context.AfterFunc(w.ctx, func() { _ = rc.Close() })
	defer func() {
		stop()
		_ = rc.Close()
	}()
	cr := &countingReader{r: rc, n: &w.compressed, limit: w.s.opts.MaxImageSize}
	var ra *readahead // decompresses ahead on its own goroutine, once started
	// On a content error, fail reads the rest of the blob so that a digest mismatch or
	// broken transfer shows as what it is, rather than as the garbage it
	// made of the tar stream.
	fail := func(err error) error {
		return classify(w.ctx, err, func(content error) *Failure {
			if ra != nil {
				// The blob is read by one goroutine at a time, and what
				// the decompressing one met first is the better answer.
				ra.stop()
				if ra.srcErr != nil && isTransferOrLimit(ra.srcErr) {
					return classify(w.ctx, ra.srcErr, softwareFailure)
				}
			}
			if _, derr := io.CopyBuffer(io.Discard, cr, w.buf); derr != nil && isTransferOrLimit(derr) {
				return classify(w.ctx, derr, softwareFailure)
			}
			return softwareFailure(fmt.Errorf("layer %s: %w", w.digests[idx], content))
		})
	}

	br := bufio.NewReaderSize(cr, 64<<10)
	head, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	var dec io.Reader = br
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fail(err)
		}
		defer zr.Close()
		dec = zr
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(256<<20))
		if err != nil {
			return fail(err)
		}
		defer zr.Close()
		dec = zr
	}
	ra = newReadahead(dec)
	defer func() {
		// Closing the blob first unblocks a producer waiting on the
		// network; it must be gone before the decompressor is closed.
		_ = rc.Close()
		ra.stop()
	}()
	ur := &unpackedReader{r: ra, n: &w.unpacked, limit: w.s.opts.MaxUnpackedSize}
	tr := tar.NewReader(ur)
	for entries := 0; ; entries++ {
		if entries >= w.s.opts.MaxFiles {
			return oversized("layer %s has more than %d entries", w.digests[idx], w.s.opts.MaxFiles)
		}
		if err := w.ctx.Err(); err != nil {
			return contextFailure(err)
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		if err := w.entry(idx, tr, hdr); err != nil {
			return fail(err)
		}
	}
	// Read to the end: the padding after the tar trailer counts against
	// the limits, and only the end of the blob proves its digest.
	if _, err := io.CopyBuffer(io.Discard, ur, w.buf); err != nil {
		return fail(err)
	}
	ra.stop() // at the end of the stream: the blob is this goroutine's again
	if _, err := io.CopyBuffer(io.Discard, cr, w.buf); err != nil {
		return fail(err)
	}
	return nil
}

func isTransferOrLimit(err error) bool {
	var oe *oversizeError
	return errors.As(err, &oe) || isTransferError(err)
}

// cleanName turns a tar entry name into an io/fs path, or "" for an entry
// to skip: absolute names and names that climb out of the root are
// refused, not rebased.
func cleanName(name string) string {
	name = strings.TrimSuffix(name, "/")
	if name == "" || strings.HasPrefix(name, "/") || strings.ContainsRune(name, 0) {
		return ""
	}
	p := path.Clean(name)
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return ""
	}
	return p
}

func (w *walk) entry(layer int, tr *tar.Reader, hdr *tar.Header) error {
	p := cleanName(hdr.Name)
	if p == "" {
		if path.Clean(strings.TrimSuffix(hdr.Name, "/")) != "." {
			w.skipped++
		}
		return nil
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if base == ".wh..wh..opq" {
		w.tree.opaque(layer, dir)
		return nil
	}
	if victim, ok := strings.CutPrefix(base, ".wh."); ok {
		if victim != "" && victim != "." && victim != ".." {
			w.tree.whiteout(layer, dir, victim)
		}
		return nil
	}

	fi := hdr.FileInfo()
	e := Entry{Path: p, Mode: fi.Mode(), Size: hdr.Size, UID: hdr.Uid, GID: hdr.Gid, ModTime: hdr.ModTime}
	switch hdr.Typeflag {
	case tar.TypeDir:
		e.Type, e.Size = TypeDir, 0
		_, err := w.tree.put(layer, e)
		w.skipIf(err)
		return nil
	case tar.TypeSymlink:
		e.Type, e.Linkname, e.Size = TypeSymlink, hdr.Linkname, 0
		_, err := w.tree.put(layer, e)
		w.skipIf(err)
		return nil
	case tar.TypeLink:
		return w.hardlink(layer, e, hdr.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		e.Type, e.Size = TypeOther, 0
		_, err := w.tree.put(layer, e)
		w.skipIf(err)
		return nil
	case tar.TypeReg, tar.TypeGNUSparse: // archive/tar reads the legacy '\x00' flag as TypeReg (or TypeDir)
		return w.regular(layer, tr, e, fi)
	default: // PAX/GNU metadata entries are consumed by archive/tar; anything else is not a file
		w.skipped++
		return nil
	}
}

func (w *walk) skipIf(err error) {
	if err != nil {
		w.skipped++
	}
}

func (w *walk) regular(layer int, tr *tar.Reader, e Entry, fi fs.FileInfo) error {
	e.Type = TypeRegular
	e.Mode = fi.Mode() &^ fs.ModeType
	n, err := w.tree.put(layer, e)
	if err != nil {
		w.skipped++
		return nil
	}
	keep, gated := w.wants(n.Path, fi)
	var writers []io.Writer
	var sk *sink
	if keep && e.Size <= w.s.opts.MaxFileSize {
		if sk, err = w.blobs.newSink(e.Size, gated); err != nil {
			return err
		}
		writers = append(writers, sk)
	}
	var closers []io.WriteCloser
	for _, a := range w.analyzers {
		if st, ok := a.(Streamer); ok {
			if wc := st.StreamFile(&n.Entry); wc != nil {
				closers = append(closers, wc)
				writers = append(writers, wc)
			}
		}
	}
	if len(writers) == 0 {
		return nil // tar.Reader skips the content on Next
	}
	copyErr := w.copy(writers, tr)
	for _, c := range closers {
		if err := c.Close(); err != nil && copyErr == nil {
			copyErr = err
		}
	}
	if sk == nil {
		return copyErr
	}
	if copyErr != nil {
		sk.abort()
		return copyErr
	}
	b, err := sk.finish()
	if err != nil {
		return err
	}
	n.blob = b
	return nil
}

// copy streams r to every writer with the walk's one buffer.
func (w *walk) copy(writers []io.Writer, r io.Reader) error {
	for {
		n, err := r.Read(w.buf)
		if n > 0 {
			for _, wr := range writers {
				if _, werr := wr.Write(w.buf[:n]); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// hardlink records a hard link as a regular file sharing the content of
// the file it names, which must already be in the image; a link to
// anything outside it is just a dangling name.
func (w *walk) hardlink(layer int, e Entry, linkname string) error {
	target := cleanName(linkname)
	e.Type, e.Linkname, e.Size = TypeRegular, target, 0
	var src *node
	if target != "" && target != e.Path {
		if n, _, err := w.tree.resolve(target, false, false, -1); err == nil && n.Type == TypeRegular {
			src = n
			e.Mode, e.Size, e.UID, e.GID = n.Mode, n.Size, n.UID, n.GID
		}
	}
	n, err := w.tree.put(layer, e)
	if err != nil {
		w.skipped++
		return nil
	}
	if src != nil && src != n && src.blob != nil {
		src.blob.refs++
		n.blob = src.blob
	}
	return nil
}

// wants asks the analyzers whether to keep a file; gated means only the
// Go binary extractor asked, so the walk keeps it only if it is one.
func (w *walk) wants(p string, fi fs.FileInfo) (keep, gated bool) {
	if w.inventory {
		keep, gated = w.s.inv.wants(p, fi)
	}
	if keep && !gated {
		return true, false
	}
	for _, a := range w.analyzers {
		if a.Wants(p, fi) {
			return true, false
		}
	}
	return keep, gated
}
