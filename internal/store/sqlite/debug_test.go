package sqlite

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestDebugPlans(t *testing.T) {
	path := os.Getenv("OPENHSS_DEBUG_DB")
	if path == "" {
		t.Skip()
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []string{
		`SELECT count(*) FROM images i WHERE i.project_id = 'bench-project' AND i.image_type = 'private_image'`,
		`SELECT count(*) FROM images i INDEXED BY images_list WHERE i.project_id = 'bench-project' AND i.image_type = 'private_image'`,
		`SELECT count(*) FROM images i WHERE i.project_id = 'bench-project' AND i.image_type = 'private_image' AND i.vul_num > 0`,
		`SELECT count(*) FROM images i WHERE i.project_id = 'bench-project' AND i.image_type = 'private_image' AND i.namespace = 'ns-07'`,
		`SELECT i.id FROM images i WHERE i.project_id = 'bench-project' AND i.image_type = 'private_image' AND (i.latest_update_time, i.id) <= (1720000000000, 500000) ORDER BY i.latest_update_time DESC, i.id DESC LIMIT 10`,
		`SELECT i.id FROM images i WHERE i.project_id = 'bench-project' AND i.image_type = 'private_image' AND i.namespace = 'ns-07' AND (i.latest_update_time, i.id) <= (1720000000000, 500000) ORDER BY i.latest_update_time DESC, i.id DESC LIMIT 10`,
	} {
		rows, err := s.read.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, c int
			var d string
			rows.Scan(&a, &b, &c, &d)
			t.Logf("plan: %s", d)
		}
		rows.Close()
		for range 2 {
			start := time.Now()
			r, err := s.read.Query(q)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for r.Next() {
				n++
			}
			r.Close()
			t.Logf("%v rows=%d  %s", time.Since(start), n, q)
		}
	}
}
