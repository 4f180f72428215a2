package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// TestCloseWithWriterHeld: Close returns while the one write connection is
// held by a writer that never ends, instead of waiting for it for ever (a
// stopping process must exit).
func TestCloseWithWriterHeld(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.write.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("Close waited for the held write connection")
	}
}
