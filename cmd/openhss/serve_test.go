package main

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/jobs"
)

// TestServeStopsWithStuckWorker: a graceful stop completes, with an error
// saying so, when a worker is blocked in a call that ignores its cancelled
// context (as one waiting on a store that stopped answering is), instead of
// waiting for it for ever.
func TestServeStopsWithStuckWorker(t *testing.T) {
	g := &globals{data: t.TempDir(), logLevel: "error"}
	a, err := g.open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	o := &serveOptions{workers: 1, region: "local-1", shutdownTimeout: 200 * time.Millisecond}
	svc, err := a.services(o)
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release) // lets the abandoned worker end with the test
	svc.runner.Handle("stuck", func(context.Context, jobs.Job) error {
		close(started)
		<-release // never looks at its context
		return nil
	})
	if _, _, err := a.store.Enqueue(context.Background(), jobs.Job{Kind: "stuck", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.serveWith(ctx, ln, o, svc, nil) }()
	<-started
	stop() // SIGTERM

	// A stop that does not complete is the failure: give it far longer
	// than its own deadline before calling it stuck.
	select {
	case err := <-served:
		if err == nil || !strings.Contains(err.Error(), "workers still running") {
			t.Fatalf("serve returned %v, want the workers-still-running error", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("graceful stop did not complete with a worker stuck")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
