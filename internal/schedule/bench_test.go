package schedule_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
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
			idleScheduler(b, e, s, n)
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				if n, err := s.sched.Tick(ctx); err != nil || n != 0 {
					b.Fatalf("idle tick: %d claimed, %v", n, err)
				}
			}
		})
	}
}
