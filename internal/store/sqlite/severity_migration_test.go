package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

// TestSeverityLevelBackfill: results saved before migration 00800 get
// their severity_level from the stored findings when it runs.
func TestSeverityLevelBackfill(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "openhss.db"))
	defer s.Close()
	if _, err := s.EnsureProject(ctx, inventory.Project{ID: "p1"}); err != nil {
		t.Fatal(err)
	}
	reg, err := s.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", EnterpriseProjectID: "0", Name: "r",
		Type: inventory.Harbor, Protocol: "https", Addr: "r.example"})
	if err != nil {
		t.Fatal(err)
	}
	const high, clean, unscanned = "sha256:aa", "sha256:bb", "sha256:cc"
	var ms []inventory.Manifest
	var tags []inventory.TagRef
	for i, d := range []string{high, clean, unscanned} {
		ms = append(ms, inventory.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 1, Created: 1, Scannable: true})
		tags = append(tags, inventory.TagRef{Tag: string(rune('a' + i)), Digest: d, ManifestDigest: d})
	}
	if _, err := s.ApplySync(ctx, inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1, Manifests: ms,
		Repositories: []inventory.RepoSnapshot{{Namespace: "ns", Name: "app", Tags: tags}}}); err != nil {
		t.Fatal(err)
	}
	pkgs := []scanresult.Package{{Name: "x", Version: "1", Ecosystem: "Go", Type: "go-module"}}
	for d, fs := range map[string][]scanresult.Finding{
		high:  {{Package: 0, VulnID: "GO-1", RepairNecessity: "delay_repair"}, {Package: 0, VulnID: "GO-2", RepairNecessity: "immediate_repair"}},
		clean: nil,
	} {
		if err := s.SaveScan(ctx, scanresult.SBOM{Digest: d, Packages: pkgs}, fs,
			inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5, VulNum: scanresult.DistinctVulns(fs)}); err != nil {
			t.Fatal(err)
		}
	}

	// Back to the schema before 00800, then forward again.
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.write, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 799); err != nil {
		t.Fatalf("down: %v", err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatalf("up: %v", err)
	}

	want := map[string]string{high: scanresult.LevelHigh, clean: scanresult.LevelSecurity, unscanned: ""}
	for d, level := range want {
		var m, i string
		if err := s.write.QueryRowContext(ctx, `SELECT coalesce((SELECT severity_level FROM manifests WHERE digest = ?), ''),
			(SELECT severity_level FROM images WHERE manifest_digest = ?)`, d, d).Scan(&m, &i); err != nil {
			t.Fatal(err)
		}
		if m != level || i != level {
			t.Errorf("%s: manifest %q, row %q, want %q", d, m, i, level)
		}
	}
}
