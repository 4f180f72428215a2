package scanner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

// blob is the kept content of one file: in memory when small, else in a
// file of the scan's scratch directory named by a counter, never by the
// image's path, so nothing an image says can steer where bytes are written.
type blob struct {
	data []byte // in memory
	file string // on disk, when data is nil
	size int64
	// reserved is the scratch space the file holds, given back when it
	// is removed
	reserved int64
	refs     int // hard links share a blob
}

// blobStore keeps the content of one scan's kept files. Disk space is
// reserved from the scan's scratch account for a file's declared size
// before its first byte is written, and given back when the file is
// removed, so the scan never holds more than its share on disk.
type blobStore struct {
	ctx       context.Context
	dir       string
	scratch   *scratchAccount
	memBudget int64 // bytes all in-memory blobs may hold together
	memSmall  int64 // largest file kept in memory
	mem       int64
	seq       int
	disk      int64 // bytes written to dir, for the report
}

func newBlobStore(ctx context.Context, dir string, scratch *scratchAccount) *blobStore {
	return &blobStore{ctx: ctx, dir: dir, scratch: scratch, memBudget: 32 << 20, memSmall: 256 << 10}
}

// sink receives one file's content as the walk streams it. Close decides
// what is kept.
type sink struct {
	store *blobStore
	size  int64
	buf   *bytes.Buffer
	f     *os.File
	name  string
	gate  *goMagic // keep only if the content holds Go build info
	// written is the bytes written to f, within size (reserved)
	written int64
}

// newSink prepares to keep a file of size bytes. With gated, the file is
// kept only when its content turns out to be a Go binary.
func (s *blobStore) newSink(size int64, gated bool) (*sink, error) {
	k := &sink{store: s, size: size}
	if gated {
		k.gate = &goMagic{}
	}
	if !gated && size <= s.memSmall && s.mem+size <= s.memBudget {
		k.buf = bytes.NewBuffer(make([]byte, 0, size))
		s.mem += size
		return k, nil
	}
	s.seq++
	k.name = filepath.Join(s.dir, strconv.Itoa(s.seq))
	// The tar reader yields exactly the header's size: reserving it up
	// front means a file that does not fit is refused before any write.
	if err := s.scratch.reserve(s.ctx, size); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(k.name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		s.scratch.give(size)
		return nil, fmt.Errorf("scratch file: %w", err)
	}
	k.f = f
	return k, nil
}

func (k *sink) Write(p []byte) (int, error) {
	if k.gate != nil {
		k.gate.scan(p)
	}
	if k.buf != nil {
		return k.buf.Write(p)
	}
	if k.written+int64(len(p)) > k.size {
		return 0, fmt.Errorf("scratch file: more content than the %d bytes declared", k.size)
	}
	n, err := k.f.Write(p)
	k.written += int64(n)
	k.store.disk += int64(n)
	k.store.scratch.wrote(int64(n))
	return n, err
}

// finish returns the kept blob, or nil when the gate said no.
func (k *sink) finish() (*blob, error) {
	if k.buf != nil {
		return &blob{data: k.buf.Bytes(), size: int64(k.buf.Len()), refs: 1}, nil
	}
	err := k.f.Close()
	if err == nil && k.gate != nil && !k.gate.found {
		err = errNotKept
	}
	if err != nil {
		_ = os.Remove(k.name)
		k.store.scratch.give(k.size)
		if errors.Is(err, errNotKept) {
			return nil, nil
		}
		return nil, err
	}
	return &blob{file: k.name, size: k.written, reserved: k.size, refs: 1}, nil
}

// abort drops a partly written file.
func (k *sink) abort() {
	if k.buf != nil {
		k.store.mem -= k.size
		return
	}
	_ = k.f.Close()
	_ = os.Remove(k.name)
	k.store.scratch.give(k.size)
}

var errNotKept = errors.New("not kept")

func (s *blobStore) release(b *blob) {
	b.refs--
	if b.refs > 0 {
		return
	}
	if b.data != nil {
		s.mem -= b.size
		b.data = nil
		return
	}
	if b.file != "" {
		_ = os.Remove(b.file)
		b.file = ""
		s.scratch.give(b.reserved)
		b.reserved = 0
	}
}

// open reads a kept blob; the result is an io.ReaderAt and io.Seeker too,
// which the Go binary and archive extractors need.
func (b *blob) open() (io.ReadSeekCloser, error) {
	if b.data != nil || b.file == "" {
		return nopCloser{bytes.NewReader(b.data)}, nil
	}
	return os.Open(b.file)
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// goMagic looks for the marker that starts a Go binary's build info
// section, across write boundaries.
type goMagic struct {
	tail, join []byte
	found      bool
}

var goBuildInfoMagic = []byte("\xff Go buildinf:")

func (g *goMagic) scan(p []byte) {
	if g.found {
		return
	}
	m := len(goBuildInfoMagic) - 1
	if len(g.tail) > 0 {
		joined := append(append(g.join[:0], g.tail...), p[:min(len(p), m)]...)
		g.join = joined
		if bytes.Contains(joined, goBuildInfoMagic) {
			g.found = true
			return
		}
	}
	if bytes.Contains(p, goBuildInfoMagic) {
		g.found = true
		return
	}
	g.tail = append(g.tail, p[len(p)-min(len(p), m):]...)
	if len(g.tail) > m {
		g.tail = append(g.tail[:0], g.tail[len(g.tail)-m:]...)
	}
}
