package vulndb

import (
	"regexp"
	"strings"

	"github.com/openhss/openhss/internal/scanresult"
)

// Key is what the store indexes records by: a normalised ecosystem and a
// normalised package name (see scanresult.NormalizeEcosystem and
// normalizeName).
type Key struct {
	Ecosystem string
	Name      string
}

// KeyFor returns the index key of a package of an OSV ecosystem.
func KeyFor(ecosystem, name string) Key {
	eco := scanresult.NormalizeEcosystem(ecosystem)
	return Key{Ecosystem: eco, Name: normalizeName(eco, name)}
}

var pypiSeparators = regexp.MustCompile(`[-_.]+`)

// normalizeName applies the ecosystem's own name equivalence: PyPI names
// compare by PEP 503 normalisation; every other ecosystem compares exactly.
func normalizeName(eco, name string) string {
	name = strings.TrimSpace(name)
	if eco == "PyPI" {
		return strings.ToLower(pypiSeparators.ReplaceAllString(name, "-"))
	}
	return name
}

// ecosystemBase is the part before the first ':' ("Debian:12" → "Debian").
func ecosystemBase(eco string) string {
	base, _, _ := strings.Cut(eco, ":")
	return base
}
