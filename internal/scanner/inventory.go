package scanner

import (
	"cmp"
	"context"
	"debug/buildinfo"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	cpb "github.com/google/osv-scalibr/binary/proto/config_go_proto"
	"github.com/google/osv-scalibr/extractor"
	"github.com/google/osv-scalibr/extractor/filesystem"
	"github.com/google/osv-scalibr/extractor/filesystem/language/golang/gobinary"
	"github.com/google/osv-scalibr/extractor/filesystem/language/java/archive"
	"github.com/google/osv-scalibr/extractor/filesystem/language/javascript/packagejson"
	"github.com/google/osv-scalibr/extractor/filesystem/language/python/wheelegg"
	"github.com/google/osv-scalibr/extractor/filesystem/os/apk"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/dpkg"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/os/rpm"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	"github.com/google/osv-scalibr/extractor/filesystem/simplefileapi"

	"github.com/openhss/openhss/internal/scanresult"
)

// softwareInventory is the built-in analyzer: osv-scalibr's extractors run
// over the kept files. It is not in Options.Analyzers: every scan has it.
type softwareInventory struct {
	extractors []filesystem.Extractor
}

// pkgType is scanresult.Package.Type for each extractor's packages.
var pkgType = map[string]string{
	dpkg.Name: "dpkg", apk.Name: "apk", rpm.Name: "rpm", gobinary.Name: "go-module",
	packagejson.Name: "npm", wheelegg.Name: "python", archive.Name: "java",
}

func newSoftwareInventory(maxFileSize int64) *softwareInventory {
	cfg := &cpb.PluginConfig{MaxFileSizeBytes: maxFileSize}
	var exs []filesystem.Extractor
	for _, mk := range []func(*cpb.PluginConfig) (filesystem.Extractor, error){
		dpkg.New, apk.New, rpm.New, gobinary.New, packagejson.New, wheelegg.New, archive.New,
	} {
		e, err := mk(cfg)
		if err != nil {
			// The constructors fail only on configs we do not pass.
			panic(fmt.Sprintf("scanner: extractor: %v", err))
		}
		exs = append(exs, e)
	}
	return &softwareInventory{extractors: exs}
}

func (*softwareInventory) Name() string { return "software" }

// osReleasePaths are kept whatever they are: os-release is usually a
// symlink into usr/lib (Debian), resolved inside the image after the walk.
var osReleasePaths = map[string]bool{"etc/os-release": true, "usr/lib/os-release": true}

// wants reports whether an extractor wants the file; gated when only the
// Go binary extractor does: it asks for every executable and shared
// library, and the walk keeps only the ones that turn out to be Go.
func (inv *softwareInventory) wants(p string, fi fs.FileInfo) (keep, gated bool) {
	if osReleasePaths[p] {
		return true, false
	}
	api := simplefileapi.New(p, fi)
	for _, e := range inv.extractors {
		if e.FileRequired(api) {
			if e.Name() != gobinary.Name {
				return true, false
			}
			keep, gated = true, true
		}
	}
	return keep, gated
}

func (inv *softwareInventory) Wants(p string, fi fs.FileInfo) bool {
	keep, _ := inv.wants(p, fi)
	return keep
}

// Analyze reads os-release (see readOSRelease) and runs every extractor
// on each kept file it wants. A file an extractor cannot parse is logged
// and skipped, as scalibr does; only a cancelled context ends the
// analysis.
func (inv *softwareInventory) Analyze(ctx context.Context, im *Image, r *Report) error {
	osr := readOSRelease(im.FS)
	if osr != nil {
		r.OSID, r.OSVersion, r.OSName = osr["ID"], osr["VERSION_ID"], osr["PRETTY_NAME"]
	}
	var pkgs []scanresult.Package
	err := im.FS.Walk(func(e *Entry, _ bool) error {
		if e.Type != TypeRegular && e.Type != TypeSymlink {
			return nil
		}
		// Stat follows a symlink inside the image: extractors see what a
		// process in the container would read at that path.
		fi, err := im.FS.Stat(e.Path)
		if err != nil || !fi.Mode().IsRegular() {
			return nil
		}
		api := simplefileapi.New(e.Path, fi)
		var target *simplefileapi.SimpleFileAPI
		if e.Type == TypeSymlink {
			_, physical, err := im.FS.t.resolve(e.Path, true, false, -1)
			if err != nil {
				return nil
			}
			target = simplefileapi.New(physical, fi)
		}
		for _, ex := range inv.extractors {
			if !ex.FileRequired(api) {
				continue
			}
			if target != nil && ex.FileRequired(target) {
				continue // the file it points to is visited under its own path
			}
			found, err := inv.extract(ctx, im, ex, e, fi, osr)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				continue
			}
			pkgs = append(pkgs, found...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortStableFunc(pkgs, func(a, b scanresult.Package) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version))
	})
	r.Packages = append(r.Packages, pkgs...)
	return nil
}

func (inv *softwareInventory) extract(ctx context.Context, im *Image, ex filesystem.Extractor, e *Entry, fi fs.FileInfo, osr map[string]string) ([]scanresult.Package, error) {
	f, err := im.FS.Open(e.Path)
	if err != nil {
		return nil, nil // not kept (over the size cap, or a symlink to something not kept)
	}
	defer f.Close()
	in := &filesystem.ScanInput{FS: im.FS, Path: e.Path, Info: fi, Reader: f}
	if ex.Name() == rpm.Name {
		// The rpm database is opened by path (SQLite, BerkeleyDB): give it
		// the kept copy in the scratch directory rather than let scalibr
		// copy it to the host's temporary directory.
		real, err := im.FS.materialize(e.Path)
		if err != nil {
			return nil, err
		}
		in.Root, in.Path = filepath.Dir(real), filepath.Base(real)
	}
	invent, err := ex.Extract(ctx, in)
	if err != nil {
		return nil, err
	}
	var layer string
	if n := im.FS.t.lookup(e.Path); n != nil {
		layer = im.LayerDigest(&n.Entry)
	}
	var platform string
	if ex.Name() == gobinary.Name && len(invent.Packages) > 0 {
		platform = goPlatform(f)
	}
	out := make([]scanresult.Package, 0, len(invent.Packages))
	for _, p := range invent.Packages {
		if p == nil || p.Name == "" {
			continue
		}
		applyOSRelease(p.Metadata, osr)
		pkg := toPackage(ex.Name(), p, "/"+e.Path, layer)
		pkg.Platform = platform
		out = append(out, pkg)
	}
	return out, nil
}

// goPlatform reads "GOOS/GOARCH" from the build information of the Go
// binary f; empty when it is not recorded. The extractor has already
// parsed it, but does not hand it out: reading it again in place (f is an
// io.ReaderAt over the kept copy) only reads the binary's headers and
// build-info section, never the whole file.
func goPlatform(f fs.File) string {
	ra, ok := f.(io.ReaderAt)
	if !ok {
		return ""
	}
	bi, err := buildinfo.Read(ra)
	if err != nil {
		return ""
	}
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos == "" && goarch == "" {
		return ""
	}
	return goos + "/" + goarch
}

func toPackage(extractorName string, p *extractor.Package, filePath, layer string) scanresult.Package {
	pkg := scanresult.Package{
		Name:        p.Name,
		Version:     p.Version,
		Ecosystem:   scanresult.NormalizeEcosystem(p.Ecosystem().String()),
		Type:        pkgType[extractorName],
		Path:        filePath,
		LayerDigest: layer,
	}
	if u := p.PURL(); u != nil {
		pkg.PURL = u.String()
	}
	switch m := p.Metadata.(type) {
	case *dpkgmeta.Metadata:
		pkg.SourceName, pkg.SourceVersion = m.SourceName, m.SourceVersion
	case *apkmeta.Metadata:
		// Alpine's records name the origin (source) package.
		if m.OriginName != "" && m.OriginName != p.Name {
			pkg.SourceName = m.OriginName
		}
	case *rpmmeta.Metadata:
		// Red Hat-family records name binary packages; the source rpm is
		// kept only as information in the PURL.
	}
	if extractorName == gobinary.Name {
		pkg.Ecosystem = "Go"
		if p.Name == "go" {
			// The toolchain that built the binary: OSV's Go records call
			// it stdlib.
			pkg.Name, pkg.Type = "stdlib", "go-stdlib"
		}
	}
	return pkg
}

// materialize returns a host path holding the kept content of p, inside
// the scan's scratch directory.
func (f *FS) materialize(p string) (string, error) {
	n, _, err := f.t.resolve(p, true, false, -1)
	if err != nil || n.blob == nil {
		return "", fs.ErrNotExist
	}
	if n.blob.file != "" {
		return n.blob.file, nil
	}
	bs := f.t.blobs
	bs.seq++
	name := filepath.Join(bs.dir, fmt.Sprintf("%d", bs.seq))
	if err := os.WriteFile(name, n.blob.data, 0o600); err != nil {
		return "", err
	}
	bs.mem -= n.blob.size
	n.blob.data, n.blob.file = nil, name
	return name, nil
}
