package console_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/jobs"
	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/vulnupdate"
)

// runUpdateJob is a worker: it claims the queued update job and runs it
// with u, as the serve workers do, then finishes it with its outcome.
func (e *env) runUpdateJob(u *vulnupdate.Updater) jobs.Job {
	e.t.Helper()
	ctx := context.Background()
	j, err := e.st.Claim(ctx, []string{vulnupdate.JobKind}, "w", time.Now(), time.Minute)
	if err != nil {
		e.t.Fatalf("claim the update job: %v", err)
	}
	msg := ""
	if err := u.Handle(ctx, j); err != nil {
		msg = err.Error()
	}
	if err := e.st.Finish(ctx, j.Lease(), msg, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// TestSettingsUpdateNow: Update now queues one update job for the workers
// (a second click while it is queued or running joins it), the page shows
// its state, and the job does what `openhss db update` does (archives of
// an OSV bucket imported, the scanned images re-matched); a failure shows
// its error; without the CSRF token nothing is queued.
func TestSettingsUpdateNow(t *testing.T) {
	base, served := osvtestdata.Bucket(t, map[string]string{"Debian": "debian-12"})
	e := newEnvUpdating(t, base)
	ctx := context.Background()
	alice, csrf := e.signIn("alice")
	bob, bobCSRF := e.signIn("bob")
	latest := func() (jobs.Job, bool) {
		t.Helper()
		j, err := e.st.LatestJob(ctx, vulnupdate.JobKind)
		if errors.Is(err, inventory.ErrNotFound) {
			return jobs.Job{}, false
		}
		if err != nil {
			t.Fatal(err)
		}
		return j, true
	}
	_, body := e.do("GET", "/settings", nil, alice)
	if !strings.Contains(body, `action="/settings/vulndata/update"`) || !strings.Contains(body, "Last update from this page: none.") {
		t.Fatalf("settings without Update now or its state:\n%s", body)
	}
	e.checkCSRFRefused(alice, bobCSRF, nil, "/settings/vulndata/update")
	if j, found := latest(); found {
		t.Fatalf("refused requests queued %+v", j)
	}
	resp, body := e.do("POST", "/settings/vulndata/update", url.Values{"csrf": {csrf}}, alice)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Vulnerability data update queued") || !strings.Contains(body, `<span class="job-queued">queued since`) {
		t.Fatalf("update now: %s\n%s", resp.Status, body)
	}
	first, _ := latest()
	// Another click, from another project's user too, joins the queued job.
	_, body = e.do("POST", "/settings/vulndata/update", url.Values{"csrf": {bobCSRF}}, bob)
	if j, _ := latest(); !strings.Contains(body, "already queued or running; no other was queued") || j.ID != first.ID {
		t.Fatalf("second click: latest job %d, first %d\n%s", j.ID, first.ID, body)
	}
	j, err := e.st.Claim(ctx, []string{vulnupdate.JobKind}, "w", time.Now(), time.Minute)
	if err != nil || j.ID != first.ID {
		t.Fatalf("claim = %+v, %v", j, err)
	}
	_, body = e.do("GET", "/settings", nil, alice)
	if !strings.Contains(body, `<span class="job-running">running since`) {
		t.Errorf("running job not shown:\n%s", body)
	}
	_, body = e.do("POST", "/settings/vulndata/update", url.Values{"csrf": {csrf}}, alice)
	if l, _ := latest(); !strings.Contains(body, "already queued or running") || l.ID != first.ID {
		t.Fatalf("click while running queued job %d\n%s", l.ID, body)
	}
	if _, err := e.st.Claim(ctx, []string{vulnupdate.JobKind}, "w2", time.Now(), time.Minute); !errors.Is(err, jobs.ErrNoJob) {
		t.Fatalf("a second update job could be claimed: %v", err)
	}
	if err := e.updater.Handle(ctx, j); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Finish(ctx, j.Lease(), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	vs, err := e.st.VulnStatus(ctx)
	if err != nil || vs.Records == 0 || served.Load() != 1 || e.rematch.n != 1 {
		t.Fatalf("after the job: %d records, %d archives served, %d re-matches (%v)", vs.Records, served.Load(), e.rematch.n, err)
	}
	_, body = e.do("GET", "/settings", nil, alice)
	if !strings.Contains(body, `<span class="job-done">finished`) || !strings.Contains(body, base+"/Debian/all.zip") {
		t.Errorf("finished job or its import not shown:\n%s", body)
	}
	// A failed update shows why; a new click after the end queues anew.
	e.do("POST", "/settings/vulndata/update", url.Values{"csrf": {csrf}}, alice)
	broken, err := vulnupdate.New(vulnupdate.Options{DB: e.vulnDB, Rematch: e.rematch, BaseURL: base, Ecosystems: []string{"Nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if j := e.runUpdateJob(broken); j.ID == first.ID {
		t.Fatal("no new job after the first ended")
	}
	_, body = e.do("GET", "/settings", nil, alice)
	if !strings.Contains(body, `<span class="job-failed">failed`) || !strings.Contains(body, "Nope/all.zip") {
		t.Errorf("failed job not shown with its error:\n%s", body)
	}
}

// TestSettingsUpdateNowTooSoon: with a minimum interval between updates
// (serve --vulndb-min-interval), a click within it of the last finished
// update, by any project's user, answers 429 with Retry-After and says
// from when, and queues nothing.
func TestSettingsUpdateNowTooSoon(t *testing.T) {
	base, served := osvtestdata.Bucket(t, map[string]string{"Debian": "debian-12"})
	e := newEnvUpdating(t, base, func(o *vulnupdate.Options) { o.MinInterval = time.Hour })
	ctx := context.Background()
	alice, csrf := e.signIn("alice")
	bob, bobCSRF := e.signIn("bob")
	if resp, body := e.do("POST", "/settings/vulndata/update", url.Values{"csrf": {csrf}}, alice); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, "Vulnerability data update queued") {
		t.Fatalf("first click: %s\n%s", resp.Status, body)
	}
	done := e.runUpdateJob(e.updater)
	if served.Load() != 1 {
		t.Fatalf("%d archives served by the first update, want 1", served.Load())
	}
	for _, c := range []struct {
		who    string
		cookie *http.Cookie
		csrf   string
	}{{"alice", alice, csrf}, {"bob, of another project", bob, bobCSRF}} {
		resp, body := e.do("POST", "/settings/vulndata/update", url.Values{"csrf": {c.csrf}}, c.cookie)
		retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if resp.StatusCode != http.StatusTooManyRequests || retry < 3000 || retry > 3600 ||
			!strings.Contains(body, "Update now is taken again from") || !strings.Contains(body, "Nothing was queued") {
			t.Fatalf("%s: click after a finished update: %s, Retry-After %q\n%s", c.who, resp.Status, resp.Header.Get("Retry-After"), body)
		}
		j, err := e.st.LatestJob(ctx, vulnupdate.JobKind)
		if err != nil || j.ID != done.ID || j.State != jobs.Done {
			t.Fatalf("%s: latest job %+v (%v), want the finished job %d alone", c.who, j, err, done.ID)
		}
	}
}
