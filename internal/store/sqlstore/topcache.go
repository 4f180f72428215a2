package sqlstore

import (
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/openhss/openhss/internal/scanresult"
)

// topCache remembers TopImages' answers per project, enterprise projects
// and length, for the images generation they were read at (the list
// cache's, see listCache): TopImages reads images only, whose every
// committed change moves the generation, so an answer is served only while
// the rows it was read from are unchanged. Reading it sorts one severity
// level's rows (tens of thousands at 10^6 rows), and every Overview asks.
// Bounded: when full it is emptied.
type topCache struct {
	mu      sync.Mutex
	max     int
	entries map[string]topEntry
}

type topEntry struct {
	gen  int64
	rows []scanresult.TopImage
}

func newTopCache(max int) *topCache {
	return &topCache{max: max, entries: map[string]topEntry{}}
}

// topKey tells nil enterprise projects (every one) from a list of them.
func topKey(projectID string, enterpriseProjects []string, n int) string {
	eps := "*"
	if enterpriseProjects != nil {
		s := slices.Clone(enterpriseProjects)
		slices.Sort(s)
		eps = "[" + strings.Join(slices.Compact(s), "\x00") + "]"
	}
	return projectID + "\x00" + eps + "\x00" + strconv.Itoa(n)
}

func (c *topCache) get(key string, gen int64) ([]scanresult.TopImage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return nil, false
	}
	return slices.Clone(e.rows), true
}

func (c *topCache) put(key string, gen int64, rows []scanresult.TopImage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && e.gen > gen {
		return // a newer snapshot already answered
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[key] = topEntry{gen: gen, rows: slices.Clone(rows)}
}
