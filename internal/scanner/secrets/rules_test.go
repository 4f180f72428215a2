package secrets

import (
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"ghp_" + strings.Repeat("a", 36), "ghp_…(40 chars)"},
		{"abcdefgh", "ab…(8 chars)"},
		{"abc", "…(3 chars)"},
		{"", "…(0 chars)"},
		{"a\nbcdefghijklmnop", "a?bc…(17 chars)"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
			"-----BEGIN OPENSSH PRIVATE KEY-----…(94 chars)"},
		{"-----BEGIN " + strings.Repeat("X", 100), "----…(111 chars)"},
	} {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%d chars) = %q, want %q", len(tt.in), got, tt.want)
		}
	}
}

func TestAllowlist(t *testing.T) {
	a, err := NewAllowlist([]string{"/etc/ssl/private", "srv/app/test.pem", "/opt/*/fixtures", "/home/*/.ssh/id_*", " "})
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]bool{
		"etc/ssl/private/server.key":   true,
		"/etc/ssl/private/server.key":  true,
		"etc/ssl/private":              true,
		"etc/ssl/privatekeys/x":        false,
		"srv/app/test.pem":             true,
		"srv/app/test.pem.bak":         false,
		"opt/app/fixtures/keys/id_rsa": true,
		"opt/fixtures/x":               false,
		"home/bob/.ssh/id_rsa":         true,
		"home/bob/.ssh/config":         false,
	} {
		if got := a.Match(p); got != want {
			t.Errorf("Match(%q) = %v", p, got)
		}
	}
	empty, _ := NewAllowlist(nil)
	if !empty.Empty() || empty.Match("etc/x") {
		t.Errorf("empty allowlist matches")
	}
}

func TestCandidatePath(t *testing.T) {
	for p, want := range map[string]bool{
		"etc/app/config.yaml":                         true,
		"root/.aws/credentials":                       true,
		"home/app/.env":                               true,
		"usr/local/bin/deploy.sh":                     true,
		"usr/share/nginx/html/config.js":              true,
		"opt/app/settings.py":                         true,
		"usr/bin/ls":                                  false,
		"usr/lib/x86_64-linux-gnu/libc.so.6":          false,
		"usr/share/doc/bash/README":                   false,
		"var/lib/dpkg/status":                         false,
		"lib/apk/db/installed":                        false,
		"usr/local/lib/python3.12/site-packages/x.py": false,
		"app/node_modules/pkg/index.js":               false,
		"opt/app/lib/libfoo.so.1.2":                   false,
		"opt/app/logo.png":                            false,
		"root/go/pkg/mod/example.com/m@v1/key.pem":    false,
		"etc/ssl/certs/ca-certificates.crt":           false,
		"etc/ssl/private/server.key":                  true,
		"var/log/dpkg.log":                            false,
		"var/log/app/server.log":                      true,
		"etc/apt/trusted.gpg.d/debian.asc":            false,
	} {
		if got := candidatePath(p); got != want {
			t.Errorf("candidatePath(%q) = %v", p, got)
		}
	}
}

func TestSeverityAndName(t *testing.T) {
	for _, tt := range []struct{ id, sev, name string }{
		{"private-key", SeverityHigh, "Private key"},
		{"aws-access-token", SeverityHigh, "AWS access token"},
		{"github-pat", SeverityHigh, "GitHub PAT"},
		{"gcp-api-key", SeverityHigh, "GCP API key"},
		{"generic-api-key", SeverityMedium, "Generic API key"},
		{"jwt", SeverityMedium, "JWT"},
		{"slack-webhook-url", SeverityMedium, "Slack webhook URL"},
		{"linkedin-client-id", SeverityLow, "Linkedin client ID"},
		{"flutterwave-public-key", SeverityLow, "Flutterwave public key"},
	} {
		if sev, name := Severity(tt.id), RuleName(tt.id); sev != tt.sev || name != tt.name {
			t.Errorf("%s: %q %q, want %q %q", tt.id, sev, name, tt.sev, tt.name)
		}
	}
}

func TestPublicKeysOnly(t *testing.T) {
	cert := "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
	pgp := "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: archive key\n\nmQINBGPL0BUBEAC\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"
	priv := "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n"
	for _, c := range []struct {
		name string
		body string
		want bool
	}{
		{"certificate", cert, true},
		{"CA bundle", cert + "\n" + cert, true},
		{"keyring", pgp, true},
		{"keyring and certificate", pgp + cert, true},
		{"private key", priv, false},
		{"certificate then private key", cert + priv, false},
		{"certificate then a token", cert + "GITHUB_TOKEN=ghp_x\n", false},
		{"text before the certificate", "# bundle\n" + cert, false},
		{"unterminated", "-----BEGIN CERTIFICATE-----\nMIIB\n", false},
		{"PGP private key", strings.ReplaceAll(pgp, "PUBLIC", "PRIVATE"), false},
		{"empty", "  \n", false},
	} {
		if got := publicKeysOnly([]byte(c.body)); got != c.want {
			t.Errorf("%s: publicKeysOnly = %v, want %v", c.name, got, c.want)
		}
	}
}
