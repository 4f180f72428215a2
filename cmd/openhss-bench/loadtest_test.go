package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/osvtestdata"
)

// TestLoadSmall runs the load test for a few seconds on SQLite, against a
// freshly built openhss: every operation must have been answered, and no
// request may have failed or met a 5xx. No timing is asserted.
func TestLoadSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs openhss serve")
	}
	o := defaultLoadOptions()
	o.Clients, o.UsersPerClient, o.Duration = 4, 1, 3*time.Second
	o.Repos, o.Tags = 4, 2
	o.VulnData = osvtestdata.Dir(t, "debian-12")
	o.Dir = t.TempDir()
	rep, err := runLoad(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Store != "sqlite" {
		t.Fatalf("runs %+v, want one on sqlite", rep.Runs)
	}
	r := rep.Runs[0]
	// What the server logged, and the end of its log, when anything below
	// fails: the report alone does not say why a stop or a scan went wrong.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		t.Logf("openhss serve logged %d error lines; first: %q", r.ErrorLines, r.FirstErrors)
		if b, err := os.ReadFile(filepath.Join(o.Dir, "sqlite", "serve.log")); err == nil {
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("the last lines of serve.log:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	})
	if len(r.Ops) != len(loadOps) {
		t.Fatalf("%d operations reported, want %d", len(r.Ops), len(loadOps))
	}
	for i, op := range r.Ops {
		if op.Name != loadOps[i] || op.Requests <= 0 || op.Status["200"] <= 0 {
			t.Errorf("operation %d: %+v, want %s answered with some 200s", i, op, loadOps[i])
		}
	}
	if err := rep.failed(); err != nil {
		t.Error(err)
	}
	if r.RSSBefore <= 0 || r.RSSAfter <= 0 || r.HWM < r.RSSAfter || r.Stop != "ok" {
		t.Errorf("server memory or stop not measured: before %d, after %d, VmHWM %d, stop %q", r.RSSBefore, r.RSSAfter, r.HWM, r.Stop)
	}
	if r.ScanStatus != "map[success:8]" {
		t.Errorf("first scan: %s, want every image scanned", r.ScanStatus)
	}
}

// TestLoadVerdict checks what makes the command fail: a transport error or
// a 5xx fails it, a 429 does not.
func TestLoadVerdict(t *testing.T) {
	for _, tc := range []struct {
		name  string
		codes []int
		errs  int
		fail  bool
	}{
		{"all 200", []int{200, 200}, 0, false},
		{"429 is the limiter", []int{200, 429}, 0, false},
		{"400 is the client's", []int{400}, 0, false},
		{"500", []int{200, 500}, 0, true},
		{"503", []int{503}, 0, true},
		{"no answer", []int{200}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &opStats{status: map[int]int64{}}
			for _, c := range tc.codes {
				s.add(c, time.Millisecond, []byte("body"), nil)
			}
			for range tc.errs {
				s.add(0, time.Millisecond, nil, context.DeadlineExceeded)
			}
			op := s.result(opList, time.Second)
			rep := loadReport{Runs: []storeRun{{Store: "sqlite", Ops: []opResult{op}, Errors: op.Errors, Status5xx: op.Status5xx}}}
			if err := rep.failed(); (err != nil) != tc.fail {
				t.Errorf("failed() = %v, want failure %v", err, tc.fail)
			}
			if want := int64(len(tc.codes)); op.Requests != want {
				t.Errorf("%d answers counted, want %d", op.Requests, want)
			}
			if op.Status429 != int64(countOf(tc.codes, http.StatusTooManyRequests)) {
				t.Errorf("%d 429s counted in %v", op.Status429, tc.codes)
			}
		})
	}
}

func countOf(codes []int, c int) int {
	n := 0
	for _, x := range codes {
		if x == c {
			n++
		}
	}
	return n
}
