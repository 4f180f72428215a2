package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/secret"
)

// TestLostMasterKeyRefusesStart: once a credential is sealed under the data
// directory's master key, losing or replacing the key stops every stateful
// command, serve included, with a message naming the file and the
// environment variable to restore; a new key is never made in its place.
func TestLostMasterKeyRefusesStart(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	data := t.TempDir()
	g := []string{"--data", data, "--log-level", "error"}
	keyPath := filepath.Join(data, secret.KeyFile)

	// A fresh data directory gets its key.
	if _, err := run(t, "", append([]string{"credential", "list"}, g...)...); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatalf("fresh data dir: %v", err)
	}
	if _, err := run(t, "", append([]string{"credential", "create", "--project", "p1", "--enterprise-projects", "all"}, g...)...); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		key  []byte // nil: the file is gone
		args []string
		want string
	}{
		{"lost key, credential list", nil, []string{"credential", "list"}, "master key missing"},
		{"lost key, serve", nil, []string{"serve", "--listen", "127.0.0.1:0"}, "master key missing"},
		{"wrong key, serve", []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), []string{"serve", "--listen", "127.0.0.1:0"}, "wrong master key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.Remove(keyPath)
			if tc.key != nil {
				if err := os.WriteFile(keyPath, tc.key, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := run(t, "", append(tc.args, g...)...)
			if err == nil {
				t.Fatal("started without the key the credentials were sealed with")
			}
			for _, w := range []string{tc.want, keyPath, secret.EnvKey} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, statErr := os.Stat(keyPath); tc.key == nil && statErr == nil {
				t.Fatal("a new master key was created")
			}
		})
	}

	// Restoring the key restores service.
	if err := os.WriteFile(keyPath, good, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, "", append([]string{"credential", "list"}, g...)...); err != nil || !strings.Contains(out, "p1") {
		t.Fatalf("after restoring the key: %v\n%s", err, out)
	}
}
