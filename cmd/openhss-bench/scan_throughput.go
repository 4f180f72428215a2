package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/scanjob"
	"github.com/openhss/openhss/internal/store/sqlite"
)

// measureThroughput queues a scan of every ref at once and runs workers
// until every row has a final status.
func measureThroughput(ctx context.Context, st *sqlite.Store, svc *scanjob.Service, refs []string, workers int) (throughputRes, error) {
	res := throughputRes{Images: len(refs), Workers: workers}
	var rows []inventory.Image
	for _, ref := range refs {
		img, err := findRow(ctx, st, ref)
		if err != nil {
			return res, err
		}
		rows = append(rows, img)
	}
	runner, err := jobs.NewRunner(jobs.RunnerOptions{Store: st, Logger: slog.New(slog.DiscardHandler), Workers: workers, Poll: 20 * time.Millisecond})
	if err != nil {
		return res, err
	}
	runner.Handle(scanjob.JobKind, svc.Handle)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	if _, err := svc.Request(ctx, benchProject, rows); err != nil {
		return res, err
	}
	done := make(chan struct{})
	go func() { runner.Run(rctx); close(done) }()
	final := []inventory.ScanStatus{inventory.ScanSuccess, inventory.ScanFailed, inventory.DownloadFailed, inventory.ImageOversized}
	for {
		left, failed := 0, 0
		for _, ref := range refs {
			img, err := findRow(ctx, st, ref)
			if err != nil {
				return res, err
			}
			switch {
			case !slices.Contains(final, img.ScanStatus):
				left++
			case img.ScanStatus != inventory.ScanSuccess:
				failed++
			}
		}
		if left == 0 {
			res.Seconds = time.Since(start).Seconds()
			res.Failed = failed
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	<-done
	res.PerMinute = float64(res.Images) / res.Seconds * 60
	if res.Failed > 0 {
		return res, fmt.Errorf("%d of %d small images did not scan successfully", res.Failed, res.Images)
	}
	return res, nil
}
