package scanjob_test

import (
	"log/slog"
	"testing"

	"github.com/openhss/openhss/internal/scanner/scannertest"

	"github.com/openhss/openhss/internal/imagetest"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/netpolicy"
	"github.com/openhss/openhss/internal/registry"
	"github.com/openhss/openhss/internal/registry/registrytest"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/scanner"
)

// registrytestTransport reaches registrytest's registries on 127.0.0.1,
// which the default network policy denies.
func registrytestTransport(t testing.TB) *registry.Transport {
	t.Helper()
	p, err := netpolicy.New(netpolicy.Options{Allow: []string{"127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return registry.NewTransport(p)
}

// A scan pulls through the network policy too: with the default transport
// an image on a loopback registry is download_failed, and nothing of it
// is read.
func TestPullUnderNetworkPolicy(t *testing.T) {
	reg := registrytest.New(t)
	small := image(t, imagetest.Layer(t, imagetest.Reg("etc/os-release", "ID=test\n")))
	push(t, reg, "team/app", "1", small)
	e := newEnv(t, reg, envConfig{noVulnData: true})
	rows := e.syncAll(t)

	sc := scannertest.New(t, scanner.Options{ScratchDir: t.TempDir()})
	e.svc = newService(t, scanjob.Options{Store: e.store, Scanner: sc, Matcher: e.db, Box: e.box, Log: slog.New(slog.DiscardHandler)})
	checkOutcome(t, e, rows["team/app:1"], inventory.DownloadFailed, scanner.DescDownloadFailed, true)
}
