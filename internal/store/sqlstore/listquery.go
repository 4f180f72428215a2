package sqlstore

import (
	"slices"
	"strconv"
	"strings"

	"github.com/openhss/openhss/internal/inventory"
)

// MaxSortRows bounds the rows of the repositories a substring resolved to
// that the page query may sort; past it, walking the list's own index in
// order and testing the substring on the covered namespace and name is
// cheaper.
const MaxSortRows = 5000

// Repos is what a filter's namespace and image name substrings resolve to
// in image_repos (or image_namespaces, for a namespace alone): the
// distinct namespaces and names of the matching repositories, in the
// order first read, and how many rows they hold. Names is empty when only
// namespaces were read.
type Repos struct {
	Namespaces, Names []string
	Rows              int64

	seenNS, seenName map[string]bool
}

// Add counts one matching image_repos row, or with name "" one
// image_namespaces row (no repository has an empty name).
func (r *Repos) Add(namespace, name string, rows int64) {
	if r.seenNS == nil {
		r.seenNS, r.seenName = map[string]bool{}, map[string]bool{}
	}
	r.Rows += rows
	if !r.seenNS[namespace] {
		r.seenNS[namespace] = true
		r.Namespaces = append(r.Namespaces, namespace)
	}
	if name != "" && !r.seenName[name] {
		r.seenName[name] = true
		r.Names = append(r.Names, name)
	}
}

// RepoFilter is f's project, type, enterprise projects and namespace and
// image name substrings (those not empty: every string contains "") as
// conditions on image_repos, or without an image name on
// image_namespaces.
func RepoFilter(d Dialect, f inventory.Filter) *builder {
	b := newImageScoped(d, "", f)
	if f.Namespace != "" {
		b.Contains("namespace", f.Namespace)
	}
	if f.ImageName != "" {
		b.Contains("name", f.ImageName)
	}
	return b
}

// ImageWhere is an image filter translated into a condition over images
// aliased i.
type ImageWhere struct {
	Where string
	Args  []any
	Empty bool // no row can match (Where is empty)
	// ReposOnly: every condition is on type, namespace, name and
	// enterprise project, so image_repos counts the rows without touching
	// images.
	ReposOnly bool
	// Resolved: the substrings were resolved, and Repos.Rows is the count.
	Resolved bool
	Repos    Repos
}

// imageWhere translates f (the caller has already answered a filter granting
// no enterprise project). Namespace and image name substrings are first
// resolved, by resolve, into the exact values that match: a single
// namespace or repository becomes an equality that walks images_ns /
// images_repo in list order; a few become sets; many stay substring tests
// over images_list, where matches are dense.
func imageWhere(d Dialect, f inventory.Filter, resolve func() (Repos, error)) (ImageWhere, error) {
	return imageWhereRegs(d, f, resolve, nil)
}

// imageWhereRegs is imageWhere with f's conditions on the owning
// connection resolved to the connection ids regIDs (nil: not resolved; an
// empty set is the caller's to answer).
func imageWhereRegs(d Dialect, f inventory.Filter, resolve func() (Repos, error), regIDs []int64) (ImageWhere, error) {
	var w ImageWhere
	b := newImageScoped(d, "i.", f)
	if (f.RegistryTypes != nil && len(f.RegistryTypes) == 0) || (f.RegistryIDs != nil && len(f.RegistryIDs) == 0) {
		return ImageWhere{Empty: true}, nil
	}
	if f.Namespace != "" || f.ImageName != "" {
		r, err := resolve()
		if err != nil {
			return w, err
		}
		if len(r.Namespaces) == 0 {
			return ImageWhere{Empty: true, Resolved: true}, nil
		}
		w.Resolved, w.Repos = true, r
		// Equality on one namespace (and one name) keeps the walk in list
		// order; sets need a sort, affordable only for few rows.
		exact := (len(r.Namespaces) == 1 && len(r.Names) <= 1) || r.Rows <= MaxSortRows
		if exact || len(r.Namespaces) == 1 {
			b.In("i.namespace", r.Namespaces)
		} else if f.Namespace != "" {
			b.Contains("i.namespace", f.Namespace)
		}
		switch {
		case f.ImageName == "":
		case exact:
			b.In("i.name", r.Names)
		default:
			b.Contains("i.name", f.ImageName)
		}
	}
	repoConds := b.Len()
	if f.ImageVersion != "" {
		b.Contains("i.tag", f.ImageVersion)
	}
	if f.InstanceName != "" {
		b.Contains("i.instance_name", f.InstanceName)
	}
	if f.InstanceID != "" {
		b.Eq("i.instance_id", f.InstanceID)
	}
	if f.LatestVersionOnly {
		b.Where(d.IsTrue("i.latest_version"))
	}
	if f.ScanStatus != "" {
		b.Eq("i.scan_status", string(f.ScanStatus))
	}
	if f.MaxImageSize != nil {
		b.Op("i.image_size", "<=", *f.MaxImageSize)
	}
	if f.StartLatestUpdateTime != nil {
		b.Op("i.latest_update_time", ">=", *f.StartLatestUpdateTime)
	}
	if f.EndLatestUpdateTime != nil {
		b.Op("i.latest_update_time", "<=", *f.EndLatestUpdateTime)
	}
	if f.StartLatestScanTime != nil || f.EndLatestScanTime != nil {
		b.Where("i.latest_scan_time > 0") // never scanned: outside any range
	}
	if f.StartLatestScanTime != nil {
		b.Op("i.latest_scan_time", ">=", *f.StartLatestScanTime)
	}
	if f.EndLatestScanTime != nil {
		b.Op("i.latest_scan_time", "<=", *f.EndLatestScanTime)
	}
	// Literal conditions, as IsTrue, for the partial indexes.
	count := func(v *bool, col string) {
		whereFlag(b, v, "i."+col+" > 0", "i.scan_status = 'success' AND i."+col+" = 0")
	}
	count(f.HasVul, "vul_num")
	count(f.HasUnsafeSetting, "unsafe_setting_num")
	count(f.HasMaliciousFile, "malicious_file_num")
	whereFlag(b, f.Risky, "(i.vul_num > 0 OR i.unsafe_setting_num > 0 OR i.malicious_file_num > 0)",
		"i.scan_status = 'success' AND i.vul_num = 0 AND i.unsafe_setting_num = 0 AND i.malicious_file_num = 0")
	whereFlag(b, f.MultiArch, d.IsTrue("i.is_index"), "NOT "+d.IsTrue("i.is_index"))
	if f.SeverityLevel != "" {
		b.Eq("i.severity_level", f.SeverityLevel)
	}
	if len(f.RegistryIDs) > 0 {
		b.InInts("i.registry_id", f.RegistryIDs)
	}
	registryWhere(b, f, regIDs)
	w.ReposOnly = b.Len() == repoConds
	w.Where, w.Args = b.SQL(), b.Args()
	return w, nil
}

// whereFlag adds yes to b's conditions when v is true, no when it is
// false, and nothing when it is nil (no condition).
func whereFlag(b *builder, v *bool, yes, no string) {
	switch {
	case v == nil:
	case *v:
		b.Where(yes)
	default:
		b.Where(no)
	}
}

// RegistryDependent reports whether f has a condition on the owning
// connection (name, type, sync time). Such conditions read registries at
// query time, and registries' changes (a rename, a sync) do not move the
// images generation, so the list neither caches nor bookmarks them.
func RegistryDependent(f inventory.Filter) bool {
	return f.RegistryName != "" || f.RegistryTypes != nil || f.StartLatestSyncTime != nil || f.EndLatestSyncTime != nil
}

// registryWhere adds f's conditions on the owning connection: an equality
// or set of the connection ids they were resolved to (regIDs, see
// resolveRegistries), or else one uncorrelated subquery over the project's
// registries (a project has few connections, and images_tag
// (registry_id, project_id, …) finds their rows).
func registryWhere(b *builder, f inventory.Filter, regIDs []int64) {
	if !RegistryDependent(f) {
		return
	}
	if regIDs != nil {
		b.InInts("i.registry_id", regIDs)
		return
	}
	sub := registryConds(newBuilder(b.d, b.args...), f)
	b.args = sub.args
	b.Where("i.registry_id IN (SELECT r.id FROM registries r WHERE " + sub.SQL() + ")")
}

// registryConds adds to sub f's conditions on the owning connection, over
// registries aliased r, and returns sub.
func registryConds(sub *builder, f inventory.Filter) *builder {
	sub.Eq("r.project_id", f.ProjectID)
	if f.RegistryName != "" {
		sub.Contains("r.name", f.RegistryName)
	}
	if len(f.RegistryTypes) > 0 {
		ts := make([]string, len(f.RegistryTypes))
		for i, t := range f.RegistryTypes {
			ts[i] = string(t)
		}
		sub.In("r.type", ts)
	}
	if f.StartLatestSyncTime != nil || f.EndLatestSyncTime != nil {
		sub.Where("r.latest_sync_time > 0") // never synced: outside any range
	}
	if f.StartLatestSyncTime != nil {
		sub.Op("r.latest_sync_time", ">=", *f.StartLatestSyncTime)
	}
	if f.EndLatestSyncTime != nil {
		sub.Op("r.latest_sync_time", "<=", *f.EndLatestSyncTime)
	}
	return sub
}

// SortKey is a row's key in list order (latest_update_time DESC, id DESC),
// or in a scan-time order (latest_scan_time, id).
type SortKey struct{ Time, ID int64 }

// The orders of the list: the default one, and ListRegistryImages'
// sort_key=latest_scan_time (never-scanned rows have 0), ascending or
// descending, with id as the tie-breaker in the same direction.
const (
	listOrder     = "i.latest_update_time DESC, i.id DESC"
	scanOrderAsc  = "i.latest_scan_time ASC, i.id ASC"
	scanOrderDesc = "i.latest_scan_time DESC, i.id DESC"
)

// Order is f's ORDER BY over images aliased i.
func Order(f inventory.Filter) string {
	switch {
	case !f.SortByScanTime:
		return listOrder
	case f.SortDesc:
		return scanOrderDesc
	}
	return scanOrderAsc
}

// imagePage is the statement reading columns cols of one page of the rows
// where (with its args) selects, in order (listOrder or a scan-time order;
// from is a key in that order): from the row of key from on when from is
// not nil, skipping skip rows and reading at most limit.
//
// An inner SELECT of ids walks the index matching the filter in list order
// and applies OFFSET/LIMIT on index entries only; the outer SELECT reads
// the at most limit rows.
func imagePage(d Dialect, cols, where string, args []any, from *SortKey, limit, skip int, order string) (string, []any) {
	// Run on every page read that is not served from a cache: no more
	// than the one statement string and the arguments are allocated.
	b := builder{d: d, args: make([]any, len(args), len(args)+4)}
	copy(b.args, args)
	if from != nil {
		// Rows from the key on, in order: (time, id) at or below it, or
		// at or above it ascending.
		switch order {
		case scanOrderAsc:
			where += " AND (i.latest_scan_time, i.id) >= ("
		case scanOrderDesc:
			where += " AND (i.latest_scan_time, i.id) <= ("
		default:
			where += " AND (i.latest_update_time, i.id) <= ("
		}
		where += b.Arg(from.Time) + ", " + b.Arg(from.ID) + ")"
	}
	lim, off := b.Arg(limit), b.Arg(skip)
	return `SELECT ` + cols + `
		FROM (SELECT i.id FROM images i WHERE ` + where + `
		      ORDER BY ` + order + ` LIMIT ` + lim + ` OFFSET ` + off + `) p
		JOIN images i ON i.id = p.id
		ORDER BY ` + order, b.Args()
}

// Key identifies the rows f selects (paging aside): the key of the stores'
// caches of totals and pages per filter.
func Key(f inventory.Filter) string {
	var b strings.Builder
	str := func(v string) { b.WriteString(strconv.Quote(v)); b.WriteByte(',') }
	ptr := func(v *int64) {
		if v == nil {
			b.WriteString("-,")
			return
		}
		b.WriteString(strconv.FormatInt(*v, 10) + ",")
	}
	flag := func(v *bool) {
		switch {
		case v == nil:
			b.WriteString("-,")
		case *v:
			b.WriteString("t,")
		default:
			b.WriteString("f,")
		}
	}
	str(f.ProjectID)
	str(string(f.Type))
	keyEnterpriseProjects(&b, f.EnterpriseProjects)
	for _, v := range []string{f.Namespace, f.ImageName, f.ImageVersion, f.InstanceName, f.InstanceID, string(f.ScanStatus)} {
		str(v)
	}
	b.WriteString(strconv.FormatBool(f.LatestVersionOnly) + ",")
	for _, v := range []*int64{f.MaxImageSize, f.StartLatestUpdateTime, f.EndLatestUpdateTime, f.StartLatestScanTime, f.EndLatestScanTime} {
		ptr(v)
	}
	for _, v := range []*bool{f.HasVul, f.HasUnsafeSetting, f.HasMaliciousFile} {
		flag(v)
	}
	// ListRegistryImages' fields: their zero values add a constant suffix,
	// so every swr-repository key stays distinct from every other.
	str(f.RegistryName)
	keyList(&b, f.RegistryTypes, func(t inventory.RegistryType) { str(string(t)) })
	ptr(f.StartLatestSyncTime)
	ptr(f.EndLatestSyncTime)
	flag(f.Risky)
	flag(f.MultiArch)
	str(f.SeverityLevel)
	keyList(&b, f.RegistryIDs, func(id int64) { b.WriteString(strconv.FormatInt(id, 10) + ",") })
	b.WriteString(strconv.FormatBool(f.SortByScanTime) + "," + strconv.FormatBool(f.SortDesc))
	return b.String()
}

// keyEnterpriseProjects writes the enterprise projects of a cache key,
// Key's and topKey's: nil (every one) apart from an empty list (none), and
// a list in one spelling whatever its order and repeats, which select the
// same rows.
func keyEnterpriseProjects(b *strings.Builder, eps []string) {
	if eps != nil {
		eps = slices.Clone(eps) // non-nil when eps is empty
		slices.Sort(eps)
		eps = slices.Compact(eps)
	}
	keyList(b, eps, func(v string) { b.WriteString(strconv.Quote(v)); b.WriteByte(',') })
}

// keyList writes a list of Key's, each value with item, telling nil (no
// condition) from an empty list (no row).
func keyList[T any](b *strings.Builder, vs []T, item func(T)) {
	if vs == nil {
		b.WriteString("*,")
		return
	}
	b.WriteString(strconv.Itoa(len(vs)) + "[")
	for _, v := range vs {
		item(v)
	}
	b.WriteString("],")
}

// MaxMarks bounds the marks kept per list.
const MaxMarks = 256

// Marks are the sort keys of the first rows of pages served from one list,
// by offset: a later page at or after a marked offset is read from the
// mark on (imagePage's from) instead of skipping every row before it.
type Marks map[int]SortKey

// Nearest returns the greatest marked offset at or below offset and its
// key.
func (m Marks) Nearest(offset int) (int, SortKey, bool) {
	best, found := -1, false
	for at := range m {
		if at <= offset && at > best {
			best, found = at, true
		}
	}
	if !found {
		return 0, SortKey{}, false
	}
	return best, m[best], true
}

// Set marks the row at offset, first forgetting every mark when MaxMarks
// are kept.
func (m *Marks) Set(offset int, k SortKey) {
	if *m == nil || len(*m) >= MaxMarks {
		*m = Marks{}
	}
	(*m)[offset] = k
}
