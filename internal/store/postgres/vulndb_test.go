package postgres

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/store/sqlite"
	"github.com/openhss/openhss/internal/vulndb"
)

// TestVulnStoreMatchesSQLite imports the real distro records of
// testdata/osv into this store and into the SQLite store, twice (the
// second import writes nothing), plus one record edited to be newer, and
// requires the two stores to agree on PutVulns counts, VulnStatus and the
// hits of every indexed key.
func TestVulnStoreMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	pg := open(t, newSchema(t))
	defer pg.Close()
	lite, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "openhss.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()

	var dirs []string
	for _, sub := range []string{"debian-12", "alpine", "ubuntu-24.04"} {
		dirs = append(dirs, osvtestdata.Dir(t, sub))
	}
	stores := []vulndb.Store{pg, lite}
	var dbs []*vulndb.DB
	for _, st := range stores {
		db, err := vulndb.New(vulndb.Options{Store: st, TempDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		dbs = append(dbs, db)
	}
	for round := range 2 {
		for _, dir := range dirs {
			var written [2]int
			for i, db := range dbs {
				res, err := db.Import(ctx, dir)
				if err != nil {
					t.Fatal(err)
				}
				written[i] = res.Written
			}
			if written[0] != written[1] || (round == 1 && written[0] != 0) || (round == 0 && written[0] == 0) {
				t.Fatalf("import %d of %s wrote %d (postgres) and %d (sqlite)", round, dir, written[0], written[1])
			}
		}
	}

	// Direct batches: a newer copy of a stored record replaces it (its
	// keys too), an older one does not, and an id twice in one batch is
	// applied in order.
	hits, err := lite.VulnsFor(ctx, []vulndb.Key{vulndb.KeyFor("Debian:12", "openssl")})
	if err != nil || len(hits) == 0 {
		t.Fatalf("sqlite openssl hits: %d, %v", len(hits), err)
	}
	id := hits[0].ID
	newer := vulndb.StoredVuln{ID: id, Modified: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Hash: []byte("h1"), Data: []byte(`{"id":"x"}`),
		Keys: []vulndb.Key{vulndb.KeyFor("Debian:12", "openssl-moved")}}
	older := newer
	older.Modified = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	sameTimeOtherHash := newer
	sameTimeOtherHash.Hash = []byte("h2")
	batch := []vulndb.StoredVuln{newer, older, sameTimeOtherHash, sameTimeOtherHash}
	for _, st := range stores {
		n, err := st.PutVulns(ctx, 0, batch)
		if err != nil || n != 2 {
			t.Fatalf("%T: PutVulns = %d, %v; want 2 written", st, n, err)
		}
	}

	var keys []vulndb.Key
	for _, k := range [][2]string{{"Debian:12", "openssl"}, {"Debian:12", "openssl-moved"}, {"Debian:12", "glibc"},
		{"Alpine:v3.20", "openssl"}, {"Ubuntu:24.04:LTS", "linux"}, {"Debian:12", "no-such-package"}} {
		keys = append(keys, vulndb.KeyFor(k[0], k[1]))
	}
	keys = append(keys, keys[0]) // a key asked twice still yields one hit per record
	var got [2][]vulndb.Hit
	var status [2]vulndb.Status
	for i, st := range stores {
		if got[i], err = st.VulnsFor(ctx, keys); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got[i], func(a, b vulndb.Hit) int {
			return cmp.Or(cmp.Compare(a.Key.Ecosystem, b.Key.Ecosystem), cmp.Compare(a.Key.Name, b.Key.Name), cmp.Compare(a.ID, b.ID))
		})
		if status[i], err = st.VulnStatus(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(got[0]) < 10 {
		t.Fatalf("only %d hits: the keys chosen match too little to compare", len(got[0]))
	}
	if !slices.EqualFunc(got[0], got[1], func(a, b vulndb.Hit) bool {
		return a.Key == b.Key && a.ID == b.ID && string(a.Data) == string(b.Data)
	}) {
		t.Fatalf("VulnsFor differs: postgres %d hits, sqlite %d", len(got[0]), len(got[1]))
	}
	for _, h := range got[0] {
		if h.ID == id && h.Key.Name != "openssl-moved" {
			t.Fatalf("replaced record %s still indexed under %v", id, h.Key)
		}
	}
	p, l := status[0], status[1]
	if p.Records != l.Records || p.Withdrawn != l.Withdrawn || !slices.Equal(p.Ecosystems, l.Ecosystems) ||
		p.LastImport == nil || l.LastImport == nil || p.LastImport.Source != l.LastImport.Source ||
		p.LastImport.Records != l.LastImport.Records || p.LastImport.Written != l.LastImport.Written ||
		!p.LastImport.Finished.Equal(p.LastImport.Finished.Truncate(time.Millisecond)) {
		t.Fatalf("VulnStatus differs:\npostgres %+v %+v\nsqlite   %+v %+v", p, p.LastImport, l, l.LastImport)
	}
	t.Logf("%d records, %d ecosystems, %d hits compared", p.Records, len(p.Ecosystems), len(got[0]))
}
