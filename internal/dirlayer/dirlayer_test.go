package dirlayer_test

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/openhss/openhss/internal/dirlayer"
)

func TestWriteKeepsWhatAnImageNeeds(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755))
	must(os.Mkdir(filepath.Join(dir, "root"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "usr/bin/su"), []byte("#!/bin/true\n"), 0o755))
	must(os.Chmod(filepath.Join(dir, "usr/bin/su"), 0o755|os.ModeSetuid))
	must(os.WriteFile(filepath.Join(dir, "usr/bin/perl"), []byte("perl"), 0o755))
	must(os.Link(filepath.Join(dir, "usr/bin/perl"), filepath.Join(dir, "usr/bin/perl5.36")))
	must(os.Symlink("usr/bin", filepath.Join(dir, "bin")))
	must(syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	must(os.Lchown(filepath.Join(dir, "usr/bin/perl"), 12, 34))

	var buf bytes.Buffer
	st, err := dirlayer.Write(&buf, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*tar.Header{}
	bodies := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name], bodies[h.Name] = h, string(b)
	}
	tests := []struct {
		name     string
		typ      byte
		mode     int64
		linkname string
		body     string
		uid, gid int
	}{
		{name: "bin", typ: tar.TypeSymlink, mode: 0o777, linkname: "usr/bin"},
		{name: "root/", typ: tar.TypeDir, mode: 0o700},
		{name: "usr/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: "usr/bin/perl", typ: tar.TypeReg, mode: 0o755, body: "perl", uid: 12, gid: 34},
		{name: "usr/bin/perl5.36", typ: tar.TypeLink, mode: 0o755, linkname: "usr/bin/perl", uid: 12, gid: 34},
		{name: "usr/bin/su", typ: tar.TypeReg, mode: 0o4755, body: "#!/bin/true\n"},
	}
	for _, tc := range tests {
		h, ok := got[tc.name]
		if !ok {
			t.Errorf("%s: missing from the stream (have %v)", tc.name, keys(got))
			continue
		}
		if h.Typeflag != tc.typ || h.Mode != tc.mode || h.Linkname != tc.linkname || bodies[tc.name] != tc.body ||
			h.Uid != tc.uid || h.Gid != tc.gid {
			t.Errorf("%s: type %q mode %o link %q body %q uid/gid %d/%d; want %q %o %q %q %d/%d", tc.name,
				h.Typeflag, h.Mode, h.Linkname, bodies[tc.name], h.Uid, h.Gid, tc.typ, tc.mode, tc.linkname, tc.body, tc.uid, tc.gid)
		}
	}
	if _, ok := got["fifo"]; ok || st.Skipped != 1 {
		t.Errorf("the FIFO must be left out and counted: in stream %v, skipped %d", ok, st.Skipped)
	}
	if len(got) != len(tests) {
		t.Errorf("stream has %d entries %v, want %d", len(got), keys(got), len(tests))
	}
	if st.Files != 2 || st.Hardlinks != 1 || st.Symlinks != 1 || st.Dirs != 3 || st.Bytes != int64(len("perl")+len("#!/bin/true\n")) {
		t.Errorf("stats %+v", st)
	}
}

func TestLayerIsAValidCompressedLayer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello"), []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, _, err := dirlayer.Layer(filepath.Join(t.TempDir(), "layer.tar.gz"), dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	diff, err := l.DiffID()
	if err != nil {
		t.Fatal(err)
	}
	if d == diff {
		t.Fatalf("digest equals diff id %s: the layer file is not compressed", d)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h, err := tar.NewReader(rc).Next()
	if err != nil || h.Name != "hello" || h.Size != 2 {
		t.Fatalf("first entry %+v, %v; want hello of 2 bytes", h, err)
	}
}

func keys(m map[string]*tar.Header) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
