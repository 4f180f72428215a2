package schedule_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/policy"
)

// BenchmarkIdleTick is the cost of one scheduler tick that finds nothing
// due, with OPENHSS_BENCH_REGISTRIES (default 10,000) connections, each in
// a project of its own (the most sync slots), a scan policy enabled and
// the periodic sync on: what every serve process pays each
// --schedule-tick.
func BenchmarkIdleTick(b *testing.B) {
	n := 10_000
	if v := os.Getenv("OPENHSS_BENCH_REGISTRIES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for engine, newDB := range engines(b) {
		b.Run(fmt.Sprintf("%s/%d", engine, n), func(b *testing.B) {
			e := newEnv(b, newDB(b))
			s := e.server(b, time.Hour)
			ctx := context.Background()
			for i := range n {
				p := fmt.Sprintf("p%05d", i)
				if _, err := s.st.CreateRegistry(ctx, inventory.Registry{ProjectID: p, EnterpriseProjectID: "0", Name: "r",
					Type: inventory.OtherRegistry, Protocol: "http", Addr: fmt.Sprintf("r%d.example.com", i), Status: inventory.RegistryPending}); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.sched.Tick(ctx); err != nil { // slots the projects
				b.Fatal(err)
			}
			if err := s.st.SetScanPolicy(ctx, policy.Policy{ProjectID: "p00000", Enabled: true, ScanCycle: 7,
				ScanScope: policy.ScanScopeAll, RegistryIDs: []int64{1}}, inventory.Millis(e.clock.Now())); err != nil {
				b.Fatal(err)
			}
			e.clock.Add(time.Hour) // the first periodic syncs fall due
			for {                  // claim every first run, 500 a tick
				n, err := s.sched.Tick(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			b.ResetTimer()
			for b.Loop() {
				if n, err := s.sched.Tick(ctx); err != nil || n != 0 {
					b.Fatalf("idle tick: %d claimed, %v", n, err)
				}
			}
		})
	}
}
