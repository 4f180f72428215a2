package schedule_test

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/benchseed"
	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/policy"
)

// BenchmarkListUnderScheduler is the scheduler's cost to the list: the
// latency of ListImages (image_type=private_image, first page of 10) over
// OPENHSS_BENCH_ROWS (default 200,000) seeded rows, with and without a
// scheduler ticking every OPENHSS_BENCH_TICK (default 1 s, thirty times the
// serve default) in the same process over the same store, whose
// OPENHSS_BENCH_REGISTRIES (default 10,000) connections each sit in a
// project of their own, with a scan policy enabled and the periodic sync on
// (docs/benchmarks.md, "Scheduler"). Each mode (no scheduler, ticking,
// cpu burn below) is measured in rounds of OPENHSS_BENCH_ROUND (default
// 5 s), OPENHSS_BENCH_ROUNDS (default 4) of each, in an order rotating
// from round to round, cached (the same call repeated) and uncached (a
// write to images before every call, untimed, as a running scanner
// causes). The calls that ran while a tick was in flight are also reported
// apart: on a 1 s tick they are about one in a hundred, too few to move a
// median, so they are where a slowdown would show first; the calls
// overlapping a busy loop as long as a median tick (cpu burn) are their
// control, the slowdown any CPU work of that length causes on the machine.
// Run it with -benchtime 1x -v: the figures are logged, and without -v the
// testing package cuts a benchmark's log to ten lines.
func BenchmarkListUnderScheduler(b *testing.B) {
	rows := envInt(b, "OPENHSS_BENCH_ROWS", 200_000)
	n := envInt(b, "OPENHSS_BENCH_REGISTRIES", 10_000)
	rounds := envInt(b, "OPENHSS_BENCH_ROUNDS", 4)
	tick := envDuration(b, "OPENHSS_BENCH_TICK", time.Second)
	round := envDuration(b, "OPENHSS_BENCH_ROUND", 5*time.Second)
	for engine, newDB := range engines(b) {
		b.Run(fmt.Sprintf("%s/%d-rows/%d-registries", engine, rows, n), func(b *testing.B) {
			ctx := context.Background()
			e := newEnv(b, newDB(b))
			s := e.server(b, time.Hour)
			const project = "0b5e7c1a9d2f48e6a3c0b1d2e3f40516"
			seeder, ok := s.st.(benchseed.Store)
			if !ok {
				b.Fatalf("%T cannot bulk-load", s.st)
			}
			spec := benchseed.Spec{ProjectID: project, Rows: rows, Namespaces: 20, Repos: max(rows/100, 20), Registries: 4}
			if _, err := benchseed.Seed(ctx, seeder, spec, mrand.New(mrand.NewPCG(1, 2))); err != nil {
				b.Fatal(err)
			}
			idleScheduler(b, e, s, n)

			f := inventory.Filter{ProjectID: project, EnterpriseProjects: []string{inventory.DefaultEnterpriseProject},
				Type: inventory.PrivateImage, Limit: 10}
			first, err := s.st.ListImages(ctx, f)
			if err != nil || len(first.Images) == 0 {
				b.Fatalf("list: %d rows, %v", len(first.Images), err)
			}
			digest, scannable := first.Images[0].ManifestDigest, first.Images[0].Scannable
			flip := func() error { // moves the images generation, changes nothing a list shows
				scannable = !scannable
				return s.st.SetScannable(ctx, project, digest, scannable)
			}

			// The idle tick's cost, for the CPU control below.
			var cost []time.Duration
			for range 5 {
				t0 := time.Now()
				if c, err := s.sched.Tick(ctx); err != nil || c != 0 {
					b.Fatalf("idle tick: %d claimed, %v", c, err)
				}
				cost = append(cost, time.Since(t0))
			}
			slices.Sort(cost)
			burn := cost[len(cost)/2]

			type key struct {
				uncached bool
				mode     string
			}
			modes := []string{"off", "ticking", "cpu burn"}
			all := map[key][]time.Duration{}
			during := map[key][]time.Duration{} // calls a tick (or a burn) overlapped
			var ticks []time.Duration
			// measure calls the list for one round and returns the calls'
			// start and end times.
			measure := func(uncached bool) ([][2]time.Time, error) {
				var spans [][2]time.Time
				for end := time.Now().Add(round); time.Now().Before(end); {
					if uncached {
						if err := flip(); err != nil {
							return nil, err
						}
					}
					start := time.Now()
					p, err := s.st.ListImages(ctx, f)
					stop := time.Now()
					if err != nil {
						return nil, err
					}
					if p.Total != first.Total {
						return nil, fmt.Errorf("list: total %d, then %d", first.Total, p.Total)
					}
					spans = append(spans, [2]time.Time{start, stop})
				}
				return spans, nil
			}
			// background runs, every tick until stop, a scheduler tick or
			// (cpu burn) a busy loop as long as a median tick: the control
			// that tells the store's share of a slowdown from the CPU's.
			background := func(mode string, stop <-chan struct{}, record func(time.Time, time.Time)) {
				t := time.NewTicker(tick)
				defer t.Stop()
				for {
					start := time.Now()
					if mode == "ticking" {
						if c, err := s.sched.Tick(ctx); err != nil || c != 0 {
							b.Errorf("idle tick: %d claimed, %v", c, err)
						}
					} else {
						for time.Since(start) < burn {
						}
					}
					record(start, time.Now())
					select {
					case <-stop:
						return
					case <-t.C:
					}
				}
			}
			load0 := loadAverage()
			b.ResetTimer()
			for r := range rounds {
				for _, uncached := range []bool{false, true} {
					// Rotate which goes first, so that drift of the
					// machine's load falls on every mode alike.
					for i := range modes {
						mode := modes[(i+r)%len(modes)]
						k := key{uncached, mode}
						var mu sync.Mutex
						var bg [][2]time.Time
						stop := make(chan struct{})
						var wg sync.WaitGroup
						if mode != "off" {
							wg.Add(1)
							go func() {
								defer wg.Done()
								background(mode, stop, func(from, to time.Time) {
									mu.Lock()
									bg = append(bg, [2]time.Time{from, to})
									mu.Unlock()
								})
							}()
						}
						spans, err := measure(uncached)
						close(stop)
						wg.Wait()
						if err != nil {
							b.Fatal(err)
						}
						for _, sp := range spans {
							d := sp[1].Sub(sp[0])
							all[k] = append(all[k], d)
							for _, t := range bg {
								if sp[0].Before(t[1]) && t[0].Before(sp[1]) {
									during[k] = append(during[k], d)
									break
								}
							}
						}
						if mode == "ticking" {
							for _, t := range bg {
								ticks = append(ticks, t[1].Sub(t[0]))
							}
						}
					}
				}
			}
			b.StopTimer()
			b.Logf("%s, %d rows, %d connections in %d projects, scan policy enabled, sync interval 1 h; tick every %v; %d rounds of %v per mode; load average %s at start, %s at end",
				engine, rows, n, n, tick, rounds, round, load0, loadAverage())
			b.Logf("ticks: %d, median %.1f ms, max %.1f ms; cpu burn %.1f ms", len(ticks), quantile(ticks, 0.5), quantile(ticks, 1),
				float64(burn)/float64(time.Millisecond))
			b.Logf("%-9s %-24s %8s %9s %9s %9s %9s", "list", "beside it", "calls", "median", "p90", "p99", "max")
			for _, uncached := range []bool{false, true} {
				name := "cached"
				if uncached {
					name = "uncached"
				}
				line := func(label string, ds []time.Duration) {
					b.Logf("%-9s %-24s %8d %6.3f ms %6.3f ms %6.3f ms %6.3f ms", name, label, len(ds),
						quantile(ds, 0.5), quantile(ds, 0.9), quantile(ds, 0.99), quantile(ds, 1))
				}
				for _, m := range modes {
					line(m, all[key{uncached, m}])
				}
				line("during a tick", during[key{uncached, "ticking"}])
				line("during a cpu burn", during[key{uncached, "cpu burn"}])
				b.ReportMetric(quantile(all[key{uncached, "off"}], 0.5), name+"-off-median-ms")
				b.ReportMetric(quantile(all[key{uncached, "ticking"}], 0.5), name+"-ticking-median-ms")
			}
		})
	}
}

// idleScheduler gives s's store n registry connections, each in a project
// of its own, and a scan policy enabled, then claims every first run: what
// follows are idle ticks, the scheduler's steady state (the setup of
// BenchmarkIdleTick).
func idleScheduler(b *testing.B, e *env, s *server, n int) {
	b.Helper()
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
		c, err := s.sched.Tick(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if c == 0 {
			return
		}
	}
}

// quantile is the nearest-rank quantile q of ds in milliseconds.
func quantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return float64(s[min(max(i, 0), len(s)-1)]) / float64(time.Millisecond)
}

// loadAverage is the machine's 1, 5 and 15 minute load ("?" off Linux):
// the machine the figures are taken on is shared.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration", name, v)
	}
	return d
}
