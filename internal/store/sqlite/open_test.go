package sqlite

import (
	"path/filepath"
	"runtime"
	"testing"
)

// Open has every connection of the read pool parse the schema before the
// first request (loadSchema); the pool must then hold all of them, open
// and idle, or a request would still open, and pay for, a new one.
func TestOpenLoadsReadPool(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	want := max(4, runtime.NumCPU())
	st := s.read.Stats()
	if st.OpenConnections != want || st.Idle != want {
		t.Fatalf("read pool after Open: %d open, %d idle; want %d of each", st.OpenConnections, st.Idle, want)
	}
}
