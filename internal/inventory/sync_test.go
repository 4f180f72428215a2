package inventory

import (
	"errors"
	"reflect"
	"testing"
)

func TestDiffSync(t *testing.T) {
	stored := func() StoredTags {
		s := StoredTags{}
		s.Add(Repo{"a", "x"}, "same", StoredTag{ID: 1, Digest: "d1", ManifestDigest: "d1"})
		s.Add(Repo{"a", "x"}, "moved", StoredTag{ID: 2, Digest: "d2", ManifestDigest: "d2"})
		s.Add(Repo{"a", "x"}, "gone", StoredTag{ID: 3, Digest: "d3", ManifestDigest: "d3"})
		s.Add(Repo{"b", "y"}, "t", StoredTag{ID: 4, Digest: "d4", ManifestDigest: "d4"})
		s.Add(Repo{"c", "z"}, "t", StoredTag{ID: 5, Digest: "d5", ManifestDigest: "d5"})
		s.Add(Repo{"i", "x"}, "t", StoredTag{ID: 6, Digest: "idx", ManifestDigest: "m1"})
		return s
	}
	snap := Snapshot{
		Repositories: []RepoSnapshot{
			{Namespace: "a", Name: "x", Tags: []TagRef{
				{Tag: "new", Digest: "i", ManifestDigest: "m"},
				{Tag: "same", Digest: "d1"},
				{Tag: "moved", Digest: "d9"},
				{Tag: "new", Digest: "other"}, // listed twice: the first listing counts
			}},
			{Namespace: "n", Name: "w", Tags: []TagRef{{Tag: "t", Digest: "e"}}},
			// Same index, another platform member chosen: the row moves.
			{Namespace: "i", Name: "x", Tags: []TagRef{{Tag: "t", Digest: "idx", ManifestDigest: "m2"}}},
		},
		Failed: []string{"c/z"}, // not listed this time: its rows stay
	}
	var got []TagChange
	res, touched, err := DiffSync(snap, stored(), func(c TagChange) error { got = append(got, c); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []TagChange{
		{Kind: TagAdded, Repo: Repo{"a", "x"}, Tag: "new", Digest: "i", ManifestDigest: "m"},
		{Kind: TagMoved, Repo: Repo{"a", "x"}, Tag: "moved", Digest: "d9", ManifestDigest: "d9", Old: StoredTag{2, "d2", "d2"}},
		{Kind: TagRemoved, Repo: Repo{"a", "x"}, Tag: "gone", Old: StoredTag{3, "d3", "d3"}},
		{Kind: TagAdded, Repo: Repo{"n", "w"}, Tag: "t", Digest: "e", ManifestDigest: "e"},
		{Kind: TagMoved, Repo: Repo{"i", "x"}, Tag: "t", Digest: "idx", ManifestDigest: "m2", Old: StoredTag{6, "idx", "m1"}},
		{Kind: RepoRemoved, Repo: Repo{"b", "y"}, Tag: "t", Old: StoredTag{4, "d4", "d4"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes =\n%+v\nwant\n%+v", got, want)
	}
	if wantRes := (SyncResult{Added: 2, Moved: 2, Removed: 2, Unchanged: 1}); res != wantRes {
		t.Errorf("result = %+v, want %+v", res, wantRes)
	}
	if wantTouched := []Repo{{"a", "x"}, {"n", "w"}, {"i", "x"}}; !reflect.DeepEqual(touched, wantTouched) {
		t.Errorf("touched = %v, want %v", touched, wantTouched)
	}

	t.Run("apply error stops", func(t *testing.T) {
		boom := errors.New("boom")
		calls := 0
		_, _, err := DiffSync(snap, stored(), func(TagChange) error { calls++; return boom })
		if !errors.Is(err, boom) || calls != 1 {
			t.Errorf("err = %v after %d calls, want boom after 1", err, calls)
		}
	})
	t.Run("repository listed twice", func(t *testing.T) {
		twice := Snapshot{Repositories: []RepoSnapshot{{Namespace: "a", Name: "x"}, {Namespace: "a", Name: "x"}}}
		calls := 0
		_, _, err := DiffSync(twice, StoredTags{}, func(TagChange) error { calls++; return nil })
		if !errors.Is(err, ErrDuplicateRepo) || err.Error() != "snapshot lists a repository twice: a/x" || calls != 0 {
			t.Errorf("err = %v after %d calls", err, calls)
		}
	})
}

func TestUpdateTime(t *testing.T) {
	for _, c := range []struct{ created, firstSeen, want int64 }{
		{created: 5, firstSeen: 9, want: 5},
		{created: 0, firstSeen: 9, want: 9},
		{created: -1, firstSeen: 9, want: 9}, // a config time before 1970 is no time
	} {
		if got := UpdateTime(c.created, c.firstSeen); got != c.want {
			t.Errorf("UpdateTime(%d, %d) = %d, want %d", c.created, c.firstSeen, got, c.want)
		}
	}
}

func TestSharedStatus(t *testing.T) {
	for _, c := range []struct {
		name         string
		typ          ImageType
		expires, now int64
		want         string
	}{
		{"never expires", SharedImage, 0, 100, SharedEffective},
		{"before expiry", SharedImage, 100, 99, SharedEffective},
		{"at expiry", SharedImage, 100, 100, SharedEffective},
		{"after expiry", SharedImage, 100, 101, SharedExpired},
		{"private image", PrivateImage, 100, 101, ""},
		{"local image", LocalImage, 0, 1, ""},
	} {
		if got := SharedStatus(c.typ, c.expires, c.now); got != c.want {
			t.Errorf("%s: SharedStatus(%s, %d, %d) = %q, want %q", c.name, c.typ, c.expires, c.now, got, c.want)
		}
	}
}

func TestLocalImageDefaults(t *testing.T) {
	full := Image{ProjectID: "p", Name: "n", Tag: "t", Digest: "d"}
	for _, c := range []struct {
		name      string
		edit      func(*Image)
		wantEP    string
		wantMD    string
		wantError bool
	}{
		{name: "defaults", edit: func(*Image) {}, wantEP: DefaultEnterpriseProject, wantMD: "d"},
		{name: "kept", edit: func(i *Image) { i.EnterpriseProjectID, i.ManifestDigest = "ep", "m" }, wantEP: "ep", wantMD: "m"},
		{name: "no project", edit: func(i *Image) { i.ProjectID = "" }, wantError: true},
		{name: "no name", edit: func(i *Image) { i.Name = "" }, wantError: true},
		{name: "no tag", edit: func(i *Image) { i.Tag = "" }, wantError: true},
		{name: "no digest", edit: func(i *Image) { i.Digest = "" }, wantError: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := full
			c.edit(&img)
			got, md, err := LocalImageDefaults(img)
			if c.wantError {
				if !errors.Is(err, ErrIncompleteLocalImage) {
					t.Errorf("err = %v, want ErrIncompleteLocalImage", err)
				}
				return
			}
			if err != nil || md != c.wantMD || got.EnterpriseProjectID != c.wantEP {
				t.Errorf("= %+v, %q, %v; want enterprise project %q, manifest %q", got, md, err, c.wantEP, c.wantMD)
			}
		})
	}
}
