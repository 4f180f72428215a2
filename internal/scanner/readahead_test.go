package scanner

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

func TestReadahead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB: several blocks and a short last one
	boom := errors.New("boom")
	cases := []struct {
		name    string
		src     io.Reader
		want    []byte
		wantErr error
	}{
		{"empty", bytes.NewReader(nil), nil, nil},
		{"whole", bytes.NewReader(data), data, nil},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data[:3000])), data[:3000], nil},
		{"error after data", io.MultiReader(bytes.NewReader(data[:700_000]), iotest.ErrReader(boom)), data[:700_000], boom},
		{"error at once", iotest.ErrReader(boom), nil, boom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newReadahead(c.src)
			defer r.stop()
			got, err := io.ReadAll(iotest.HalfReader(r))
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if !bytes.Equal(got, c.want) {
				t.Fatalf("read %d bytes, want %d (equal prefix: %v)", len(got), len(c.want), bytes.HasPrefix(c.want, got))
			}
			r.stop()
			if c.wantErr != nil && !errors.Is(r.srcErr, c.wantErr) {
				t.Fatalf("srcErr = %v, want %v", r.srcErr, c.wantErr)
			}
		})
	}
}

// A reader that stops early must be able to stop the producer, which then
// leaves the source alone: the walk reads the rest of the blob itself.
func TestReadaheadStopEarly(t *testing.T) {
	src := bytes.NewReader(bytes.Repeat([]byte{'x'}, 10<<20))
	r := newReadahead(src)
	buf := make([]byte, 100)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	r.stop()
	r.stop() // twice is fine
	rest, err := io.Copy(io.Discard, src)
	if err != nil {
		t.Fatal(err)
	}
	ahead := int64(10<<20) - rest
	if ahead > (readaheadBlocks+1)*readaheadBlockSize {
		t.Fatalf("producer read %d bytes ahead, more than its %d blocks", ahead, readaheadBlocks)
	}
	if _, err := r.Read(buf); err == nil {
		// Blocks already read ahead may still be handed out; the reader
		// must end, not hang, once they are gone.
		for err == nil {
			_, err = r.Read(buf)
		}
	}
}
