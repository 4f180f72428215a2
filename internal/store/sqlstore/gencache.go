package sqlstore

import "sync"

// genCache holds values by key, each valid only for the images generation
// it was read at: the generation (Dialect.listGeneration) grows with every
// committed insert, update and delete of images, inside the writing
// transaction, by any process, and a reader reads it in the same snapshot
// as the rows. So nothing cached is ever served for data it was not
// computed on. The cache is bounded: when full it is emptied (values are
// cheap to recompute once).
type genCache[V any] struct {
	mu      sync.RWMutex // read-locked on the hot path, by every request
	max     int
	entries map[string]*genEntry[V]
}

type genEntry[V any] struct {
	gen int64
	val V
}

func newGenCache[V any](max int) *genCache[V] {
	return &genCache[V]{max: max, entries: map[string]*genEntry[V]{}}
}

// at returns key's value if it was read at gen; the caller holds mu, read-
// locked at least (write-locked to change the value).
func (c *genCache[V]) at(key string, gen int64) (*V, bool) {
	e, ok := c.entries[key]
	if !ok || e.gen != gen {
		return nil, false
	}
	return &e.val, true
}

// get returns key's value if it was read at gen.
func (c *genCache[V]) get(key string, gen int64) (v V, ok bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if e, ok := c.at(key, gen); ok {
		return *e, true
	}
	return v, false
}

// put stores v, read at gen, under key.
func (c *genCache[V]) put(key string, gen int64, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(key, gen, v)
}

// set is put with mu write-locked by the caller. It returns the value it
// replaced, if any, and whether it emptied the cache, for a caller that
// accounts for what its values hold; it stores nothing, and returns nil
// and false, when a newer snapshot already answered.
func (c *genCache[V]) set(key string, gen int64, v V) (replaced *V, emptied bool) {
	if e, ok := c.entries[key]; ok {
		if e.gen > gen {
			return nil, false // a newer snapshot already answered
		}
		replaced = &e.val
	}
	if len(c.entries) >= c.max {
		clear(c.entries)
		emptied = true
	}
	c.entries[key] = &genEntry[V]{gen: gen, val: v}
	return replaced, emptied
}
