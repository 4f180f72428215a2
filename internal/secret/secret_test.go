package secret

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvKey, "")
	b, err := LoadBox(dir, nil)
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
	b2, err := LoadBox(dir, nil)
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
	other, _ := LoadBox(t.TempDir(), nil)
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
	b, err := LoadBox(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := b.Seal("x")
	if got, _ := b.Open(s); got != "x" {
		t.Fatal(got)
	}
	t.Setenv(EnvKey, "not base64!")
	if _, err := LoadBox(t.TempDir(), nil); err == nil {
		t.Fatal("bad env key accepted")
	}
}

// TestLoadBoxChecksSealedValues: a missing key file is created only while
// nothing is sealed; once something is, a missing or wrong key (file or
// environment) is refused with a message naming what to restore.
func TestLoadBoxChecksSealedValues(t *testing.T) {
	t.Setenv(EnvKey, "")
	dir := t.TempDir()
	b, err := LoadBox(dir, nil)
	if err != nil {
		t.Fatalf("fresh data dir: %v", err)
	}
	keyPath := filepath.Join(dir, KeyFile)
	if _, err := os.Stat(keyPath); err != nil {
		t.Fatalf("fresh data dir: key not created: %v", err)
	}
	sealed, err := b.Seal("sk-of-a-credential")
	if err != nil {
		t.Fatal(err)
	}
	goodKey, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	const otherKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" // 32 zero bytes

	for _, tc := range []struct {
		name    string
		keyFile string // "" removes it
		env     string
		wantErr error
		wantMsg []string
	}{
		{"right key file", string(goodKey), "", nil, nil},
		{"key file lost", "", "", ErrKeyMissing, []string{keyPath, EnvKey, "restore"}},
		{"wrong key file", otherKey + "\n", "", ErrWrongKey, []string{keyPath, EnvKey, "restore"}},
		{"wrong env key", string(goodKey), otherKey, ErrWrongKey, []string{EnvKey, keyPath}},
		{"right env key, no file", "", strings.TrimSpace(string(goodKey)), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvKey, tc.env)
			os.Remove(keyPath)
			if tc.keyFile != "" {
				if err := os.WriteFile(keyPath, []byte(tc.keyFile), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			b, err := LoadBox(dir, sealed)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got, err := b.Open(sealed); err != nil || got != "sk-of-a-credential" {
					t.Fatalf("Open = %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("LoadBox = %v; want %v", err, tc.wantErr)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("message %q does not say %q", err, m)
				}
			}
			// A refused start leaves the key file as it was: nothing new
			// is written over what the operator must restore.
			raw, statErr := os.ReadFile(keyPath)
			if tc.keyFile == "" && !errors.Is(statErr, os.ErrNotExist) {
				t.Fatalf("a key file was created: %v", statErr)
			}
			if tc.keyFile != "" && string(raw) != tc.keyFile {
				t.Fatal("the key file was changed")
			}
		})
	}
}
