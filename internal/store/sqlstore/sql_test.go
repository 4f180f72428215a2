package sqlstore

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

func TestBuilder(t *testing.T) {
	every := func(b *builder) { // each kind of condition
		b.Eq("a", "x")
		b.Contains("b", "y")
		b.In("c", []string{"1"})
		b.In("d", []string{"1", "2", "3"})
		b.Op("e", "<=", int64(5))
		b.Where(b.d.IsTrue("f"))
	}
	cases := []struct {
		name     string
		d        Dialect
		prior    []any
		build    func(b *builder)
		wantSQL  string
		wantArgs []any
	}{
		{
			name:     "sqlite conditions",
			d:        SQLite,
			build:    every,
			wantSQL:  "a = ? AND instr(b, ?) > 0 AND c = ? AND d IN (?, ?, ?) AND e <= ? AND f = 1",
			wantArgs: []any{"x", "y", "1", "1", "2", "3", int64(5)},
		},
		{
			name:     "postgres conditions",
			d:        Postgres,
			build:    every,
			wantSQL:  "a = $1 AND strpos(b, $2) > 0 AND c = $3 AND d = ANY($4::text[]) AND e <= $5 AND f",
			wantArgs: []any{"x", "y", "1", []string{"1", "2", "3"}, int64(5)},
		},
		{
			// Extending a clause built before: numbering goes on after
			// its arguments.
			name:     "postgres after prior arguments",
			d:        Postgres,
			prior:    []any{"p", "t"},
			build:    func(b *builder) { b.Eq("x", 1) },
			wantSQL:  "x = $3",
			wantArgs: []any{"p", "t", 1},
		},
		{
			name:     "sqlite after prior arguments",
			d:        SQLite,
			prior:    []any{"p"},
			build:    func(b *builder) { b.Eq("x", 1) },
			wantSQL:  "x = ?",
			wantArgs: []any{"p", 1},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBuilder(tc.d, tc.prior...)
			tc.build(b)
			if got := b.SQL(); got != tc.wantSQL {
				t.Errorf("SQL = %q, want %q", got, tc.wantSQL)
			}
			if got := b.Args(); !reflect.DeepEqual(got, tc.wantArgs) {
				t.Errorf("Args = %#v, want %#v", got, tc.wantArgs)
			}
		})
	}
}

// TestNewCopiesPriorArgs: a page query extending a cached plan's arguments
// must not write into the plan's slice, which other requests read.
func TestNewCopiesPriorArgs(t *testing.T) {
	prior := make([]any, 1, 4)
	prior[0] = "p"
	b := newBuilder(SQLite, prior...)
	b.Arg("x")
	if got := prior[:2][1]; got != nil {
		t.Fatalf("New wrote %v into the caller's arguments", got)
	}
}

func TestImagesResolvedShapes(t *testing.T) {
	base := inventory.Filter{ProjectID: "p", Type: inventory.PrivateImage, EnterpriseProjects: []string{"0", "e2"}}
	yes, no := true, false
	size := int64(100)
	cases := []struct {
		name     string
		mod      func(*inventory.Filter)
		repos    Repos
		d        Dialect
		want     string
		reposOK  bool // ReposOnly
		resolved bool
	}{
		{
			name:    "type only",
			d:       SQLite,
			want:    "i.project_id = ? AND i.image_type = ? AND i.enterprise_project_id IN (?, ?)",
			reposOK: true,
		},
		{
			name:     "one repository: equalities",
			mod:      func(f *inventory.Filter) { f.ImageName = "app" },
			repos:    repos(t, 10, "ns", "app"),
			d:        Postgres,
			want:     "i.project_id = $1 AND i.image_type = $2 AND i.enterprise_project_id = ANY($3::text[]) AND i.namespace = $4 AND i.name = $5",
			reposOK:  true,
			resolved: true,
		},
		{
			name:     "few rows: sets",
			mod:      func(f *inventory.Filter) { f.Namespace = "n" },
			repos:    repos(t, MaxSortRows, "n1", "a", "n2", "b"),
			d:        SQLite,
			want:     "i.project_id = ? AND i.image_type = ? AND i.enterprise_project_id IN (?, ?) AND i.namespace IN (?, ?)",
			reposOK:  true,
			resolved: true,
		},
		{
			name:     "many rows in many namespaces: substring tests",
			mod:      func(f *inventory.Filter) { f.Namespace, f.ImageName = "n", "a" },
			repos:    repos(t, MaxSortRows+1, "n1", "a", "n2", "b"),
			d:        Postgres,
			want:     "i.project_id = $1 AND i.image_type = $2 AND i.enterprise_project_id = ANY($3::text[]) AND strpos(i.namespace, $4) > 0 AND strpos(i.name, $5) > 0",
			reposOK:  true,
			resolved: true,
		},
		{
			name:     "many rows in one namespace: its equality, name substring",
			mod:      func(f *inventory.Filter) { f.ImageName = "a" },
			repos:    repos(t, MaxSortRows+1, "n1", "a1", "n1", "a2"),
			d:        SQLite,
			want:     "i.project_id = ? AND i.image_type = ? AND i.enterprise_project_id IN (?, ?) AND i.namespace = ? AND instr(i.name, ?) > 0",
			reposOK:  true,
			resolved: true,
		},
		{
			name: "every other field",
			mod: func(f *inventory.Filter) {
				f.ImageVersion, f.InstanceName, f.InstanceID = "v", "in", "id"
				f.LatestVersionOnly, f.ScanStatus, f.MaxImageSize = true, inventory.ScanSuccess, &size
				f.StartLatestUpdateTime, f.EndLatestUpdateTime = &size, &size
				f.EndLatestScanTime = &size
				f.HasVul, f.HasUnsafeSetting = &yes, &no
			},
			d: SQLite,
			want: "i.project_id = ? AND i.image_type = ? AND i.enterprise_project_id IN (?, ?) AND instr(i.tag, ?) > 0" +
				" AND instr(i.instance_name, ?) > 0 AND i.instance_id = ? AND i.latest_version = 1 AND i.scan_status = ?" +
				" AND i.image_size <= ? AND i.latest_update_time >= ? AND i.latest_update_time <= ? AND i.latest_scan_time > 0" +
				" AND i.latest_scan_time <= ? AND i.vul_num > 0 AND i.scan_status = 'success' AND i.unsafe_setting_num = 0",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := base
			if tc.mod != nil {
				tc.mod(&f)
			}
			calls := 0
			w, err := imageWhere(tc.d, f, func() (Repos, error) { calls++; return tc.repos, nil })
			if err != nil {
				t.Fatal(err)
			}
			if w.Where != tc.want {
				t.Errorf("Where = %q\nwant    %q", w.Where, tc.want)
			}
			if w.ReposOnly != tc.reposOK || w.Resolved != tc.resolved || w.Empty {
				t.Errorf("ReposOnly, Resolved, Empty = %v, %v, %v; want %v, %v, false", w.ReposOnly, w.Resolved, w.Empty, tc.reposOK, tc.resolved)
			}
			if want := map[bool]int{true: 1, false: 0}[tc.resolved]; calls != want {
				t.Errorf("resolve called %d times, want %d", calls, want)
			}
			checkPlaceholders(t, tc.d, w.Where, w.Args)
		})
	}
}

func repos(t *testing.T, rows int64, nsNames ...string) Repos {
	t.Helper()
	var r Repos
	for i := 0; i < len(nsNames); i += 2 {
		r.Add(nsNames[i], nsNames[i+1], 0)
	}
	r.Rows = rows
	return r
}

func TestImagesUnresolvable(t *testing.T) {
	f := inventory.Filter{ProjectID: "p", Type: inventory.PrivateImage, Namespace: "x"}
	w, err := imageWhere(SQLite, f, func() (Repos, error) { return Repos{}, nil })
	if err != nil || !w.Empty || w.Where != "" {
		t.Fatalf("no repository matches: got %+v, %v; want Empty", w, err)
	}
	boom := errors.New("boom")
	if _, err := imageWhere(SQLite, f, func() (Repos, error) { return Repos{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("resolve error: got %v, want %v", err, boom)
	}
}

// TestImagesTextDependsOnShapeOnly: two filters setting the same fields,
// with the same number of enterprise projects and resolving to the same
// number of namespaces and names, give the same text (so prepared
// statements cached by text are reused), and every argument has its
// placeholder.
func TestImagesTextDependsOnShapeOnly(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, d := range []Dialect{SQLite, Postgres} {
		for range 500 {
			shape := rnd.Uint32()
			nsN, nameN := 1+rnd.IntN(4), 1+rnd.IntN(4)
			rows := int64(rnd.IntN(2 * MaxSortRows))
			var texts []string
			for v := range 2 {
				f := randomFilter(rnd, shape)
				w, err := imageWhere(d, f, func() (Repos, error) {
					var r Repos
					for i := range max(nsN, nameN) {
						r.Add("ns"+strconv.Itoa(min(i, nsN-1))+"-"+strconv.Itoa(v), "n"+strconv.Itoa(min(i, nameN-1))+"-"+strconv.Itoa(v), 0)
					}
					r.Rows = rows
					return r, nil
				})
				if err != nil {
					t.Fatal(err)
				}
				checkPlaceholders(t, d, w.Where, w.Args)
				texts = append(texts, w.Where)
			}
			if texts[0] != texts[1] {
				t.Fatalf("dialect %d, shape %b: texts differ for different values:\n%s\n%s", d, shape, texts[0], texts[1])
			}
		}
	}
}

// randomFilter sets the fields whose bit is set in shape, to random values.
func randomFilter(rnd *rand.Rand, shape uint32) inventory.Filter {
	on := func(bit int) bool { return shape&(1<<bit) != 0 }
	s := func() string { return strconv.Itoa(rnd.IntN(1000)) }
	i := func() *int64 { v := rnd.Int64(); return &v }
	bo := func(bit int) *bool { v := on(bit); return &v }
	f := inventory.Filter{ProjectID: s(), Type: inventory.ImageType(s())}
	if on(0) {
		f.EnterpriseProjects = []string{s(), s()}
	}
	if on(1) {
		f.Namespace = s()
	}
	if on(2) {
		f.ImageName = s()
	}
	if on(3) {
		f.ImageVersion = s()
	}
	if on(4) {
		f.InstanceName = s()
	}
	if on(5) {
		f.InstanceID = s()
	}
	f.LatestVersionOnly = on(6)
	if on(7) {
		f.ScanStatus = inventory.ScanStatus(s())
	}
	for bit, p := range []**int64{&f.MaxImageSize, &f.StartLatestUpdateTime, &f.EndLatestUpdateTime, &f.StartLatestScanTime, &f.EndLatestScanTime} {
		if on(8 + bit) {
			*p = i()
		}
	}
	for bit, p := range []**bool{&f.HasVul, &f.HasUnsafeSetting, &f.HasMaliciousFile} {
		if on(13 + 2*bit) {
			*p = bo(14 + 2*bit)
		}
	}
	return f
}

// checkPlaceholders fails unless q's placeholders are exactly one per
// argument: n question marks in SQLite, $1 to $n each at least once in
// PostgreSQL.
func checkPlaceholders(t *testing.T, d Dialect, q string, args []any) {
	t.Helper()
	if d == SQLite {
		if n := strings.Count(q, "?"); n != len(args) {
			t.Fatalf("%q: %d placeholders for %d arguments", q, n, len(args))
		}
		return
	}
	seen := map[int]bool{}
	for _, m := range regexp.MustCompile(`\$(\d+)`).FindAllStringSubmatch(q, -1) {
		n, _ := strconv.Atoi(m[1])
		seen[n] = true
	}
	for n := 1; n <= len(args); n++ {
		if !seen[n] {
			t.Fatalf("%q: no placeholder $%d of %d arguments", q, n, len(args))
		}
	}
	if len(seen) != len(args) {
		t.Fatalf("%q: placeholders %v for %d arguments", q, seen, len(args))
	}
}

func TestImagePage(t *testing.T) {
	cases := []struct {
		name     string
		d        Dialect
		from     *SortKey
		wantCond string
		wantTail string
		wantArgs []any
	}{
		{"sqlite", SQLite, nil, "WHERE i.project_id = ?\n", "LIMIT ? OFFSET ?)", []any{"p", 10, 20}},
		{"sqlite from a key", SQLite, &SortKey{5, 6}, "WHERE i.project_id = ? AND (i.latest_update_time, i.id) <= (?, ?)\n", "LIMIT ? OFFSET ?)", []any{"p", int64(5), int64(6), 10, 20}},
		{"postgres", Postgres, nil, "WHERE i.project_id = $1\n", "LIMIT $2 OFFSET $3)", []any{"p", 10, 20}},
		{"postgres from a key", Postgres, &SortKey{5, 6}, "WHERE i.project_id = $1 AND (i.latest_update_time, i.id) <= ($2, $3)\n", "LIMIT $4 OFFSET $5)", []any{"p", int64(5), int64(6), 10, 20}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			where := "i.project_id = " + tc.d.Placeholder(1)
			q, args := imagePage(tc.d, "i.id, i.name", where, []any{"p"}, tc.from, 10, 20, listOrder)
			if !strings.HasPrefix(q, "SELECT i.id, i.name\n") || !strings.Contains(q, tc.wantCond) || !strings.Contains(q, tc.wantTail) {
				t.Errorf("query %q: want columns, %q and %q", q, tc.wantCond, tc.wantTail)
			}
			if !reflect.DeepEqual(args, tc.wantArgs) {
				t.Errorf("args = %#v, want %#v", args, tc.wantArgs)
			}
		})
	}
}

func TestRepos(t *testing.T) {
	var r Repos
	for _, row := range []struct {
		ns, name string
		n        int64
	}{{"a", "x", 1}, {"b", "x", 2}, {"a", "y", 3}, {"a", "x", 4}, {"c", "", 5}} { // c: an image_namespaces row
		r.Add(row.ns, row.name, row.n)
	}
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(r.Namespaces, want) {
		t.Errorf("Namespaces = %v, want %v", r.Namespaces, want)
	}
	if want := []string{"x", "y"}; !reflect.DeepEqual(r.Names, want) {
		t.Errorf("Names = %v, want %v", r.Names, want)
	}
	if r.Rows != 15 {
		t.Errorf("Rows = %d, want 15", r.Rows)
	}
}

func TestRepoFilter(t *testing.T) {
	f := inventory.Filter{ProjectID: "p", Type: inventory.PrivateImage, EnterpriseProjects: []string{"0"}}
	ns, name, both := f, f, f
	ns.Namespace, name.ImageName = "n", "m"
	both.Namespace, both.ImageName = "n", "m"
	cases := []struct {
		d    Dialect
		f    inventory.Filter
		want string
	}{
		{SQLite, f, "project_id = ? AND image_type = ? AND enterprise_project_id = ?"},
		{SQLite, ns, "project_id = ? AND image_type = ? AND enterprise_project_id = ? AND instr(namespace, ?) > 0"},
		{SQLite, name, "project_id = ? AND image_type = ? AND enterprise_project_id = ? AND instr(name, ?) > 0"},
		{Postgres, both, "project_id = $1 AND image_type = $2 AND enterprise_project_id = $3 AND strpos(namespace, $4) > 0 AND strpos(name, $5) > 0"},
	}
	for _, tc := range cases {
		b := RepoFilter(tc.d, tc.f)
		if got := b.SQL(); got != tc.want {
			t.Errorf("dialect %d, %q/%q: %q, want %q", tc.d, tc.f.Namespace, tc.f.ImageName, got, tc.want)
		}
		checkPlaceholders(t, tc.d, b.SQL(), b.Args())
	}
}

// TestKey: filters differing in any one field that selects rows have
// different keys; paging does not change the key.
func TestKey(t *testing.T) {
	n, m := int64(1), int64(2)
	yes, no := true, false
	base := inventory.Filter{ProjectID: "p", Type: inventory.PrivateImage}
	mods := map[string]func(*inventory.Filter){
		"project":          func(f *inventory.Filter) { f.ProjectID = "q" },
		"type":             func(f *inventory.Filter) { f.Type = inventory.SharedImage },
		"no ep":            func(f *inventory.Filter) { f.EnterpriseProjects = []string{} },
		"ep":               func(f *inventory.Filter) { f.EnterpriseProjects = []string{"0"} },
		"ep with comma":    func(f *inventory.Filter) { f.EnterpriseProjects = []string{`0",`} },
		"two eps":          func(f *inventory.Filter) { f.EnterpriseProjects = []string{"0", "1"} },
		"namespace":        func(f *inventory.Filter) { f.Namespace = "n" },
		"name":             func(f *inventory.Filter) { f.ImageName = "n" },
		"version":          func(f *inventory.Filter) { f.ImageVersion = "n" },
		"instance name":    func(f *inventory.Filter) { f.InstanceName = "n" },
		"instance id":      func(f *inventory.Filter) { f.InstanceID = "n" },
		"latest":           func(f *inventory.Filter) { f.LatestVersionOnly = true },
		"status":           func(f *inventory.Filter) { f.ScanStatus = inventory.ScanSuccess },
		"size":             func(f *inventory.Filter) { f.MaxImageSize = &n },
		"size 2":           func(f *inventory.Filter) { f.MaxImageSize = &m },
		"update from":      func(f *inventory.Filter) { f.StartLatestUpdateTime = &n },
		"update to":        func(f *inventory.Filter) { f.EndLatestUpdateTime = &n },
		"scan from":        func(f *inventory.Filter) { f.StartLatestScanTime = &n },
		"scan to":          func(f *inventory.Filter) { f.EndLatestScanTime = &n },
		"vul":              func(f *inventory.Filter) { f.HasVul = &yes },
		"no vul":           func(f *inventory.Filter) { f.HasVul = &no },
		"unsafe":           func(f *inventory.Filter) { f.HasUnsafeSetting = &yes },
		"malicious":        func(f *inventory.Filter) { f.HasMaliciousFile = &yes },
		"namespace, comma": func(f *inventory.Filter) { f.Namespace = `",` },
		"no registry":      func(f *inventory.Filter) { f.RegistryIDs = []int64{} },
		"registry":         func(f *inventory.Filter) { f.RegistryIDs = []int64{1} },
		"registries":       func(f *inventory.Filter) { f.RegistryIDs = []int64{1, 2} },
		"registry 12":      func(f *inventory.Filter) { f.RegistryIDs = []int64{12} },
	}
	seen := map[string]string{Key(base): "base"}
	for name, mod := range mods {
		f := base
		mod(&f)
		k := Key(f)
		if other, ok := seen[k]; ok {
			t.Errorf("%s and %s share key %q", name, other, k)
		}
		seen[k] = name
	}
	paged := base
	paged.Offset, paged.Limit = 10, 20
	if Key(paged) != Key(base) {
		t.Errorf("paging changed the key: %q, %q", Key(paged), Key(base))
	}
	// Enterprise projects in another order or repeated select the same
	// rows: the same key.
	two := base
	two.EnterpriseProjects = []string{"0", "1"}
	for _, eps := range [][]string{{"1", "0"}, {"0", "1", "0"}} {
		f := base
		f.EnterpriseProjects = eps
		if Key(f) != Key(two) {
			t.Errorf("enterprise projects %q: key %q, want %q's %q", eps, Key(f), two.EnterpriseProjects, Key(two))
		}
	}
}

// TestTopKey: TopImages' cache keys differ in project, enterprise
// projects (every one, none, which) and length, whatever the bytes of the
// names; enterprise projects in another order or repeated share a key.
func TestTopKey(t *testing.T) {
	seen := map[string]string{}
	for name, k := range map[string]string{
		"every ep":           topKey("p", nil, 5),
		"no ep":              topKey("p", []string{}, 5),
		"ep 0":               topKey("p", []string{"0"}, 5),
		"eps 0 1":            topKey("p", []string{"0", "1"}, 5),
		"ep with a NUL":      topKey("p", []string{"0\x001"}, 5),
		"ep *":               topKey("p", []string{"*"}, 5),
		"ep with a comma":    topKey("p", []string{`0",`}, 5),
		"other project":      topKey("q", nil, 5),
		"project with a NUL": topKey("p\x00*", nil, 5),
		"length 0":           topKey("p", nil, 0),
		"ten":                topKey("p", nil, 10),
	} {
		if other, ok := seen[k]; ok {
			t.Errorf("%s and %s share key %q", name, other, k)
		}
		seen[k] = name
	}
	for _, eps := range [][]string{{"1", "0"}, {"0", "1", "1"}} {
		if got, want := topKey("p", eps, 5), topKey("p", []string{"0", "1"}, 5); got != want {
			t.Errorf("enterprise projects %q: key %q, want %q", eps, got, want)
		}
	}
}

func TestRegistries(t *testing.T) {
	f := inventory.RegistryFilter{ProjectID: "p", EnterpriseProjects: []string{"0", "1"}, Name: "n", ID: 3,
		Type: inventory.Harbor, Addr: "a", Status: "ok", Offset: 1, Limit: 2}
	cases := []struct {
		d    Dialect
		want string
	}{
		{SQLite, "r.project_id = ? AND r.enterprise_project_id IN (?, ?) AND instr(r.name, ?) > 0 AND r.id = ? AND r.type = ? AND instr(r.addr, ?) > 0 AND r.status = ?"},
		{Postgres, "r.project_id = $1 AND r.enterprise_project_id = ANY($2::text[]) AND strpos(r.name, $3) > 0 AND r.id = $4 AND r.type = $5 AND strpos(r.addr, $6) > 0 AND r.status = $7"},
	}
	for _, tc := range cases {
		b := Registries(tc.d, f)
		if got := b.SQL(); got != tc.want {
			t.Errorf("dialect %d: %q, want %q", tc.d, got, tc.want)
		}
		checkPlaceholders(t, tc.d, b.SQL(), b.Args())
	}
	if got := Registries(SQLite, inventory.RegistryFilter{ProjectID: "p"}).SQL(); got != "r.project_id = ?" {
		t.Errorf("project only: %q", got)
	}
}

func TestRegistryTypes(t *testing.T) {
	for _, it := range []inventory.ImageType{inventory.PrivateImage, inventory.SharedImage, inventory.InstanceImage} {
		types := RegistryTypes(it)
		if len(types) == 0 {
			t.Errorf("%s: no registry type", it)
		}
		for _, rt := range types {
			if got := inventory.RegistryType(rt).ImageType(); got != it {
				t.Errorf("%s: type %s has image type %s", it, rt, got)
			}
		}
	}
}

func TestMarks(t *testing.T) {
	var m Marks
	if _, _, ok := m.Nearest(5); ok {
		t.Fatal("no marks: found one")
	}
	m.Set(10, SortKey{1, 1})
	m.Set(30, SortKey{3, 3})
	cases := []struct {
		offset int
		at     int
		key    SortKey
		ok     bool
	}{
		{9, 0, SortKey{}, false},
		{10, 10, SortKey{1, 1}, true},
		{29, 10, SortKey{1, 1}, true},
		{30, 30, SortKey{3, 3}, true},
		{1000, 30, SortKey{3, 3}, true},
	}
	for _, tc := range cases {
		at, key, ok := m.Nearest(tc.offset)
		if at != tc.at || key != tc.key || ok != tc.ok {
			t.Errorf("Nearest(%d) = %d, %v, %v; want %d, %v, %v", tc.offset, at, key, ok, tc.at, tc.key, tc.ok)
		}
	}
	// Bounded: the mark past MaxMarks starts afresh.
	for i := range MaxMarks {
		m.Set(100+i, SortKey{int64(i), 0})
	}
	if len(m) > MaxMarks {
		t.Fatalf("%d marks kept, at most %d", len(m), MaxMarks)
	}
	if _, _, ok := m.Nearest(99); ok {
		t.Error("old marks survived the bound")
	}
}

func TestRows(t *testing.T) {
	cols := []col{{"text", []string{"a", "b"}}, {"int8", []int64{1, 2}}}
	cases := []struct {
		d        Dialect
		wantSQL  string
		wantArgs []any
	}{
		{SQLite, "VALUES (?, ?), (?, ?)", []any{"a", int64(1), "b", int64(2)}},
		{Postgres, "SELECT * FROM unnest($2::text[], $3::int8[])", []any{"x", []string{"a", "b"}, []int64{1, 2}}},
	}
	for _, c := range cases {
		b := newBuilder(c.d)
		if c.d == Postgres {
			b.Arg("x") // numbering goes on after arguments bound before
		}
		if got := b.Rows(cols...); got != c.wantSQL {
			t.Errorf("%s: Rows = %q, want %q", c.d, got, c.wantSQL)
		}
		if !reflect.DeepEqual(b.Args(), c.wantArgs) {
			t.Errorf("%s: args = %#v, want %#v", c.d, b.Args(), c.wantArgs)
		}
	}
	if n := SQLite.MaxRows(5); n*5 > sqliteMaxArgs || (n+1)*5 <= sqliteMaxArgs {
		t.Errorf("SQLite.MaxRows(5) = %d", n)
	}
}
