package secrets

import (
	"path"
	"strings"

	"github.com/openhss/openhss/internal/pathallow"
)

// Severities, as HSS's sensitive information API spells them.
const (
	SeverityHigh   = "high"
	SeverityMedium = "medium"
	SeverityLow    = "low"
)

// highRulePrefixes are the gitleaks rule families whose secret opens an
// account outright: private keys, cloud providers, source hosting, CI,
// package registries and secret stores.
var highRulePrefixes = []string{
	"private-key", "age-secret-key", "pkcs12-file",
	"aws-", "alibaba-", "azure-", "gcp-", "yandex-", "digitalocean-", "cloudflare-", "heroku-", "flyio-",
	"scalingo-", "databricks-", "planetscale-", "okta-",
	"github-", "gitlab-", "bitbucket-", "npm-access-token", "pypi-upload-token", "rubygems-", "clojars-",
	"nuget-config-password", "jfrog-", "artifactory-", "hashicorp-tf-", "vault-", "doppler-", "pulumi-",
	"droneci-", "travisci-", "kubernetes-secret-yaml", "openshift-user-token",
	"stripe-", "square-access-token", "shopify-", "openai-", "anthropic-",
}

// lowRuleSuffixes name identifiers and public halves: worth knowing, not
// a credential on their own.
var lowRuleSuffixes = []string{"-client-id", "-public-key", "-pub-key", "-pub-api-key", "-api-id", "-access-id", "-test-api-token"}

// Severity classifies a gitleaks rule: private keys and cloud, source,
// CI and registry credentials are high; identifiers and public keys low;
// every other service token and the generic rules (generic-api-key, jwt,
// curl-auth-*) medium.
func Severity(ruleID string) string {
	for _, p := range highRulePrefixes {
		if strings.HasPrefix(ruleID, p) {
			return SeverityHigh
		}
	}
	for _, s := range lowRuleSuffixes {
		if strings.HasSuffix(ruleID, s) {
			return SeverityLow
		}
	}
	return SeverityMedium
}

var nameWords = map[string]string{
	"aws": "AWS", "gcp": "GCP", "api": "API", "id": "ID", "jwt": "JWT", "pat": "PAT", "oauth": "OAuth",
	"github": "GitHub", "gitlab": "GitLab", "npm": "npm", "pypi": "PyPI", "ca": "CA", "url": "URL",
	"yaml": "YAML", "ci": "CI", "cicd": "CI/CD", "scim": "SCIM", "ptt": "PTT", "rrt": "RRT", "pkcs12": "PKCS#12",
	"openai": "OpenAI", "sdk": "SDK", "tf": "Terraform", "ssh": "SSH", "1password": "1Password",
}

// RuleName turns a gitleaks rule id into a name for people:
// "aws-access-token" → "AWS access token".
func RuleName(ruleID string) string {
	words := strings.Split(ruleID, "-")
	for i, w := range words {
		if n, ok := nameWords[w]; ok {
			words[i] = n
		} else if i == 0 && w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, " ")
}

// skipDirs hold binaries, libraries, documentation and package-manager
// state: files a distribution or a language package manager put there,
// full of test keys and examples, read for nothing.
var skipDirs = []string{
	"bin/", "sbin/", "lib/", "lib32/", "lib64/", "libx32/",
	"usr/bin/", "usr/sbin/", "usr/lib/", "usr/lib32/", "usr/lib64/", "usr/libx32/", "usr/libexec/", "usr/include/",
	"usr/src/", "usr/share/", "usr/local/share/doc/", "usr/local/share/man/", "usr/local/include/",
	"var/lib/dpkg/", "var/lib/apt/", "var/lib/rpm/", "var/lib/yum/", "var/lib/dnf/", "var/lib/pacman/",
	"var/cache/", "var/log/apt/", "lib/apk/", "etc/apk/keys/", "usr/lib/sysimage/",
	"etc/ssl/certs/", "etc/pki/ca-trust/", "etc/pki/tls/certs/", "etc/ca-certificates/",
	"etc/apt/trusted.gpg.d/", "etc/apt/keyrings/", "etc/pki/rpm-gpg/", // public keys of package signers
	"proc/", "sys/", "dev/",
}

// skipFiles are the logs package managers write while an image is built:
// package names and versions by the thousand, the largest text files of a
// base image, and no secret of the image's own.
var skipFiles = map[string]bool{
	"var/log/dpkg.log": true, "var/log/bootstrap.log": true, "var/log/alternatives.log": true,
	"var/log/apk.log": true, "var/log/yum.log": true, "var/log/dnf.log": true, "var/log/dnf.rpm.log": true,
	"var/log/dnf.librepo.log": true, "var/log/hawkey.log": true,
}

// keepShareDirs are the few usr/share trees where applications (not the
// distribution) put their configuration.
var keepShareDirs = []string{"usr/share/nginx/", "usr/share/elasticsearch/", "usr/share/logstash/",
	"usr/share/kibana/", "usr/share/grafana/", "usr/share/jenkins/", "usr/share/tomcat", "usr/share/opensearch"}

// skipParts are directories of third-party packages wherever they are.
var skipParts = []string{"/node_modules/", "/site-packages/", "/dist-packages/", "/__pycache__/", "/.git/objects/",
	"/go/pkg/mod/", "/.cargo/registry/", "/.m2/repository/", "/.npm/_cacache/", "/.cache/pip/", "/bower_components/",
	"/vendor/bundle/", "/gems/"}

// skipExts are binary or generated formats.
var skipExts = map[string]bool{
	".so": true, ".a": true, ".o": true, ".pyc": true, ".pyo": true, ".class": true, ".jar": true, ".war": true,
	".ear": true, ".zip": true, ".gz": true, ".tgz": true, ".xz": true, ".bz2": true, ".zst": true, ".7z": true,
	".rar": true, ".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".ico": true, ".svg": true, ".bmp": true,
	".webp": true, ".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true, ".mo": true, ".gmo": true,
	".db": true, ".sqlite": true, ".wasm": true, ".node": true, ".exe": true, ".dll": true, ".deb": true, ".rpm": true,
	".apk": true, ".iso": true, ".bin": true, ".dat": true, ".pdf": true, ".mp3": true, ".mp4": true, ".whl": true,
	".egg": true, ".dylib": true, ".qm": true, ".pak": true, ".map": true,
}

// candidatePath reports whether the file at p (io/fs form) may hold
// secrets worth reading. It is asked for every file of every layer.
func candidatePath(p string) bool {
	if skipFiles[p] {
		return false
	}
	for _, d := range skipDirs {
		if strings.HasPrefix(p, d) {
			if d == "usr/share/" {
				for _, k := range keepShareDirs {
					if strings.HasPrefix(p, k) {
						return candidateName(p)
					}
				}
			}
			return false
		}
	}
	for _, part := range skipParts {
		if strings.Contains("/"+p, part) {
			return false
		}
	}
	return candidateName(p)
}

func candidateName(p string) bool {
	base := path.Base(p)
	ext := strings.ToLower(path.Ext(base))
	if skipExts[ext] {
		return false
	}
	// Versioned shared libraries: libfoo.so.1.2
	return !strings.Contains(base, ".so.")
}

// Allowlist is a set of paths never reported: HSS's sensitive-information
// file path whitelist (see pathallow.List for what an entry matches).
type Allowlist = pathallow.List

// NewAllowlist checks and normalises patterns; a leading "/" is optional.
func NewAllowlist(patterns []string) (Allowlist, error) { return pathallow.New(patterns) }
