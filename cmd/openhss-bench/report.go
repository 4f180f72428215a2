package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// printReport writes rep as the tables docs/benchmarks.md copies.
func printReport(w io.Writer, rep listReport) {
	rep.Machine.print(w)
	fmt.Fprintln(w)

	s := rep.Seed
	fmt.Fprintf(w, "seeding   %d rows, %d namespaces, %d repositories: %.1f s (target ≤ %.0f s: %s; %.1f s CPU), database %.0f MiB\n\n",
		s.Rows, s.Namespaces, s.Repos, s.Seconds, targetSeed.Seconds(), mark(s.Met), s.CPUSeconds, float64(s.DBBytes)/(1<<20))

	fmt.Fprintf(w, "command   %s\n\n", rep.Command)
	mode := "cached (repeated calls may be served from the store's caches)"
	if rep.Uncached {
		mode = "uncached (a write to images before every call)"
	}
	fmt.Fprintf(w, "list query in-process (store.ListImages) on %s, %s,\nevery total_num and page checked against COUNT(*) and ORDER BY on images\n", rep.Engine, mode)
	median, p99 := listTargets(rep.Uncached)
	fmt.Fprintf(w, "target: median ≤ %.0f ms and p99 ≤ %.0f ms\n", ms(median), ms(p99))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "filter set\toffset\ttotal_num\trows\tfirst ms\tmedian ms\tp90 ms\tp99 ms\tmax ms\tcalls\twrites\ttarget\t")
	for _, q := range rep.Queries {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t%s\t\n",
			q.Name, q.Offset, q.Total, q.Returned, q.FirstMs, q.MedianMs, q.P90Ms, q.P99Ms, q.MaxMs, q.Calls, q.Writes, mark(q.Met))
	}
	tw.Flush()
	fmt.Fprintln(w)

	h := rep.HTTP
	if h.Clients == 0 {
		fmt.Fprintln(w, "HTTP: not measured")
		return
	}
	fmt.Fprintf(w, "HTTP, %d keep-alive clients on 127.0.0.1: GET %s\n", h.Clients, h.Path)
	fmt.Fprintf(w, "response %d bytes body, %d bytes header fields\n", h.ResponseBytes, h.HeaderBytes)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\trequests\tseconds\treq/s\tmedian ms\tp99 ms\t")
	for _, r := range []struct {
		name string
		r    loadResult
	}{{"openhss", h.OpenHSS}, {"bare net/http", h.Bare}} {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.0f\t%.2f\t%.2f\t\n", r.name, r.r.Requests, r.r.Seconds, r.r.RPS, r.r.MedianMs, r.r.P99Ms)
	}
	tw.Flush()
	fmt.Fprintf(w, "ratio openhss/bare %.2f (target ≥ %.1f: %s)\n", h.Ratio, targetHTTPRatio, mark(h.Met))
}

func mark(met bool) string {
	if met {
		return "ok"
	}
	return "MISS"
}
