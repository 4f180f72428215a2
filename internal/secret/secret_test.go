package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvKey, "")
	b, err := LoadBox(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []string{"", "s3cret", "ünïcode pässwörd"} {
		sealed, err := b.Seal(plain)
		if err != nil {
			t.Fatal(err)
		}
		if plain != "" && bytes.Contains(sealed, []byte(plain)) {
			t.Fatalf("sealed value contains the plain text")
		}
		got, err := b.Open(sealed)
		if err != nil || got != plain {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
	// The key persists: a second load opens what the first sealed.
	sealed, _ := b.Seal("again")
	b2, err := LoadBox(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b2.Open(sealed); err != nil || got != "again" {
		t.Fatalf("reloaded box: %q, %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", fi, err)
	}
	// Another key cannot open it, and tampering is detected.
	other, _ := LoadBox(t.TempDir())
	if _, err := other.Open(sealed); err == nil {
		t.Fatal("another key opened the value")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed); err == nil {
		t.Fatal("tampered value opened")
	}
}

func TestEnvKey(t *testing.T) {
	t.Setenv(EnvKey, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	b, err := LoadBox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := b.Seal("x")
	if got, _ := b.Open(s); got != "x" {
		t.Fatal(got)
	}
	t.Setenv(EnvKey, "not base64!")
	if _, err := LoadBox(t.TempDir()); err == nil {
		t.Fatal("bad env key accepted")
	}
}
