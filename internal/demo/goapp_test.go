package demo

import (
	"bytes"
	"context"
	"debug/buildinfo"
	"testing"
)

func TestBuildVulnerableGoApp(t *testing.T) {
	dir := t.TempDir()
	b, err := BuildVulnerableGoApp(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := buildinfo.Read(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range info.Deps {
		if d.Path == "golang.org/x/text" && d.Version == "v0.3.7" {
			found = true
		}
	}
	if !found {
		t.Fatalf("binary deps = %v, want golang.org/x/text v0.3.7", info.Deps)
	}
	// The second call is served from the cache.
	b2, err := BuildVulnerableGoApp(context.Background(), dir)
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("cached build differs (%v)", err)
	}
}
