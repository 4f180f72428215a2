package inventory

import (
	"errors"
	"fmt"
)

// Repo is a repository of a registry connection (or of a project's local
// images).
type Repo struct{ Namespace, Name string }

// StoredTag is the row a store holds for one tag, as a sync compares it
// with the listing.
type StoredTag struct {
	ID                     int64
	Digest, ManifestDigest string
}

// StoredTags are a connection's rows by repository and tag.
type StoredTags map[Repo]map[string]StoredTag

// Add records the row of tag in repository k.
func (s StoredTags) Add(k Repo, tag string, row StoredTag) {
	if s[k] == nil {
		s[k] = map[string]StoredTag{}
	}
	s[k][tag] = row
}

// ChangeKind is what a sync does to one row.
type ChangeKind uint8

const (
	// TagAdded inserts a row for a tag not seen before.
	TagAdded ChangeKind = iota + 1
	// TagMoved points an existing row (Old) at the tag's new digest: the
	// row keeps its id, its scan fields follow the new manifest.
	TagMoved
	// TagRemoved deletes the row (Old) of a tag its repository no longer
	// lists.
	TagRemoved
	// RepoRemoved deletes a row (Old) of a repository no longer listed.
	RepoRemoved
)

// TagChange is one row a sync writes.
type TagChange struct {
	Kind ChangeKind
	Repo Repo
	Tag  string
	// TagAdded and TagMoved: what the tag now points at (ManifestDigest is
	// the digest itself for a single-platform image).
	Digest, ManifestDigest string
	Old                    StoredTag // TagMoved, TagRemoved, RepoRemoved
}

// ErrDuplicateRepo is the error of a snapshot listing a repository twice:
// the store cannot tell which listing is the truth.
var ErrDuplicateRepo = errors.New("snapshot lists a repository twice")

// DiffSync compares snap with the rows a connection has (stored, which it
// consumes) and passes every row to write to apply, in order: per listed
// repository its added and moved tags in listing order, then its tags no
// longer listed; last the rows of repositories no longer listed, unless
// their listing failed this time (snap.Failed: a registry that failed to
// answer must not empty the inventory). It stops at the first error apply
// returns, and returns it as is. It returns the counts and the listed
// repositories, in listing order.
//
// A tag listed twice still is one tag (the first listing counts); a
// repository listed twice is ErrDuplicateRepo.
func DiffSync(snap Snapshot, stored StoredTags, apply func(TagChange) error) (SyncResult, []Repo, error) {
	var (
		res     SyncResult
		touched []Repo
		seen    = map[Repo]bool{}
	)
	for _, repo := range snap.Repositories {
		k := Repo{repo.Namespace, repo.Name}
		if seen[k] {
			return res, nil, fmt.Errorf("%w: %s/%s", ErrDuplicateRepo, k.Namespace, k.Name)
		}
		seen[k] = true
		touched = append(touched, k)
		old := stored[k]
		delete(stored, k)
		listed := make(map[string]bool, len(repo.Tags))
		for _, t := range repo.Tags {
			if listed[t.Tag] {
				continue
			}
			listed[t.Tag] = true
			md := t.ManifestDigest
			if md == "" {
				md = t.Digest
			}
			e, ok := old[t.Tag]
			if ok && e.Digest == t.Digest && e.ManifestDigest == md {
				res.Unchanged++
				continue
			}
			c := TagChange{Kind: TagAdded, Repo: k, Tag: t.Tag, Digest: t.Digest, ManifestDigest: md}
			if ok {
				c.Kind, c.Old = TagMoved, e
			}
			if err := apply(c); err != nil {
				return res, nil, err
			}
			if ok {
				res.Moved++
			} else {
				res.Added++
			}
		}
		for tag, e := range old {
			if listed[tag] {
				continue
			}
			if err := apply(TagChange{Kind: TagRemoved, Repo: k, Tag: tag, Old: e}); err != nil {
				return res, nil, err
			}
			res.Removed++
		}
	}
	failed := make(map[string]bool, len(snap.Failed))
	for _, f := range snap.Failed {
		failed[f] = true
	}
	for k, old := range stored {
		if failed[k.Namespace+"/"+k.Name] {
			continue
		}
		for tag, e := range old {
			if err := apply(TagChange{Kind: RepoRemoved, Repo: k, Tag: tag, Old: e}); err != nil {
				return res, nil, err
			}
			res.Removed++
		}
	}
	return res, touched, nil
}

// UpdateTime is a row's latest_update_time: the manifest's created time
// (ms), else, when the config has none, the time the tag was first seen.
func UpdateTime(created, firstSeen int64) int64 {
	if created <= 0 {
		return firstSeen
	}
	return created
}
