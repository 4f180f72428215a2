package scanresult

import (
	"regexp"
	"strings"
)

// Ecosystem names are part of the scan vocabulary: the scanner writes them
// on every Package and the matcher indexes records by them, so both read
// them from here (the scanner does not depend on the matcher for them).

// canonicalEcosystems maps lower-cased spellings to OSV's spelling.
var canonicalEcosystems = map[string]string{
	"almalinux": "AlmaLinux", "alpaquita": "Alpaquita", "alpine": "Alpine", "android": "Android",
	"bitnami": "Bitnami", "chainguard": "Chainguard", "conancenter": "ConanCenter", "cran": "CRAN",
	"crates.io": "crates.io", "cargo": "crates.io", "debian": "Debian", "github actions": "GitHub Actions",
	"go": "Go", "golang": "Go", "hackage": "Hackage", "hex": "Hex", "linux": "Linux", "mageia": "Mageia",
	"maven": "Maven", "minimos": "MinimOS", "npm": "npm", "nuget": "NuGet", "openeuler": "openEuler",
	"opensuse": "openSUSE", "oss-fuzz": "OSS-Fuzz", "packagist": "Packagist", "pub": "Pub",
	"pypi": "PyPI", "python": "PyPI", "red hat": "Red Hat", "redhat": "Red Hat", "rocky linux": "Rocky Linux",
	"rubygems": "RubyGems", "suse": "SUSE", "swifturl": "SwiftURL", "ubuntu": "Ubuntu", "wolfi": "Wolfi",
}

var debianCodenames = map[string]string{
	"jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "forky": "14",
}

var ubuntuCodenames = map[string]string{
	"xenial": "16.04", "bionic": "18.04", "focal": "20.04", "jammy": "22.04", "mantic": "23.10",
	"noble": "24.04", "oracular": "24.10", "plucky": "25.04", "questing": "25.10",
}

var majorMinor = regexp.MustCompile(`^(\d+)\.(\d+)`)

// NormalizeEcosystem turns an OSV ecosystem string, or a detector's
// spelling of one, into the form records are indexed by, so that a package
// and a record of the same distribution release meet:
//   - the base name takes OSV's spelling ("pypi" → "PyPI");
//   - Debian releases become the major number ("Debian:12.5", "Debian:bookworm" → "Debian:12");
//   - Alpine releases become "v" + major.minor ("Alpine:3.20.3", "Alpine:v3.20" → "Alpine:v3.20");
//   - Ubuntu drops ":LTS" and point releases ("Ubuntu:24.04:LTS", "Ubuntu:24.04.1", "Ubuntu:noble" →
//     "Ubuntu:24.04"), keeping "Pro:" so that Ubuntu Pro records only meet Pro systems;
//   - anything else keeps its suffix as given.
//
// A package without a release meets only records without one.
func NormalizeEcosystem(eco string) string {
	eco = strings.TrimSpace(eco)
	base, release, _ := strings.Cut(eco, ":")
	if c, ok := canonicalEcosystems[strings.ToLower(base)]; ok {
		base = c
	}
	release = strings.TrimSpace(release)
	if release == "" {
		return base
	}
	switch base {
	case "Debian":
		if n, ok := debianCodenames[strings.ToLower(release)]; ok {
			release = n
		} else {
			release, _, _ = strings.Cut(release, ".")
		}
	case "Alpine":
		r := strings.TrimPrefix(strings.ToLower(release), "v")
		if m := majorMinor.FindStringSubmatch(r); m != nil {
			release = "v" + m[1] + "." + m[2]
		} else {
			release = r // "edge"
		}
	case "Ubuntu":
		pro := false
		if rest, ok := strings.CutPrefix(release, "Pro:"); ok {
			pro, release = true, rest
		}
		release = strings.TrimSuffix(release, ":LTS")
		if n, ok := ubuntuCodenames[strings.ToLower(release)]; ok {
			release = n
		} else if m := majorMinor.FindStringSubmatch(release); m != nil {
			release = m[1] + "." + m[2]
		}
		if pro {
			release = "Pro:" + release
		}
	}
	return base + ":" + release
}
