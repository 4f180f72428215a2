package scanner

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
)

// osReleaseOrder is where os-release(5) is looked for: /etc/os-release
// first, then /usr/lib/os-release, the fallback the man page prescribes
// for systems whose /etc has none.
var osReleaseOrder = []string{"etc/os-release", "usr/lib/os-release"}

// maxOSRelease bounds what is read of one os-release file: real ones are
// a few hundred bytes.
const maxOSRelease = 64 << 10

// readOSRelease parses the image's os-release: the first of
// osReleaseOrder that resolves, inside the image root, to a kept regular
// file. A symlink is followed inside the image only (an absolute target
// starts at the image root, ".." stops there), so a link aimed at the
// host's /etc/os-release reads the image's file of that name or nothing.
// A missing, dangling, looping or non-regular /etc/os-release falls back
// to /usr/lib/os-release. Nil when neither is there.
//
// osv-scalibr's own osrelease.GetOSRelease gives up when the image has no
// /etc directory at all, which left the packages of an image with only
// /usr/lib/os-release in the bare "Linux" ecosystem.
func readOSRelease(fsys *FS) map[string]string {
	for _, p := range osReleaseOrder {
		fi, err := fsys.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		f, err := fsys.Open(p)
		if err != nil {
			continue // not kept
		}
		b, err := io.ReadAll(io.LimitReader(f, maxOSRelease))
		_ = f.Close()
		if err != nil {
			continue
		}
		return parseOSRelease(b)
	}
	return nil
}

// parseOSRelease reads os-release's KEY=value lines; values may be
// quoted with double or single quotes, as in shell.
func parseOSRelease(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxOSRelease)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" {
			continue
		}
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[k] = v
	}
	return m
}

// applyOSRelease makes an OS package's distribution the one readOSRelease
// found, before its ecosystem and PURL are derived from it: the extractors
// read os-release themselves, with osv-scalibr's stricter lookup.
func applyOSRelease(md any, osr map[string]string) {
	if osr == nil {
		return
	}
	switch m := md.(type) {
	case *dpkgmeta.Metadata:
		m.OSID, m.OSVersionCodename, m.OSVersionID = osr["ID"], osr["VERSION_CODENAME"], osr["VERSION_ID"]
	case *apkmeta.Metadata:
		m.OSID, m.OSVersionID = osr["ID"], osr["VERSION_ID"]
	case *rpmmeta.Metadata:
		m.OSName, m.OSPrettyName, m.OSID, m.OSVersionID, m.OSBuildID =
			osr["NAME"], osr["PRETTY_NAME"], osr["ID"], osr["VERSION_ID"], osr["BUILD_ID"]
	}
}
