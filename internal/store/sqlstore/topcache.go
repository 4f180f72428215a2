package sqlstore

import (
	"slices"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/scanresult"
)

// topCache remembers TopImages' answers per project, enterprise projects
// and length, for the images generation they were read at (see genCache):
// TopImages reads images only, whose every committed change moves the
// generation, so an answer is served only while the rows it was read from
// are unchanged. Reading it sorts one severity level's rows (tens of
// thousands at 10^6 rows), and every Overview asks.
type topCache struct {
	*genCache[[]scanresult.TopImage]
}

func newTopCache(max int) *topCache {
	return &topCache{newGenCache[[]scanresult.TopImage](max)}
}

// topKey is the key of TopImages' answer for the project's rows in
// enterpriseProjects (nil: every one), n long; its enterprise projects are
// spelt as the list cache's Key spells them.
func topKey(projectID string, enterpriseProjects []string, n int) string {
	var b strings.Builder
	b.WriteString(strconv.Quote(projectID) + ",")
	keyEnterpriseProjects(&b, enterpriseProjects)
	b.WriteString(strconv.Itoa(n))
	return b.String()
}

// get and put copy the rows: the cached ones are shared by every caller.
func (c *topCache) get(key string, gen int64) ([]scanresult.TopImage, bool) {
	rows, ok := c.genCache.get(key, gen)
	return slices.Clone(rows), ok
}

func (c *topCache) put(key string, gen int64, rows []scanresult.TopImage) {
	c.genCache.put(key, gen, slices.Clone(rows))
}
