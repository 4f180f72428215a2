package crash

import (
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"
)

// cleanImport is db status after one uninterrupted import of the Go
// vulnerability database into an empty SQLite database: what every
// interrupted-then-completed import must come to.
var cleanImport struct {
	once sync.Once
	st   dbStatus
}

func cleanStatus(t *testing.T) dbStatus {
	t.Helper()
	cleanImport.once.Do(func() {
		e := &engine{name: "clean", data: t.TempDir()}
		e.run(t, "db", "import", goVulnDBDir(t))
		cleanImport.st = e.dbStatus(t)
	})
	if cleanImport.st.Records == 0 {
		t.Fatal("the clean import imported nothing")
	}
	return cleanImport.st
}

// TestImportKilled kills `openhss db import` with SIGKILL after its first
// batch is committed, then requires db status to show the import as
// interrupted with counts that agree with the stored records, and a second
// import of the same source to complete it: the same records, ecosystems
// and withdrawn count as a clean import, and nothing left unfinished.
func TestImportKilled(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			src := goVulnDBDir(t)
			clean := cleanStatus(t)
			e, _, _ := newEngine(t, kind)

			p := e.start(t, "db import", t.TempDir(), "db", "import", src)
			var n int
			written := poll(2*time.Minute, func() bool {
				select {
				case <-p.done:
					return true
				default:
				}
				n = e.count(t, `SELECT COUNT(*) FROM vulns`)
				return n > 0
			})
			select {
			case <-p.done:
				t.Fatalf("the import ended (%v) before it wrote anything the test saw: nothing to kill", p.err)
			default:
			}
			p.kill()
			if !written {
				t.Fatal("the import wrote nothing within two minutes")
			}
			n = e.count(t, `SELECT COUNT(*) FROM vulns`)
			if n == 0 || n >= clean.Records {
				t.Fatalf("killed import left %d of %d records: not killed mid-import", n, clean.Records)
			}

			st := e.dbStatus(t)
			if st.Records != n {
				t.Errorf("db status counts %d records, the table holds %d", st.Records, n)
			}
			if st.LastImport != nil {
				t.Errorf("db status reports a completed import after the only one was killed: %+v", *st.LastImport)
			}
			if len(st.Unfinished) != 1 {
				t.Fatalf("db status lists %d unfinished imports after kill -9 mid-import, want 1: %+v", len(st.Unfinished), st)
			}
			if u := st.Unfinished[0]; u.Source != src || u.State != "interrupted" || u.Written != n || u.Records < n {
				t.Fatalf("unfinished import %+v; want source %s, interrupted, %d written (the stored records)", u, src, n)
			}

			// The same import again completes it.
			var res []struct {
				Written int  `json:"written"`
				Resumed bool `json:"resumed"`
			}
			if out := e.run(t, "db", "import", src, "--json"); json.Unmarshal(out, &res) != nil || len(res) != 1 {
				t.Fatalf("db import --json printed %s", out)
			}
			if !res[0].Resumed || res[0].Written != clean.Records-n {
				t.Errorf("re-import = %+v; want resumed, %d written", res[0], clean.Records-n)
			}
			final := e.dbStatus(t)
			if final.Records != clean.Records || final.Withdrawn != clean.Withdrawn || !reflect.DeepEqual(final.Ecosystems, clean.Ecosystems) {
				t.Errorf("after the re-import: %d records (%d withdrawn), ecosystems %v; a clean import has %d (%d), %v",
					final.Records, final.Withdrawn, final.Ecosystems, clean.Records, clean.Withdrawn, clean.Ecosystems)
			}
			if len(final.Unfinished) != 0 || final.LastImport == nil || final.LastImport.Source != src || final.LastImport.State != "complete" {
				t.Errorf("after the re-import: last import %+v, unfinished %+v; want %s complete, none unfinished",
					final.LastImport, final.Unfinished, src)
			}
		})
	}
}
