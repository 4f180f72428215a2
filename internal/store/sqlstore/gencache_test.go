package sqlstore

import (
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/scanresult"
)

func TestGenCache(t *testing.T) {
	type put struct {
		key string
		gen int64
		val string
	}
	tests := []struct {
		name string
		puts []put
		key  string
		gen  int64
		want string // "" for a miss
	}{
		{name: "hit", puts: []put{{"a", 1, "x"}}, key: "a", gen: 1, want: "x"},
		{name: "other key", puts: []put{{"a", 1, "x"}}, key: "b", gen: 1},
		{name: "older generation", puts: []put{{"a", 1, "x"}}, key: "a", gen: 2},
		{name: "newer generation", puts: []put{{"a", 2, "x"}}, key: "a", gen: 1},
		{name: "newer put replaces", puts: []put{{"a", 1, "x"}, {"a", 2, "y"}}, key: "a", gen: 2, want: "y"},
		{name: "same generation replaces", puts: []put{{"a", 1, "x"}, {"a", 1, "y"}}, key: "a", gen: 1, want: "y"},
		{name: "newer snapshot already answered", puts: []put{{"a", 2, "y"}, {"a", 1, "x"}}, key: "a", gen: 2, want: "y"},
		{name: "stale put stores nothing", puts: []put{{"a", 2, "y"}, {"a", 1, "x"}}, key: "a", gen: 1},
		// Bounded at 2: the third key empties the cache first.
		{name: "full: emptied", puts: []put{{"a", 1, "x"}, {"b", 1, "y"}, {"c", 1, "z"}}, key: "a", gen: 1},
		{name: "full: the new entry kept", puts: []put{{"a", 1, "x"}, {"b", 1, "y"}, {"c", 1, "z"}}, key: "c", gen: 1, want: "z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newGenCache[string](2)
			for _, p := range tc.puts {
				c.put(p.key, p.gen, p.val)
			}
			got, ok := c.get(tc.key, tc.gen)
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("get(%q, %d) = %q, %v; want %q", tc.key, tc.gen, got, ok, tc.want)
			}
			if len(c.entries) > c.max {
				t.Errorf("%d entries, at most %d", len(c.entries), c.max)
			}
		})
	}
}

// TestListCachePageRows checks the list cache's count of the rows its
// pages hold, which bounds them: a plan put again at a newer generation
// drops its entry's pages from the count, emptying the cache zeroes it,
// and a page past the bound drops every page first.
func TestListCachePageRows(t *testing.T) {
	page := func(n int) []inventory.Image { return make([]inventory.Image, n) }
	c := newListCache(2)
	c.pageLimit = 12
	p := listPlan{total: 100}

	c.put("a", 1, p)
	c.putPage("a", 1, 0, 4, page(4))
	c.putPage("a", 1, 4, 4, page(4))
	c.putPage("a", 1, 4, 4, page(4)) // the same page again counts once
	c.putPage("a", 2, 8, 4, page(4)) // not the entry's generation
	if c.pageRows != 8 {
		t.Fatalf("%d page rows, want 8", c.pageRows)
	}
	if _, imgs, ok := c.served("a", 1, 4, 4); !ok || len(imgs) != 4 {
		t.Fatalf("page at 4 not served: %d rows, %v", len(imgs), ok)
	}

	c.put("a", 2, p)
	if c.pageRows != 0 {
		t.Fatalf("%d page rows after a newer plan replaced the entry, want 0", c.pageRows)
	}
	if _, _, ok := c.served("a", 2, 0, 4); ok {
		t.Fatal("a page of the replaced entry served")
	}

	c.putPage("a", 2, 0, 6, page(6))
	c.put("b", 2, p)
	c.putPage("b", 2, 0, 7, page(7)) // 13 rows would pass the bound of 12
	if c.pageRows != 7 {
		t.Fatalf("%d page rows, want 7", c.pageRows)
	}
	if _, _, ok := c.served("a", 2, 0, 6); ok {
		t.Fatal("a page dropped for the bound served")
	}

	c.put("c", 2, p) // a third filter empties the cache
	if c.pageRows != 0 || len(c.entries) != 1 {
		t.Fatalf("%d page rows and %d entries after the cache was emptied, want 0 and 1", c.pageRows, len(c.entries))
	}
}

// TestTopCacheCopies checks that neither the rows put nor the rows got
// share memory with the cached ones.
func TestTopCacheCopies(t *testing.T) {
	c := newTopCache(4)
	rows := []scanresult.TopImage{{ID: 1}}
	c.put("k", 1, rows)
	rows[0].ID = 2
	got, ok := c.get("k", 1)
	if !ok || got[0].ID != 1 {
		t.Fatalf("got %+v, %v; want ID 1", got, ok)
	}
	got[0].ID = 3
	if again, _ := c.get("k", 1); again[0].ID != 1 {
		t.Fatalf("got %+v after changing a copy; want ID 1", again)
	}
}
