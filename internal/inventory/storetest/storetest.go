// Package storetest is the behaviour suite every inventory.Store (and
// jobs.Store) implementation must pass. A storage engine's own test calls Run
// and RunJobs with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// ScanResultSetter is the scanner's write path into the store; the suite
// requires stores to implement it.
type ScanResultSetter interface {
	SetScanResult(ctx context.Context, digest string, r inventory.ScanResult) error
}

// Run runs the inventory suite; open must return a new, empty store each
// call (the suite closes it).
func Run(t *testing.T, open func(t *testing.T) inventory.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"Access", testAccess},
		{"UserRoles", testUserRoles},
		{"LastAdminConcurrently", testLastAdminConcurrently},
		{"UserPassword", testUserPassword},
		{"SignInFailures", testSignInFailures},
		{"PurgeExpiredTokens", testPurgeExpiredTokens},
		{"AnySealedSecret", testAnySealedSecret},
		{"Registries", testRegistries},
		{"DeleteRegistries", testDeleteRegistries},
		{"CountRegistries", testCountRegistries},
		{"ApplySyncLifecycle", testApplySync},
		{"LatestVersionTies", testLatestVersionTies},
		{"StoredTags", testStoredTags},
		{"Filters", testFilters},
		{"ProjectIsolation", testProjectIsolation},
		{"SetScanResultPropagates", testSetScanResult},
		{"MultiArchAssociations", testAssociations},
		{"SharedAndInstanceRows", testSharedAndInstance},
		{"LocalImages", testLocalImages},
		{"PaginationProperty", testPaginationProperty},
		{"RegistryImages", testRegistryImages},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			scans, ok := st.(ScanResultSetter)
			if !ok {
				t.Fatalf("%T does not implement SetScanResult", st)
			}
			tc.fn(t, &env{t: t, ctx: context.Background(), st: st, scans: scans})
		})
	}
}

type env struct {
	t     *testing.T
	ctx   context.Context
	st    inventory.Store
	scans ScanResultSetter
}

// Digest returns a stable fake digest for s.
func Digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (e *env) project(id string) {
	e.t.Helper()
	if _, err := e.st.EnsureProject(e.ctx, inventory.Project{ID: id, Name: "name-" + id}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) registry(project, addr string, typ inventory.RegistryType, mod ...func(*inventory.Registry)) inventory.Registry {
	e.t.Helper()
	r := inventory.Registry{ProjectID: project, EnterpriseProjectID: "0", Name: addr, Type: typ, Protocol: "https", Addr: addr}
	for _, m := range mod {
		m(&r)
	}
	got, err := e.st.CreateRegistry(e.ctx, r)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func (e *env) sync(s inventory.Snapshot) inventory.SyncResult {
	e.t.Helper()
	res, err := e.st.ApplySync(e.ctx, s)
	if err != nil {
		e.t.Fatalf("ApplySync: %v", err)
	}
	return res
}

func (e *env) scan(digest string, r inventory.ScanResult) {
	e.t.Helper()
	if err := e.scans.SetScanResult(e.ctx, digest, r); err != nil {
		e.t.Fatalf("SetScanResult: %v", err)
	}
}

func (e *env) list(f inventory.Filter) inventory.Page {
	e.t.Helper()
	p, err := e.st.ListImages(e.ctx, f)
	if err != nil {
		e.t.Fatalf("ListImages(%+v): %v", f, err)
	}
	return p
}

// all returns every row of a project and type.
func (e *env) all(project string, typ inventory.ImageType) []inventory.Image {
	e.t.Helper()
	return e.list(inventory.Filter{ProjectID: project, Type: typ, Limit: 1 << 30}).Images
}

// byKey indexes rows by "namespace/name:tag".
func byKey(imgs []inventory.Image) map[string]inventory.Image {
	m := map[string]inventory.Image{}
	for _, img := range imgs {
		m[key(img)] = img
	}
	return m
}

func key(img inventory.Image) string { return img.Namespace + "/" + img.Name + ":" + img.Tag }

func keys(imgs []inventory.Image) []string {
	out := []string{}
	for _, img := range imgs {
		out = append(out, key(img))
	}
	return out
}

func repo(ns, name string, tags ...inventory.TagRef) inventory.RepoSnapshot {
	return inventory.RepoSnapshot{Namespace: ns, Name: name, Tags: tags}
}

func tag(t, digest string) inventory.TagRef {
	return inventory.TagRef{Tag: t, Digest: digest, ManifestDigest: digest}
}

func image(digest string, created, size int64) inventory.Manifest {
	return inventory.Manifest{Digest: digest, MediaType: "application/vnd.oci.image.manifest.v1+json",
		Size: size, Created: created, Platform: "linux/amd64", Scannable: true}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func testAccess(t *testing.T, e *env) {
	ctx := e.ctx
	p, err := e.st.EnsureProject(ctx, inventory.Project{ID: "p1", Name: "one", CreatedAt: 5})
	if err != nil || p.Name != "one" || p.CreatedAt != 5 {
		t.Fatalf("EnsureProject = %+v, %v", p, err)
	}
	p, err = e.st.EnsureProject(ctx, inventory.Project{ID: "p1", Name: "other"})
	if err != nil || p.Name != "one" {
		t.Fatalf("EnsureProject again = %+v, %v; want the stored project kept", p, err)
	}
	_, err = e.st.GetProject(ctx, "nope")
	wantErr(t, err, inventory.ErrNotFound)

	c1 := inventory.Credential{AccessKey: "AK1", ProjectID: "p1", SecretSealed: []byte{1, 2, 3},
		Grant: inventory.Grant{IDs: []string{"ep1", "ep2"}}, Description: "d", CreatedAt: 10}
	c2 := inventory.Credential{AccessKey: "AK2", ProjectID: "p2", SecretSealed: []byte{4}, Grant: inventory.Grant{All: true}, CreatedAt: 11}
	for _, c := range []inventory.Credential{c1, c2} {
		if err := e.st.CreateCredential(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, e.st.CreateCredential(ctx, c1), inventory.ErrConflict)
	got, err := e.st.GetCredential(ctx, "AK1")
	if err != nil || got.ProjectID != "p1" || !slices.Equal(got.SecretSealed, c1.SecretSealed) ||
		got.Grant.All || !slices.Equal(got.Grant.IDs, []string{"ep1", "ep2"}) || got.Description != "d" {
		t.Fatalf("GetCredential = %+v, %v", got, err)
	}
	if got, _ := e.st.GetCredential(ctx, "AK2"); !got.Grant.All {
		t.Fatalf("grant all lost: %+v", got.Grant)
	}
	_, err = e.st.GetCredential(ctx, "AK9")
	wantErr(t, err, inventory.ErrNotFound)
	list, err := e.st.ListCredentials(ctx, "p1")
	if err != nil || len(list) != 1 || list[0].AccessKey != "AK1" {
		t.Fatalf("ListCredentials(p1) = %+v, %v", list, err)
	}
	list, err = e.st.ListCredentials(ctx, "")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListCredentials(all) = %+v, %v", list, err)
	}
	if err := e.st.RevokeCredential(ctx, "AK1", 99); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.GetCredential(ctx, "AK1"); got.RevokedAt != 99 {
		t.Fatalf("RevokedAt = %d", got.RevokedAt)
	}
	wantErr(t, e.st.RevokeCredential(ctx, "AK9", 1), inventory.ErrNotFound)

	u, err := e.st.CreateUser(ctx, inventory.User{Role: inventory.RoleAdmin, ProjectID: "p1", Name: "alice", PasswordHash: "h", Grant: inventory.Grant{IDs: []string{"0"}}})
	if err != nil || u.ID <= 0 {
		t.Fatalf("CreateUser = %+v, %v", u, err)
	}
	_, err = e.st.CreateUser(ctx, inventory.User{Role: inventory.RoleAdmin, ProjectID: "p1", Name: "alice", PasswordHash: "x"})
	wantErr(t, err, inventory.ErrConflict)
	u2, err := e.st.CreateUser(ctx, inventory.User{Role: inventory.RoleAdmin, ProjectID: "p2", Name: "alice", PasswordHash: "h2", Grant: inventory.Grant{All: true}})
	if err != nil || u2.ID == u.ID {
		t.Fatalf("same name in another project: %+v, %v", u2, err)
	}
	gu, err := e.st.GetUserByName(ctx, "p1", "alice")
	if err != nil || gu.ID != u.ID || gu.PasswordHash != "h" || !slices.Equal(gu.Grant.IDs, []string{"0"}) {
		t.Fatalf("GetUserByName = %+v, %v", gu, err)
	}
	_, err = e.st.GetUserByName(ctx, "p3", "alice")
	wantErr(t, err, inventory.ErrNotFound)
	us, err := e.st.FindUsersByName(ctx, "alice")
	if err != nil || len(us) != 2 {
		t.Fatalf("FindUsersByName = %+v, %v", us, err)
	}
	if us, _ := e.st.FindUsersByName(ctx, "bob"); len(us) != 0 {
		t.Fatalf("FindUsersByName(bob) = %+v", us)
	}

	tok := inventory.Token{Hash: "abc", UserID: u.ID, ProjectID: "p1", Grant: inventory.Grant{All: true}, CreatedAt: 1, ExpiresAt: 2}
	if err := e.st.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	gt, err := e.st.GetToken(ctx, "abc")
	if err != nil || gt.UserID != u.ID || !gt.Grant.All || gt.ExpiresAt != 2 || gt.RevokedAt != 0 {
		t.Fatalf("GetToken = %+v, %v", gt, err)
	}
	if err := e.st.RevokeToken(ctx, "abc", 7); err != nil {
		t.Fatal(err)
	}
	if gt, _ := e.st.GetToken(ctx, "abc"); gt.RevokedAt != 7 {
		t.Fatalf("token RevokedAt = %d", gt.RevokedAt)
	}
	_, err = e.st.GetToken(ctx, "zzz")
	wantErr(t, err, inventory.ErrNotFound)

	// A project's users, by name; deleting one revokes its tokens (read
	// once, so a cached row must not survive) and leaves the other
	// project's user of the same name alone.
	if _, err := e.st.CreateUser(ctx, inventory.User{Role: inventory.RoleAdmin, ProjectID: "p1", Name: "aaron", PasswordHash: "h"}); err != nil {
		t.Fatal(err)
	}
	names := func(project string) []string {
		t.Helper()
		us, err := e.st.ListUsers(ctx, project)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			if u.ProjectID != project {
				t.Fatalf("ListUsers(%s) has %+v", project, u)
			}
			out = append(out, u.Name)
		}
		return out
	}
	if got := names("p1"); !slices.Equal(got, []string{"aaron", "alice"}) {
		t.Fatalf("ListUsers(p1) = %v", got)
	}
	if got := names("p9"); len(got) != 0 {
		t.Fatalf("ListUsers(p9) = %v", got)
	}
	live := inventory.Token{Hash: "live", UserID: u.ID, ProjectID: "p1", Grant: inventory.Grant{All: true}, CreatedAt: 1, ExpiresAt: 1 << 50}
	other := inventory.Token{Hash: "other", UserID: u2.ID, ProjectID: "p2", Grant: inventory.Grant{All: true}, CreatedAt: 1, ExpiresAt: 1 << 50}
	for _, tk := range []inventory.Token{live, other} {
		if err := e.st.CreateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.GetToken(ctx, tk.Hash); err != nil { // cached
			t.Fatal(err)
		}
	}
	wantErr(t, e.st.DeleteUser(ctx, "p2", u.ID, 50), inventory.ErrNotFound) // another project's id
	if err := e.st.DeleteUser(ctx, "p1", u.ID, 50); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.st.DeleteUser(ctx, "p1", u.ID, 51), inventory.ErrNotFound)
	if got := names("p1"); !slices.Equal(got, []string{"aaron"}) {
		t.Fatalf("ListUsers(p1) after the delete = %v", got)
	}
	if gt, _ := e.st.GetToken(ctx, "live"); gt.RevokedAt != 50 {
		t.Fatalf("deleted user's token RevokedAt = %d, want 50", gt.RevokedAt)
	}
	if gt, _ := e.st.GetToken(ctx, "abc"); gt.RevokedAt != 7 {
		t.Fatalf("an earlier revocation time changed: %d", gt.RevokedAt)
	}
	if gt, _ := e.st.GetToken(ctx, "other"); gt.RevokedAt != 0 {
		t.Fatalf("the other project's alice lost her token: %+v", gt)
	}
	if got := names("p2"); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("ListUsers(p2) = %v", got)
	}
}

// testPurgeExpiredTokens: tokens expired before the cut are deleted,
// revoked or not; live ones stay and still authenticate.
func testPurgeExpiredTokens(t *testing.T, e *env) {
	ctx := e.ctx
	toks := []inventory.Token{
		{Hash: "old", ExpiresAt: 100},
		{Hash: "old-revoked", ExpiresAt: 150, RevokedAt: 120},
		{Hash: "at-cut", ExpiresAt: 200},
		{Hash: "live", ExpiresAt: 300},
		{Hash: "live-revoked", ExpiresAt: 400, RevokedAt: 50},
	}
	for i, tok := range toks {
		tok.UserID, tok.ProjectID, tok.CreatedAt = 1, "p1", int64(i)
		if err := e.st.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	n, err := e.st.PurgeExpiredTokens(ctx, 200)
	if err != nil || n != 2 {
		t.Fatalf("PurgeExpiredTokens = %d, %v; want 2", n, err)
	}
	for _, tok := range toks {
		_, err := e.st.GetToken(ctx, tok.Hash)
		gone := errors.Is(err, inventory.ErrNotFound)
		if want := tok.ExpiresAt < 200; gone != want || (!gone && err != nil) {
			t.Errorf("token %s (expires %d): GetToken err %v after the purge", tok.Hash, tok.ExpiresAt, err)
		}
	}
	if n, err := e.st.PurgeExpiredTokens(ctx, 200); err != nil || n != 0 {
		t.Fatalf("second purge = %d, %v", n, err)
	}
}

// testAnySealedSecret: nil on an empty database, else one of the stored
// sealed values, from a credential or a registry password.
func testAnySealedSecret(t *testing.T, e *env) {
	ctx := e.ctx
	if v, err := e.st.AnySealedSecret(ctx); err != nil || v != nil {
		t.Fatalf("empty database: %x, %v", v, err)
	}
	// A registry without a password holds nothing sealed.
	e.project("p1")
	e.registry("p1", "nopass.example", inventory.Harbor)
	if v, err := e.st.AnySealedSecret(ctx); err != nil || v != nil {
		t.Fatalf("passwordless registry: %x, %v", v, err)
	}
	e.registry("p1", "withpass.example", inventory.Harbor, func(r *inventory.Registry) { r.PasswordSealed = []byte{9, 9} })
	if v, err := e.st.AnySealedSecret(ctx); err != nil || !slices.Equal(v, []byte{9, 9}) {
		t.Fatalf("registry password: %x, %v", v, err)
	}
	if err := e.st.CreateCredential(ctx, inventory.Credential{AccessKey: "AK1", ProjectID: "p1", SecretSealed: []byte{7}, Grant: inventory.Grant{All: true}}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.st.AnySealedSecret(ctx); err != nil || (!slices.Equal(v, []byte{9, 9}) && !slices.Equal(v, []byte{7})) {
		t.Fatalf("credential and registry: %x, %v", v, err)
	}
}

func testRegistries(t *testing.T, e *env) {
	ctx := e.ctx
	e.project("p1")
	e.project("p2")
	a := e.registry("p1", "reg.example:5000", inventory.Harbor, func(r *inventory.Registry) {
		r.Namespace = "lib"
		r.Username = "u"
		r.PasswordSealed = []byte("sealed")
	})
	if a.ID <= 0 || a.Status != inventory.RegistryPending || a.ImagesNum != 0 || string(a.PasswordSealed) != "sealed" {
		t.Fatalf("created %+v", a)
	}
	_, err := e.st.CreateRegistry(ctx, inventory.Registry{ProjectID: "p1", Type: inventory.Harbor, Addr: "reg.example:5000", Namespace: "lib"})
	wantErr(t, err, inventory.ErrConflict)
	b := e.registry("p1", "reg.example:5000", inventory.SwrShared, func(r *inventory.Registry) { r.EnterpriseProjectID = "ep2" })
	c := e.registry("p2", "reg.example:5000", inventory.Harbor, func(r *inventory.Registry) { r.Namespace = "lib" })
	if b.ID == a.ID || c.ID == a.ID {
		t.Fatal("ids reused")
	}
	_, err = e.st.GetRegistry(ctx, "p2", a.ID)
	wantErr(t, err, inventory.ErrNotFound)

	cases := []struct {
		name string
		f    inventory.RegistryFilter
		want []int64
	}{
		{"all", inventory.RegistryFilter{ProjectID: "p1"}, []int64{a.ID, b.ID}},
		{"name", inventory.RegistryFilter{ProjectID: "p1", Name: "5000"}, []int64{a.ID, b.ID}},
		{"id", inventory.RegistryFilter{ProjectID: "p1", ID: b.ID}, []int64{b.ID}},
		{"other project's id", inventory.RegistryFilter{ProjectID: "p1", ID: c.ID}, []int64{}},
		{"type", inventory.RegistryFilter{ProjectID: "p1", Type: inventory.SwrShared}, []int64{b.ID}},
		{"addr", inventory.RegistryFilter{ProjectID: "p1", Addr: "nomatch"}, []int64{}},
		{"status", inventory.RegistryFilter{ProjectID: "p1", Status: inventory.RegistryPending}, []int64{a.ID, b.ID}},
		{"ep", inventory.RegistryFilter{ProjectID: "p1", EnterpriseProjects: []string{"ep2"}}, []int64{b.ID}},
		{"no ep", inventory.RegistryFilter{ProjectID: "p1", EnterpriseProjects: []string{}}, []int64{}},
		{"offset", inventory.RegistryFilter{ProjectID: "p1", Offset: 1, Limit: 10}, []int64{b.ID}},
		{"limit", inventory.RegistryFilter{ProjectID: "p1", Limit: 1}, []int64{a.ID}},
	}
	for _, tc := range cases {
		got, total, err := e.st.ListRegistries(ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !slices.Equal(ids, tc.want) && !(len(ids) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: ids %v, want %v", tc.name, ids, tc.want)
		}
		wantTotal := int64(len(tc.want))
		if tc.name == "offset" || tc.name == "limit" {
			wantTotal = 2
		}
		if total != wantTotal {
			t.Errorf("%s: total %d, want %d", tc.name, total, wantTotal)
		}
	}

	byType, err := e.st.RegistriesByImageType(ctx, "p1", inventory.SharedImage)
	if err != nil || len(byType) != 1 || byType[0].ID != b.ID {
		t.Fatalf("RegistriesByImageType(shared) = %+v, %v", byType, err)
	}
	byType, _ = e.st.RegistriesByImageType(ctx, "p1", inventory.PrivateImage)
	if len(byType) != 1 || byType[0].ID != a.ID {
		t.Fatalf("RegistriesByImageType(private) = %+v", byType)
	}

	d1 := Digest("r1")
	e.sync(inventory.Snapshot{RegistryID: a.ID, SeenAt: 10, Manifests: []inventory.Manifest{image(d1, 0, 1)},
		Repositories: []inventory.RepoSnapshot{repo("lib", "app", tag("1", d1), tag("2", d1))}})
	if err := e.st.SetRegistryStatus(ctx, a.ID, inventory.RegistryOK, "", 1234); err != nil {
		t.Fatal(err)
	}
	got, err := e.st.GetRegistry(ctx, "p1", a.ID)
	if err != nil || got.ImagesNum != 2 || got.Status != inventory.RegistryOK || got.LatestSyncTime != 1234 {
		t.Fatalf("after sync: %+v, %v", got, err)
	}
	if err := e.st.SetRegistryStatus(ctx, a.ID, inventory.RegistryFailed, "unauthorized", 0); err != nil {
		t.Fatal(err)
	}
	got, _ = e.st.GetRegistry(ctx, "p1", a.ID)
	if got.Status != inventory.RegistryFailed || got.FailReason != "unauthorized" || got.LatestSyncTime != 1234 {
		t.Fatalf("after failed sync: %+v", got)
	}
	wantErr(t, e.st.SetRegistryStatus(ctx, 9999, "x", "", 0), inventory.ErrNotFound)

	upd := got
	upd.Name = "renamed"
	upd.PasswordSealed = nil
	upd.EnterpriseProjectID = "ep9"
	got, err = e.st.UpdateRegistry(ctx, upd)
	if err != nil || got.Name != "renamed" || string(got.PasswordSealed) != "sealed" || got.Status != inventory.RegistryFailed {
		t.Fatalf("UpdateRegistry = %+v, %v", got, err)
	}
	if rows := e.all("p1", inventory.PrivateImage); len(rows) != 2 || rows[0].EnterpriseProjectID != "ep9" {
		t.Fatalf("rows after enterprise project change: %+v", rows)
	}
	// An empty, not nil, sealed password clears the stored one (the API
	// drops a password whose connection moves to another target).
	clear := got
	clear.PasswordSealed = []byte{}
	if cleared, err := e.st.UpdateRegistry(ctx, clear); err != nil || len(cleared.PasswordSealed) != 0 {
		t.Fatalf("UpdateRegistry with an empty password = %q, %v; want it cleared", cleared.PasswordSealed, err)
	}
	if reread, err := e.st.GetRegistry(ctx, "p1", got.ID); err != nil || len(reread.PasswordSealed) != 0 {
		t.Fatalf("GetRegistry after clearing the password = %q, %v", reread.PasswordSealed, err)
	}
	upd.ProjectID = "p2"
	_, err = e.st.UpdateRegistry(ctx, upd)
	wantErr(t, err, inventory.ErrNotFound)
	upd = got
	upd.Addr, upd.Namespace = c.Addr, ""
	_, err = e.st.UpdateRegistry(ctx, upd)
	wantErr(t, err, inventory.ErrConflict) // same as b

	wantErr(t, e.st.DeleteRegistry(ctx, "p2", a.ID), inventory.ErrNotFound)
	if err := e.st.DeleteRegistry(ctx, "p1", a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.st.GetRegistry(ctx, "p1", a.ID)
	wantErr(t, err, inventory.ErrNotFound)
	if p := e.list(inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 10}); p.Total != 0 || len(p.Images) != 0 {
		t.Fatalf("rows of a deleted registry remain: %+v", p)
	}
}

func testApplySync(t *testing.T, e *env) {
	e.project("p1")
	reg := e.registry("p1", "r.example", inventory.Harbor)
	d1, d2, d3, d4, d5 := Digest("1"), Digest("2"), Digest("3"), Digest("4"), Digest("5")

	_, err := e.st.ApplySync(e.ctx, inventory.Snapshot{RegistryID: 9999})
	wantErr(t, err, inventory.ErrNotFound)

	res := e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1000,
		Manifests: []inventory.Manifest{image(d1, 0, 10), image(d2, 500, 20), image(d3, 0, 30), image(d4, 0, 40)},
		Repositories: []inventory.RepoSnapshot{
			repo("lib", "app", tag("a", d1), tag("b", d2)),
			repo("lib", "other", tag("x", d3)),
			repo("lib", "fail", tag("f", d4)),
		}})
	if res != (inventory.SyncResult{Added: 4}) {
		t.Fatalf("first sync = %+v", res)
	}
	rows := byKey(e.all("p1", inventory.PrivateImage))
	a, b := rows["lib/app:a"], rows["lib/app:b"]
	if a.LatestUpdateTime != 1000 || b.LatestUpdateTime != 500 {
		t.Fatalf("latest_update_time: a %d (want first seen 1000), b %d (want created 500)", a.LatestUpdateTime, b.LatestUpdateTime)
	}
	if !a.LatestVersion || b.LatestVersion || !rows["lib/other:x"].LatestVersion {
		t.Fatalf("latest_version: a %v b %v x %v", a.LatestVersion, b.LatestVersion, rows["lib/other:x"].LatestVersion)
	}
	if a.ID <= 0 || a.Size != 10 || a.ScanStatus != inventory.Unscan || a.Type != inventory.PrivateImage ||
		a.RegistryID != reg.ID || a.Digest != d1 || a.ManifestDigest != d1 || !a.Scannable || a.EnterpriseProjectID != "0" {
		t.Fatalf("row a = %+v", a)
	}
	e.scan(d2, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 1500, VulNum: 5, UnsafeSettingNum: 1})
	e.scan(d4, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 1600, VulNum: 9})

	// Second sync: a unchanged, b moved to a never-scanned digest, c new
	// pointing at the scanned d2, lib/other vanished, lib/fail failed.
	res = e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 2000,
		// d2 listed again, as a sync would: its scan result must survive.
		Manifests: []inventory.Manifest{image(d1, 0, 10), image(d2, 500, 20), image(d5, 3000, 50)},
		Repositories: []inventory.RepoSnapshot{
			repo("lib", "app", tag("a", d1), tag("b", d5), tag("c", d2)),
		},
		Failed: []string{"lib/fail"}})
	if res != (inventory.SyncResult{Added: 1, Moved: 1, Removed: 1, Unchanged: 1}) {
		t.Fatalf("second sync = %+v", res)
	}
	rows = byKey(e.all("p1", inventory.PrivateImage))
	if len(rows) != 4 {
		t.Fatalf("rows %v", slices.Sorted(func(yield func(string) bool) {
			for k := range rows {
				if !yield(k) {
					return
				}
			}
		}))
	}
	if _, ok := rows["lib/other:x"]; ok {
		t.Error("vanished repository kept")
	}
	if f := rows["lib/fail:f"]; f.VulNum != 9 || f.ScanStatus != inventory.ScanSuccess {
		t.Errorf("failed repository touched: %+v", f)
	}
	if got := rows["lib/app:a"]; got.ID != a.ID || got.LatestUpdateTime != 1000 {
		t.Errorf("unchanged row a = %+v; want id %d and first-seen time 1000 kept", got, a.ID)
	}
	nb := rows["lib/app:b"]
	if nb.ID != b.ID || nb.Digest != d5 || nb.ScanStatus != inventory.Unscan || nb.VulNum != 0 || nb.UnsafeSettingNum != 0 ||
		nb.LatestScanTime != 0 || nb.Size != 50 || nb.LatestUpdateTime != 3000 {
		t.Errorf("moved row b = %+v; want id %d, digest d5, unscan, zeros, size 50, time 3000", nb, b.ID)
	}
	c := rows["lib/app:c"]
	if c.ScanStatus != inventory.ScanSuccess || c.VulNum != 5 || c.UnsafeSettingNum != 1 || c.LatestScanTime != 1500 {
		t.Errorf("new row on a scanned digest = %+v; want its scan result", c)
	}
	if !nb.LatestVersion || rows["lib/app:a"].LatestVersion || c.LatestVersion {
		t.Errorf("latest_version after move: a %v b %v c %v; want b", rows["lib/app:a"].LatestVersion, nb.LatestVersion, c.LatestVersion)
	}
	if got, err := e.st.GetImage(e.ctx, "p1", nb.ID); err != nil || got.Digest != d5 {
		t.Errorf("GetImage = %+v, %v", got, err)
	}
	_, err = e.st.GetImage(e.ctx, "p1", 999999)
	wantErr(t, err, inventory.ErrNotFound)

	// Moving back to a scanned digest copies that digest's result.
	e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 3000,
		Repositories: []inventory.RepoSnapshot{repo("lib", "app", tag("a", d1), tag("b", d2), tag("c", d2))}, Failed: []string{"lib/fail"}})
	if got := byKey(e.all("p1", inventory.PrivateImage))["lib/app:b"]; got.ID != b.ID || got.VulNum != 5 {
		t.Errorf("moved onto scanned digest: %+v", got)
	}

	// A sync that lists nothing removes everything but the failed repos.
	res = e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 4000, Failed: []string{"lib/fail"}})
	if res.Removed != 3 {
		t.Errorf("empty sync removed %d, want 3", res.Removed)
	}
	if got := keys(e.all("p1", inventory.PrivateImage)); !slices.Equal(got, []string{"lib/fail:f"}) {
		t.Errorf("rows after empty sync: %v", got)
	}
	// Ids are never reused.
	e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 5000, Repositories: []inventory.RepoSnapshot{repo("lib", "app", tag("a", d1))}})
	if got := byKey(e.all("p1", inventory.PrivateImage))["lib/app:a"]; got.ID == a.ID {
		t.Errorf("re-added tag reuses id %d", a.ID)
	}
}

func testLatestVersionTies(t *testing.T, e *env) {
	e.project("p1")
	reg := e.registry("p1", "r.example", inventory.Harbor)
	d := func(s string) string { return Digest("tie" + s) }
	ms := []inventory.Manifest{image(d("1"), 700, 1), image(d("2"), 700, 1), image(d("3"), 700, 1), image(d("4"), 100, 1)}
	e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1, Manifests: ms, Repositories: []inventory.RepoSnapshot{
		repo("lib", "tie", tag("1.0", d("1")), tag("2.0", d("2")), tag("10.0", d("3")), tag("9.9", d("4"))),
		repo("lib", "solo", tag("only", d("4"))),
	}})
	latest := func() []string {
		var out []string
		for _, img := range e.list(inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, LatestVersionOnly: true, Limit: 100}).Images {
			out = append(out, key(img))
		}
		slices.Sort(out)
		return out
	}
	// Equal times: the greatest tag name wins ("2.0" > "10.0" > "1.0" as strings).
	if got := latest(); !slices.Equal(got, []string{"lib/solo:only", "lib/tie:2.0"}) {
		t.Fatalf("latest = %v", got)
	}
	e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 2, Repositories: []inventory.RepoSnapshot{
		repo("lib", "tie", tag("1.0", d("1")), tag("10.0", d("3")), tag("9.9", d("4"))),
		repo("lib", "solo", tag("only", d("4"))),
	}})
	if got := latest(); !slices.Equal(got, []string{"lib/solo:only", "lib/tie:10.0"}) {
		t.Fatalf("latest after removing 2.0 = %v", got)
	}
}

// testStoredTags: StoredTags gives a connection's rows, by repository and
// tag, as ApplySync compares them (ids, the tag's digest and the row's
// manifest digest), and only the named project's; a re-sync of the same
// listing without manifests (what a sync that found nothing changed sends)
// changes no row, latest_version included.
func testStoredTags(t *testing.T, e *env) {
	e.project("p1")
	e.project("p2")
	reg := e.registry("p1", "r.example", inventory.Harbor)
	other := e.registry("p1", "other.example", inventory.Harbor)
	d := func(s string) string { return Digest("stored" + s) }
	idx := inventory.Manifest{Digest: d("idx"), MediaType: "application/vnd.oci.image.index.v1+json",
		Members: []inventory.Association{{Digest: d("amd"), Platform: "linux/amd64"}}}
	listing := []inventory.RepoSnapshot{
		repo("lib", "app", tag("1.0", d("1")), tag("2.0", d("2"))),
		repo("", "solo", inventory.TagRef{Tag: "multi", Digest: idx.Digest, ManifestDigest: d("amd")}),
	}
	e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1, Repositories: listing,
		Manifests: []inventory.Manifest{image(d("1"), 10, 1), image(d("2"), 20, 1), idx, image(d("amd"), 30, 1)}})
	e.sync(inventory.Snapshot{RegistryID: other.ID, SeenAt: 1, Repositories: []inventory.RepoSnapshot{repo("lib", "app", tag("1.0", d("1")))}})
	before := e.all("p1", inventory.PrivateImage)
	want := inventory.StoredTags{}
	for _, img := range before {
		if img.RegistryID == reg.ID {
			want.Add(inventory.Repo{Namespace: img.Namespace, Name: img.Name}, img.Tag,
				inventory.StoredTag{ID: img.ID, Digest: img.Digest, ManifestDigest: img.ManifestDigest})
		}
	}
	if len(want) != 2 || len(want[inventory.Repo{Namespace: "lib", Name: "app"}]) != 2 ||
		want[inventory.Repo{Name: "solo"}]["multi"].ManifestDigest != d("amd") {
		t.Fatalf("fixture rows: %v", want)
	}
	got, err := e.st.StoredTags(e.ctx, "p1", reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("StoredTags = %v, want %v", got, want)
	}
	if got, err := e.st.StoredTags(e.ctx, "p2", reg.ID); err != nil || len(got) != 0 {
		t.Fatalf("another project's StoredTags = %v, %v; want none", got, err)
	}

	res := e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 2, Repositories: listing})
	if res != (inventory.SyncResult{Unchanged: 3}) {
		t.Fatalf("re-sync = %+v", res)
	}
	if after := e.all("p1", inventory.PrivateImage); !reflect.DeepEqual(after, before) {
		t.Fatalf("an unchanged re-sync changed rows:\n%+v\nwant\n%+v", after, before)
	}
}

// filterRow is one row of the filter fixture.
type filterRow struct {
	reg           int // index into the fixture's registries
	ns, name, tag string
	created, size int64
	scan          *inventory.ScanResult
}

func testFilters(t *testing.T, e *env) {
	e.project("p1")
	regs := []inventory.Registry{
		e.registry("p1", "one.example", inventory.Harbor),
		e.registry("p1", "two.example", inventory.Harbor, func(r *inventory.Registry) { r.EnterpriseProjectID = "ep2" }),
	}
	ok := func(vul, unsafe, mal int32, at int64) *inventory.ScanResult {
		return &inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: at, VulNum: vul, UnsafeSettingNum: unsafe, MaliciousFileNum: mal}
	}
	rows := []filterRow{
		{0, "lib", "a%b", "v1", 1000, 100, ok(3, 0, 0, 5000)},
		{0, "lib", "axb", "v1", 2000, 200, ok(0, 0, 0, 6000)},
		{0, "lib", "a_b", "v1", 3000, 300, &inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "unknown_error", ScanTime: 7000}},
		{0, "lib", `a\b`, "v1", 4000, 400, nil},
		{0, "Lib", "ABC", "V2", 5000, 500, ok(0, 2, 0, 8000)},
		{0, "lib", "abc", "v2", 5000, 600, ok(0, 0, 1, 9000)},
		{0, "lib", "abc", "v10", 0, 700, nil},
		{1, "team", "svc", "latest", 6000, 800, ok(1, 0, 0, 10000)},
	}
	snaps := make([]inventory.Snapshot, len(regs))
	for i := range snaps {
		snaps[i] = inventory.Snapshot{RegistryID: regs[i].ID, SeenAt: 100}
	}
	for _, r := range rows {
		dg := Digest(r.ns + "/" + r.name + ":" + r.tag)
		s := &snaps[r.reg]
		s.Manifests = append(s.Manifests, image(dg, r.created, r.size))
		// one tag per RepoSnapshot entry would split a repository: merge
		merged := false
		for i := range s.Repositories {
			if s.Repositories[i].Namespace == r.ns && s.Repositories[i].Name == r.name {
				s.Repositories[i].Tags = append(s.Repositories[i].Tags, tag(r.tag, dg))
				merged = true
			}
		}
		if !merged {
			s.Repositories = append(s.Repositories, repo(r.ns, r.name, tag(r.tag, dg)))
		}
	}
	for _, s := range snaps {
		e.sync(s)
	}
	for _, r := range rows {
		if r.scan != nil {
			e.scan(Digest(r.ns+"/"+r.name+":"+r.tag), *r.scan)
		}
	}
	all := e.all("p1", inventory.PrivateImage)
	if len(all) != len(rows) {
		t.Fatalf("%d rows, want %d", len(all), len(rows))
	}
	// Order: time descending, then id descending (a%b was inserted before
	// the tie partners ABC and abc of equal time 5000 only by sync order).
	wantOrder := Expect(all, inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage})
	var gotOrder []int64
	for _, img := range all {
		gotOrder = append(gotOrder, img.ID)
	}
	if !slices.Equal(gotOrder, wantOrder) {
		t.Fatalf("order %v, want %v", gotOrder, wantOrder)
	}
	tie := byKey(all)
	if i, j := slices.Index(gotOrder, tie["Lib/ABC:V2"].ID), slices.Index(gotOrder, tie["lib/abc:v2"].ID); (tie["Lib/ABC:V2"].ID > tie["lib/abc:v2"].ID) != (i < j) {
		t.Fatalf("time tie not broken by id descending: %v", keys(all))
	}

	i64 := func(v int64) *int64 { return &v }
	yes, no := true, false
	base := inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 100}
	f := func(mod func(*inventory.Filter)) inventory.Filter {
		c := base
		mod(&c)
		return c
	}
	cases := []struct {
		name string
		f    inventory.Filter
		want []string
	}{
		{"type only", base, []string{"team/svc:latest", "lib/abc:v2", "Lib/ABC:V2", `lib/a\b:v1`, "lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1", "lib/abc:v10"}},
		{"other type", f(func(f *inventory.Filter) { f.Type = inventory.SharedImage }), nil},
		{"namespace case-sensitive", f(func(f *inventory.Filter) { f.Namespace = "lib" }), []string{"lib/abc:v2", `lib/a\b:v1`, "lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1", "lib/abc:v10"}},
		{"namespace upper", f(func(f *inventory.Filter) { f.Namespace = "Lib" }), []string{"Lib/ABC:V2"}},
		{"namespace substring", f(func(f *inventory.Filter) { f.Namespace = "ea" }), []string{"team/svc:latest"}},
		{"namespace no match", f(func(f *inventory.Filter) { f.Namespace = "LIB" }), nil},
		{"percent literal", f(func(f *inventory.Filter) { f.ImageName = "%" }), []string{"lib/a%b:v1"}},
		{"underscore literal", f(func(f *inventory.Filter) { f.ImageName = "_" }), []string{"lib/a_b:v1"}},
		{"backslash literal", f(func(f *inventory.Filter) { f.ImageName = `\` }), []string{`lib/a\b:v1`}},
		{"a%b literal", f(func(f *inventory.Filter) { f.ImageName = "a%b" }), []string{"lib/a%b:v1"}},
		{"a_b literal", f(func(f *inventory.Filter) { f.ImageName = "a_b" }), []string{"lib/a_b:v1"}},
		{"name case-sensitive", f(func(f *inventory.Filter) { f.ImageName = "abc" }), []string{"lib/abc:v2", "lib/abc:v10"}},
		{"name substring", f(func(f *inventory.Filter) { f.ImageName = "b" }), []string{"lib/abc:v2", `lib/a\b:v1`, "lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1", "lib/abc:v10"}},
		{"namespace and name", f(func(f *inventory.Filter) { f.Namespace = "i"; f.ImageName = "B" }), []string{"Lib/ABC:V2"}},
		{"version", f(func(f *inventory.Filter) { f.ImageVersion = "v1" }), []string{`lib/a\b:v1`, "lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1", "lib/abc:v10"}},
		{"version upper", f(func(f *inventory.Filter) { f.ImageVersion = "V" }), []string{"Lib/ABC:V2"}},
		{"latest version", f(func(f *inventory.Filter) { f.LatestVersionOnly = true }), []string{"team/svc:latest", "lib/abc:v2", "Lib/ABC:V2", `lib/a\b:v1`, "lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1"}},
		{"scan success", f(func(f *inventory.Filter) { f.ScanStatus = inventory.ScanSuccess }), []string{"team/svc:latest", "lib/abc:v2", "Lib/ABC:V2", "lib/axb:v1", "lib/a%b:v1"}},
		{"scan failed", f(func(f *inventory.Filter) { f.ScanStatus = inventory.ScanFailed }), []string{"lib/a_b:v1"}},
		{"unscan", f(func(f *inventory.Filter) { f.ScanStatus = inventory.Unscan }), []string{`lib/a\b:v1`, "lib/abc:v10"}},
		{"max size", f(func(f *inventory.Filter) { f.MaxImageSize = i64(300) }), []string{"lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1"}},
		{"max size 0", f(func(f *inventory.Filter) { f.MaxImageSize = i64(0) }), nil},
		{"update range inclusive", f(func(f *inventory.Filter) { f.StartLatestUpdateTime, f.EndLatestUpdateTime = i64(2000), i64(5000) }),
			[]string{"lib/abc:v2", "Lib/ABC:V2", `lib/a\b:v1`, "lib/a_b:v1", "lib/axb:v1"}},
		{"update start", f(func(f *inventory.Filter) { f.StartLatestUpdateTime = i64(5000) }), []string{"team/svc:latest", "lib/abc:v2", "Lib/ABC:V2"}},
		{"update end", f(func(f *inventory.Filter) { f.EndLatestUpdateTime = i64(1000) }), []string{"lib/a%b:v1", "lib/abc:v10"}},
		{"scan range inclusive", f(func(f *inventory.Filter) { f.StartLatestScanTime, f.EndLatestScanTime = i64(6000), i64(9000) }),
			[]string{"lib/abc:v2", "Lib/ABC:V2", "lib/a_b:v1", "lib/axb:v1"}},
		{"scan start 0 excludes never scanned", f(func(f *inventory.Filter) { f.StartLatestScanTime = i64(0) }),
			[]string{"team/svc:latest", "lib/abc:v2", "Lib/ABC:V2", "lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1"}},
		{"scan end", f(func(f *inventory.Filter) { f.EndLatestScanTime = i64(5000) }), []string{"lib/a%b:v1"}},
		{"has vul", f(func(f *inventory.Filter) { f.HasVul = &yes }), []string{"team/svc:latest", "lib/a%b:v1"}},
		{"no vul", f(func(f *inventory.Filter) { f.HasVul = &no }), []string{"lib/abc:v2", "Lib/ABC:V2", "lib/axb:v1"}},
		{"has unsafe", f(func(f *inventory.Filter) { f.HasUnsafeSetting = &yes }), []string{"Lib/ABC:V2"}},
		{"no unsafe", f(func(f *inventory.Filter) { f.HasUnsafeSetting = &no }), []string{"team/svc:latest", "lib/abc:v2", "lib/axb:v1", "lib/a%b:v1"}},
		{"has malicious", f(func(f *inventory.Filter) { f.HasMaliciousFile = &yes }), []string{"lib/abc:v2"}},
		{"no malicious", f(func(f *inventory.Filter) { f.HasMaliciousFile = &no }), []string{"team/svc:latest", "Lib/ABC:V2", "lib/axb:v1", "lib/a%b:v1"}},
		{"ep restricted", f(func(f *inventory.Filter) { f.EnterpriseProjects = []string{"ep2"} }), []string{"team/svc:latest"}},
		{"ep empty grant", f(func(f *inventory.Filter) { f.EnterpriseProjects = []string{} }), nil},
		{"ep default", f(func(f *inventory.Filter) { f.EnterpriseProjects = []string{"0"}; f.ImageName = "a" }),
			[]string{"lib/abc:v2", `lib/a\b:v1`, "lib/a_b:v1", "lib/axb:v1", "lib/a%b:v1", "lib/abc:v10"}},
		{"ep both", f(func(f *inventory.Filter) { f.EnterpriseProjects = []string{"0", "ep2"}; f.MaxImageSize = i64(100) }), []string{"lib/a%b:v1"}},
		{"instance id on private rows", f(func(f *inventory.Filter) { f.InstanceID = "x" }), nil},
		{"combined", f(func(f *inventory.Filter) { f.Namespace = "lib"; f.HasVul = &no }), []string{"lib/abc:v2", "lib/axb:v1"}},
		{"another project", f(func(f *inventory.Filter) { f.ProjectID = "p2" }), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.list(tc.f)
			got := keys(p.Images)
			if !slices.Equal(got, append([]string{}, tc.want...)) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
			if p.Total != int64(len(tc.want)) {
				t.Errorf("total %d, want %d", p.Total, len(tc.want))
			}
			// The reference must agree with the hand-written expectation.
			if ref := Expect(all, tc.f); len(ref) != len(tc.want) {
				t.Errorf("reference selects %d rows, want %d", len(ref), len(tc.want))
			}
			// Paging: the second row alone, and past the end.
			if len(tc.want) > 1 {
				pf := tc.f
				pf.Offset, pf.Limit = 1, 1
				p := e.list(pf)
				if got := keys(p.Images); !slices.Equal(got, tc.want[1:2]) || p.Total != int64(len(tc.want)) {
					t.Errorf("offset 1 limit 1: %v total %d", got, p.Total)
				}
			}
			pf := tc.f
			pf.Offset = len(tc.want)
			if p := e.list(pf); len(p.Images) != 0 || p.Total != int64(len(tc.want)) {
				t.Errorf("past the end: %d rows, total %d", len(p.Images), p.Total)
			}
		})
	}
}

func testProjectIsolation(t *testing.T, e *env) {
	e.project("p1")
	e.project("p2")
	r1 := e.registry("p1", "same.example", inventory.Harbor)
	r2 := e.registry("p2", "same.example", inventory.Harbor)
	d := Digest("shared-content")
	for _, r := range []inventory.Registry{r1, r2} {
		e.sync(inventory.Snapshot{RegistryID: r.ID, SeenAt: 10, Manifests: []inventory.Manifest{image(d, 5, 1)},
			Repositories: []inventory.RepoSnapshot{repo("lib", "app", tag("1", d), tag("2", d))}})
	}
	p1 := e.list(inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 100})
	p2 := e.list(inventory.Filter{ProjectID: "p2", Type: inventory.PrivateImage, Limit: 100})
	if p1.Total != 2 || p2.Total != 2 {
		t.Fatalf("totals %d %d, want 2 each", p1.Total, p2.Total)
	}
	for _, img := range p1.Images {
		if img.ProjectID != "p1" || img.RegistryID != r1.ID {
			t.Errorf("p1 list holds %+v", img)
		}
		if _, err := e.st.GetImage(e.ctx, "p2", img.ID); !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("GetImage of p1's row from p2: %v", err)
		}
	}
	// Syncing p2's registry with nothing leaves p1 alone.
	e.sync(inventory.Snapshot{RegistryID: r2.ID, SeenAt: 20})
	if got := e.list(inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, Limit: 100}); got.Total != 2 {
		t.Fatalf("p1 rows after p2's sync: %d", got.Total)
	}
	if got := e.list(inventory.Filter{ProjectID: "p2", Type: inventory.PrivateImage, Limit: 100, Namespace: "lib"}); got.Total != 0 {
		t.Fatalf("p2 rows after its empty sync: %d", got.Total)
	}
}

func testSetScanResult(t *testing.T, e *env) {
	e.project("p1")
	e.project("p2")
	r1 := e.registry("p1", "a.example", inventory.Harbor)
	r2 := e.registry("p1", "b.example", inventory.SwrShared, func(r *inventory.Registry) { r.DomainName = "owner" })
	r3 := e.registry("p2", "a.example", inventory.Harbor)
	d, other := Digest("common"), Digest("other")
	for _, r := range []inventory.Registry{r1, r2, r3} {
		e.sync(inventory.Snapshot{RegistryID: r.ID, SeenAt: 10, Manifests: []inventory.Manifest{image(d, 5, 1), image(other, 5, 1)},
			Repositories: []inventory.RepoSnapshot{repo("lib", "app", tag("1", d), tag("2", other)), repo("lib", "copy", tag("x", d))}})
	}
	res := inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 777, VulNum: 4, UnsafeSettingNum: 2, MaliciousFileNum: 1}
	e.scan(d, res)
	check := func(project string, typ inventory.ImageType) {
		t.Helper()
		rows := e.all(project, typ)
		if len(rows) != 3 {
			t.Fatalf("%s %s: %d rows", project, typ, len(rows))
		}
		for _, img := range rows {
			scanned := img.ManifestDigest == d
			if scanned != (img.ScanStatus == inventory.ScanSuccess && img.VulNum == 4 && img.UnsafeSettingNum == 2 &&
				img.MaliciousFileNum == 1 && img.LatestScanTime == 777) {
				t.Errorf("%s %s: %+v", project, typ, img)
			}
		}
	}
	check("p1", inventory.PrivateImage)
	check("p1", inventory.SharedImage)
	check("p2", inventory.PrivateImage)
	// The result filters at once.
	yes := true
	if p := e.list(inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, HasVul: &yes, Limit: 10}); p.Total != 2 {
		t.Errorf("has_vul after scan: %d rows", p.Total)
	}
	// A failure replaces the success.
	e.scan(d, inventory.ScanResult{Status: inventory.ScanFailed, FailedDesc: "image_oversized", ScanTime: 888})
	for _, img := range e.all("p2", inventory.PrivateImage) {
		if img.ManifestDigest == d && (img.ScanStatus != inventory.ScanFailed || img.VulNum != 0 || img.ScanFailedDesc != "image_oversized") {
			t.Errorf("after failed scan: %+v", img)
		}
	}
	if p := e.list(inventory.Filter{ProjectID: "p1", Type: inventory.PrivateImage, HasVul: &yes, Limit: 10}); p.Total != 0 {
		t.Errorf("has_vul after failed scan: %d rows", p.Total)
	}
	// A scan result for a digest no row has yet is kept for the rows a
	// later sync adds.
	late := Digest("late")
	e.scan(late, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 5, VulNum: 1})
	e.sync(inventory.Snapshot{RegistryID: r1.ID, SeenAt: 20, Manifests: []inventory.Manifest{image(late, 5, 1)},
		Repositories: []inventory.RepoSnapshot{repo("lib", "late", tag("1", late))}})
	if img := byKey(e.all("p1", inventory.PrivateImage))["lib/late:1"]; img.VulNum != 1 || img.ScanStatus != inventory.ScanSuccess {
		t.Errorf("late row = %+v", img)
	}
}

func testAssociations(t *testing.T, e *env) {
	e.project("p1")
	reg := e.registry("p1", "r.example", inventory.Harbor)
	idx, amd, arm, single := Digest("index"), Digest("amd64"), Digest("arm64"), Digest("single")
	armM := image(arm, 4000, 900)
	armM.Platform = "linux/arm64"
	ms := []inventory.Manifest{
		{Digest: idx, MediaType: "application/vnd.oci.image.index.v1+json", Members: []inventory.Association{
			{Digest: arm, Platform: "linux/arm64"}, {Digest: amd, Platform: "linux/amd64"},
		}},
		image(amd, 4000, 1000), armM, image(single, 10, 5),
	}
	e.sync(inventory.Snapshot{RegistryID: reg.ID, SeenAt: 1, Manifests: ms, Repositories: []inventory.RepoSnapshot{
		repo("lib", "multi", inventory.TagRef{Tag: "1", Digest: idx, ManifestDigest: amd}, tag("single", single)),
	}})
	e.scan(arm, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 9})
	rows := byKey(e.all("p1", inventory.PrivateImage))
	m := rows["lib/multi:1"]
	if m.Digest != idx || m.ManifestDigest != amd || m.Size != 1000 || m.LatestUpdateTime != 4000 || m.ScanStatus != inventory.Unscan {
		t.Fatalf("multi-arch row = %+v", m)
	}
	want := []inventory.Association{
		{Digest: arm, Platform: "linux/arm64", ScanStatus: inventory.ScanSuccess},
		{Digest: amd, Platform: "linux/amd64", ScanStatus: inventory.Unscan},
	}
	if !slices.Equal(m.Associations, want) {
		t.Fatalf("associations = %+v, want %+v", m.Associations, want)
	}
	if len(rows["lib/multi:single"].Associations) != 0 {
		t.Fatalf("single-platform row has associations: %+v", rows["lib/multi:single"].Associations)
	}
	if got, err := e.st.GetImage(e.ctx, "p1", m.ID); err != nil || !slices.Equal(got.Associations, want) {
		t.Fatalf("GetImage associations = %+v, %v", got.Associations, err)
	}
	e.scan(amd, inventory.ScanResult{Status: inventory.ScanSuccess, ScanTime: 10, VulNum: 2})
	m = byKey(e.all("p1", inventory.PrivateImage))["lib/multi:1"]
	if m.VulNum != 2 || m.Associations[1].ScanStatus != inventory.ScanSuccess {
		t.Fatalf("after scanning the described member: %+v", m)
	}
}

func testSharedAndInstance(t *testing.T, e *env) {
	e.project("p1")
	live := e.registry("p1", "live.example", inventory.SwrShared, func(r *inventory.Registry) { r.DomainName = "owner-a"; r.SharedExpires = 1 << 62 })
	old := e.registry("p1", "old.example", inventory.SwrShared, func(r *inventory.Registry) { r.DomainName = "owner-b"; r.SharedExpires = 1 })
	inst := e.registry("p1", "inst.example", inventory.SwrEnterprise, func(r *inventory.Registry) {
		r.InstanceID, r.InstanceName, r.InstanceURL = "ins-1", "Inst One", "https://inst.example"
	})
	d := Digest("x")
	for _, r := range []inventory.Registry{live, old, inst} {
		e.sync(inventory.Snapshot{RegistryID: r.ID, SeenAt: 1, Manifests: []inventory.Manifest{image(d, 5, 1)},
			Repositories: []inventory.RepoSnapshot{repo("ns", r.Addr, tag("1", d))}})
	}
	shared := byKey(e.all("p1", inventory.SharedImage))
	if got := shared["ns/live.example:1"]; got.SharedStatus != "effective" || got.DomainName != "owner-a" || got.Type != inventory.SharedImage {
		t.Errorf("live share: %+v", got)
	}
	if got := shared["ns/old.example:1"]; got.SharedStatus != "expired" || got.DomainName != "owner-b" {
		t.Errorf("expired share: %+v", got)
	}
	rows := e.all("p1", inventory.InstanceImage)
	if len(rows) != 1 || rows[0].InstanceID != "ins-1" || rows[0].InstanceName != "Inst One" ||
		rows[0].InstanceURL != "https://inst.example" || rows[0].SharedStatus != "" {
		t.Fatalf("instance rows: %+v", rows)
	}
	base := inventory.Filter{ProjectID: "p1", Type: inventory.InstanceImage, Limit: 10}
	for _, tc := range []struct {
		id, name string
		want     int64
	}{{"ins-1", "", 1}, {"ins", "", 0}, {"", "One", 1}, {"", "one", 0}, {"ins-1", "Inst", 1}} {
		f := base
		f.InstanceID, f.InstanceName = tc.id, tc.name
		if p := e.list(f); p.Total != tc.want {
			t.Errorf("instance id %q name %q: %d rows, want %d", tc.id, tc.name, p.Total, tc.want)
		}
	}
	upd := inst
	upd.InstanceName = "Renamed"
	if _, err := e.st.UpdateRegistry(e.ctx, upd); err != nil {
		t.Fatal(err)
	}
	f := base
	f.InstanceName = "Renamed"
	if p := e.list(f); p.Total != 1 {
		t.Errorf("rows do not follow the renamed instance")
	}
	upd.Type = inventory.Harbor
	_, err := e.st.UpdateRegistry(e.ctx, upd)
	wantErr(t, err, inventory.ErrConflict)
}

func testLocalImages(t *testing.T, e *env) {
	e.project("p1")
	e.project("p2")
	da, db := Digest("local-a"), Digest("local-b")
	img := inventory.Image{ProjectID: "p1", Namespace: "imported", Name: "tool", Tag: "1", Digest: da}
	a, err := e.st.PutLocalImage(e.ctx, img, []inventory.Manifest{image(da, 1234, 99)})
	if err != nil {
		t.Fatal(err)
	}
	if a.ID <= 0 || a.Type != inventory.LocalImage || a.RegistryID != 0 || a.Size != 99 || a.LatestUpdateTime != 1234 ||
		!a.LatestVersion || a.ScanStatus != inventory.Unscan || a.EnterpriseProjectID != "0" || a.ManifestDigest != da {
		t.Fatalf("local image = %+v", a)
	}
	img.Digest = db
	b, err := e.st.PutLocalImage(e.ctx, img, []inventory.Manifest{image(db, 2000, 7)})
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != a.ID || b.Digest != db || b.Size != 7 || b.LatestUpdateTime != 2000 {
		t.Fatalf("replaced local image = %+v; want id %d kept", b, a.ID)
	}
	img.ProjectID = "p2"
	c, err := e.st.PutLocalImage(e.ctx, img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == a.ID {
		t.Fatal("another project's local image shares the id")
	}
	if p := e.list(inventory.Filter{ProjectID: "p1", Type: inventory.LocalImage, Limit: 10}); p.Total != 1 || p.Images[0].ID != a.ID {
		t.Fatalf("p1 local list: %+v", p)
	}
	e.scan(db, inventory.ScanResult{Status: inventory.ScanSuccess, VulNum: 3, ScanTime: 1})
	if got, _ := e.st.GetImage(e.ctx, "p1", a.ID); got.VulNum != 3 {
		t.Fatalf("scan result not on local row: %+v", got)
	}
	if got, _ := e.st.GetImage(e.ctx, "p2", c.ID); got.VulNum != 3 {
		t.Fatalf("scan result not on p2's local row sharing the digest: %+v", got)
	}
	img.ProjectID, img.Tag = "p1", "2"
	img.Digest = da
	if _, err := e.st.PutLocalImage(e.ctx, img, nil); err != nil {
		t.Fatal(err)
	}
	latest := e.list(inventory.Filter{ProjectID: "p1", Type: inventory.LocalImage, LatestVersionOnly: true, Limit: 10})
	if latest.Total != 1 || latest.Images[0].Tag != "1" {
		t.Fatalf("latest local: %+v (tag 1 has time 2000 > 1234)", keys(latest.Images))
	}
}
