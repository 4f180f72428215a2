// Package secret seals values that openhss must keep at rest but read back in
// clear (AK/SK secret keys, registry passwords) with AES-256-GCM under a
// master key that never enters the database.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the master key's file name inside the data directory.
const KeyFile = "master.key"

// EnvKey names the environment variable that overrides the key file: a
// base64-encoded 32-byte key.
const EnvKey = "OPENHSS_MASTER_KEY"

// version prefixes every sealed value so the format can change later.
const version byte = 1

// Box seals and opens values with one master key.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret: master key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Box{aead: aead}, nil
}

// Errors of LoadBox when the database already holds sealed values: a new
// key could not open them, so openhss refuses to start rather than answer
// every AK/SK request and registry sync with an error.
var (
	ErrKeyMissing = errors.New("master key missing")
	ErrWrongKey   = errors.New("wrong master key")
)

// sealedValues names what a master key protects, for the messages above.
const sealedValues = "the AK/SK secret keys and registry passwords the database holds"

// LoadBox returns the Box of a data directory: the key from $OPENHSS_MASTER_KEY
// when set, else from dataDir/master.key. sealed is one value the database
// holds sealed (AnySealedSecret), nil when it holds none: the key must open
// it, and only then may a missing key file be created (mode 0600), as on a
// fresh data directory.
func LoadBox(dataDir string, sealed []byte) (*Box, error) {
	path := filepath.Join(dataDir, KeyFile)
	if v := strings.TrimSpace(os.Getenv(EnvKey)); v != "" {
		key, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("secret: %s is not base64: %w", EnvKey, err)
		}
		b, err := NewBox(key)
		if err != nil {
			return nil, err
		}
		if !b.opens(sealed) {
			return nil, fmt.Errorf("secret: %w: %s cannot open %s: set it to the key they were sealed with, or unset it to use %s",
				ErrWrongKey, EnvKey, sealedValues, path)
		}
		return b, nil
	}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if sealed != nil {
			return nil, fmt.Errorf("secret: %w: %s does not exist, and a new key could not open %s: restore that file from a backup, or set %s to the base64 key they were sealed with",
				ErrKeyMissing, path, sealedValues, EnvKey)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		enc := base64.StdEncoding.EncodeToString(key) + "\n"
		// O_EXCL: two processes starting on a fresh data dir must not
		// overwrite each other's key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadBox(dataDir, sealed)
		}
		if err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		if _, err := f.WriteString(enc); err != nil {
			f.Close()
			return nil, fmt.Errorf("secret: write %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("secret: write %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("secret: %w", err)
		}
		return NewBox(key)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("secret: %s is not base64: %w", path, err)
	}
	b, err := NewBox(key)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	if !b.opens(sealed) {
		return nil, fmt.Errorf("secret: %w: %s cannot open %s: restore the %s they were sealed with from a backup, or set %s to that key",
			ErrWrongKey, path, sealedValues, KeyFile, EnvKey)
	}
	return b, nil
}

// opens reports whether b opens sealed; nothing sealed opens trivially.
func (b *Box) opens(sealed []byte) bool {
	if len(sealed) == 0 {
		return true
	}
	_, err := b.Open(sealed)
	return err == nil
}

// Seal encrypts plain. An empty value seals to nil, so "no password" stays
// distinguishable without decrypting.
func (b *Box) Seal(plain string) ([]byte, error) {
	if plain == "" {
		return nil, nil
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	out := append([]byte{version}, nonce...)
	return b.aead.Seal(out, nonce, []byte(plain), []byte{version}), nil
}

// Open decrypts a value made by Seal.
func (b *Box) Open(sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	ns := b.aead.NonceSize()
	if sealed[0] != version || len(sealed) < 1+ns {
		return "", errors.New("secret: unknown sealed format")
	}
	plain, err := b.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], []byte{version})
	if err != nil {
		return "", errors.New("secret: cannot open value (wrong master key?)")
	}
	return string(plain), nil
}
