package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
	"github.com/openhss/openhss/internal/secret"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// downloadGoVulnDB returns the data/osv directory of the pinned
// golang.org/x/vulndb module, through the module proxy.
func downloadGoVulnDB(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", "golang.org/x/vulndb@"+goVulnDBVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download golang.org/x/vulndb: %w", err)
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil {
		return "", err
	}
	return filepath.Join(info.Dir, "data", "osv"), nil
}

// prepare finds (or installs) the reference tools, downloads the Go
// vulnerability database and builds the Go binaries; the tools' notes go
// into rep.
func (b *scanBench) prepare(ctx context.Context, rep *scanReport) (scanInputs, error) {
	in := scanInputs{debianData: filepath.Join(b.o.VulnData, "debian-12")}
	in.syft, rep.Syft = prepareTool(ctx, b.o.CacheDir, syftTool(b.o), b.progress)
	in.trivy, rep.Trivy = prepareTool(ctx, b.o.CacheDir, trivyTool(b.o), b.progress)
	b.progress("Go vulnerability database %s", goVulnDBVersion)
	var err error
	if in.goVulns, err = downloadGoVulnDB(ctx); err != nil {
		return in, err
	}
	b.progress("building %d Go binaries with %s", b.o.GoBinaries, strings.Join(oldGoDeps, ", "))
	in.bins, err = buildGoBinaries(ctx, filepath.Join(b.o.CacheDir, "gobins"), b.o.GoBinaries)
	return in, err
}

// scanStore is the benchmark's store, synced with the registry, and what a
// scan of it needs: the master key, and the network policy that lets the
// scanner reach the loopback registry.
type scanStore struct {
	st      *sqlite.Store
	dbPath  string
	vdb     *vulndb.DB
	key     []byte
	box     *secret.Box
	policy  *netpolicy.Policy
	regHost string
}

// openStore creates the store in the work directory, imports the
// vulnerability data (the Go database twice: empty store, then a
// re-import; then Debian 12) into rep.Import, and syncs a connection to the
// registry at addr. The caller closes env.st.
func (b *scanBench) openStore(ctx context.Context, addr string, in scanInputs, rep *scanReport) (env *scanStore, err error) {
	env = &scanStore{dbPath: filepath.Join(b.dir, "openhss.db")}
	if env.st, err = sqlite.Open(ctx, env.dbPath); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			env.st.Close()
		}
	}()
	quiet := slog.New(slog.DiscardHandler)
	if env.vdb, err = vulndb.New(vulndb.Options{Store: env.st, Logger: quiet, TempDir: b.dir}); err != nil {
		return nil, err
	}
	for _, src := range []string{in.goVulns, in.goVulns, in.debianData} {
		b.progress("db import %s", src)
		start := time.Now()
		res, err := env.vdb.Import(ctx, src)
		if err != nil {
			return nil, err
		}
		rep.Import = append(rep.Import, importResult{Source: src, Records: res.Records, Written: res.Written, Seconds: time.Since(start).Seconds()})
	}
	env.key = make([]byte, 32)
	if _, err := rand.Read(env.key); err != nil {
		return nil, err
	}
	if env.box, err = secret.NewBox(env.key); err != nil {
		return nil, err
	}
	if err := b.syncRegistry(ctx, env, addr); err != nil {
		return nil, err
	}
	return env, nil
}

// syncRegistry adds the bench project and a connection to the registry at
// addr, and syncs it.
func (b *scanBench) syncRegistry(ctx context.Context, env *scanStore, addr string) error {
	if _, err := env.st.EnsureProject(ctx, inventory.Project{ID: benchProject, Name: "bench"}); err != nil {
		return err
	}
	sealed, err := env.box.Seal("")
	if err != nil {
		return err
	}
	conn, err := env.st.CreateRegistry(ctx, inventory.Registry{
		ProjectID: benchProject, EnterpriseProjectID: defaultEnterprise, Name: "bench", Type: inventory.OtherRegistry,
		Protocol: "http", Addr: addr, PasswordSealed: sealed, Status: inventory.RegistryPending,
	})
	if err != nil {
		return err
	}
	// The benchmark's registry is on loopback, which the network policy
	// denies: allow its address, as the quickstart does.
	if env.regHost, _, err = net.SplitHostPort(addr); err != nil {
		return err
	}
	if env.policy, err = netpolicy.New(netpolicy.Options{Allow: []string{env.regHost}}); err != nil {
		return err
	}
	quiet := slog.New(slog.DiscardHandler)
	lister, err := registry.NewLister(registry.ListerOptions{Transport: registry.NewTransport(env.policy), Logger: quiet})
	if err != nil {
		return err
	}
	syncer, err := registry.NewSyncer(registry.SyncerOptions{Store: env.st, Queue: env.st, Box: env.box, Lister: lister, Logger: quiet})
	if err != nil {
		return err
	}
	b.progress("sync")
	_, err = syncer.SyncRegistry(ctx, conn)
	return err
}

// scanService is the scan service `openhss serve` runs, over env, with
// scratch space in dir.
func (env *scanStore) scanService(dir string) (*scanjob.Service, error) {
	quiet := slog.New(slog.DiscardHandler)
	sc, err := scanner.New(scanner.Options{ScratchDir: dir, Logger: quiet})
	if err != nil {
		return nil, err
	}
	return scanjob.New(scanjob.Options{Store: env.st, Scanner: sc, Matcher: env.vdb, Box: env.box,
		Transport: registry.NewTransport(env.policy), Log: quiet})
}
