package main

import (
	"fmt"
	"strings"
)

func judge(rep scanReport) []targetOutcome {
	yes, no := true, false
	b := func(ok bool) *bool {
		if ok {
			return &yes
		}
		return &no
	}
	var out []targetOutcome
	for i, im := range rep.Images {
		if i < 2 {
			if im.SyftMedian == nil {
				out = append(out, targetOutcome{What: im.Name + ": time and RSS against syft", Target: "faster than syft; RSS ≤ ½ syft's", Got: "syft not run"})
			} else {
				s, h := *im.SyftMedian, im.OpenHSSMedian
				out = append(out,
					targetOutcome{What: im.Name + ": full scan time vs syft catalogue", Target: "< syft",
						Got: fmt.Sprintf("%.2f s vs %.2f s (%.0f %%)", h.WallSeconds, s.WallSeconds, 100*h.WallSeconds/s.WallSeconds), Met: b(h.WallSeconds < s.WallSeconds)},
					targetOutcome{What: im.Name + ": aim, a quarter of syft's time", Target: fmt.Sprintf("≤ %.2f s", aimTimeShareOfSyft*s.WallSeconds),
						Got: fmt.Sprintf("%.2f s", h.WallSeconds), Met: b(h.WallSeconds <= aimTimeShareOfSyft*s.WallSeconds)},
					targetOutcome{What: im.Name + ": peak RSS vs syft", Target: fmt.Sprintf("≤ %.0f MiB (½ syft's)", targetRSSShareOfSyft*mib(s.MaxRSSBytes)),
						Got: fmt.Sprintf("%.0f MiB", mib(h.MaxRSSBytes)), Met: b(float64(h.MaxRSSBytes) <= targetRSSShareOfSyft*float64(s.MaxRSSBytes))})
			}
			if t := im.TrivyMedian; t != nil {
				h := im.OpenHSSMedian
				out = append(out, targetOutcome{What: im.Name + ": full scan time vs trivy catalogue", Target: "< trivy",
					Got: fmt.Sprintf("%.2f s vs %.2f s (%.0f %%)", h.WallSeconds, t.WallSeconds, 100*h.WallSeconds/t.WallSeconds), Met: b(h.WallSeconds < t.WallSeconds)})
			} else {
				out = append(out, targetOutcome{What: im.Name + ": time against trivy", Target: "faster than trivy", Got: "trivy not run"})
			}
			continue
		}
		out = append(out, targetOutcome{What: im.Name + ": peak RSS", Target: "≤ 300 MiB",
			Got: fmt.Sprintf("%.0f MiB", mib(im.OpenHSSMedian.MaxRSSBytes)), Met: b(im.OpenHSSMedian.MaxRSSBytes <= targetBigRSSBytes)})
	}
	for _, im := range rep.Import {
		if strings.Contains(im.Source, "vulndb") && im.Written > 0 {
			out = append(out, targetOutcome{What: "db import of the whole Go vulndb (empty store)", Target: fmt.Sprintf("≤ %.0f s", targetImportSeconds),
				Got: fmt.Sprintf("%.2f s", im.Seconds), Met: b(im.Seconds <= targetImportSeconds)})
			break
		}
	}
	for _, r := range []*rematchResult{&rep.Rematch, rep.RematchPostgres} {
		if r == nil {
			continue
		}
		out = append(out, targetOutcome{What: fmt.Sprintf("re-match of %d stored inventories (%s, median of %d)", r.Images, r.Store, len(r.Runs)),
			Target: fmt.Sprintf("≤ %.0f s for 1,000", targetRematchSeconds),
			Got:    fmt.Sprintf("%.2f s", r.Seconds), Met: b(r.Seconds <= targetRematchSeconds && r.Requests == 0)})
	}
	out = append(out, targetOutcome{What: fmt.Sprintf("throughput, %d workers, %d small images", rep.Throughput.Workers, rep.Throughput.Images), Target: "(reported)",
		Got: fmt.Sprintf("%.0f images/minute", rep.Throughput.PerMinute)})
	return out
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
