package storetest

import (
	"maps"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

// testUserPassword: SetUserPassword replaces one user's hash and revokes
// every token of that user, cached ones included (a token read after it
// returns is revoked), and no other user's; a user of another project, or
// none, is ErrNotFound and nothing changes (docs/security.md, Passwords).
func testUserPassword(t *testing.T, e *env) {
	ctx := e.ctx
	mk := func(project, name string) inventory.User {
		t.Helper()
		u, err := e.st.CreateUser(ctx, inventory.User{Role: inventory.RoleAdmin, ProjectID: project, Name: name, PasswordHash: "old-" + name})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	ann, bob, carl := mk("p1", "ann"), mk("p1", "bob"), mk("p2", "carl")
	tokens := map[string]int64{"ann-1": ann.ID, "ann-2": ann.ID, "bob-1": bob.ID, "carl-1": carl.ID}
	for hash, uid := range tokens {
		p := "p1"
		if uid == carl.ID {
			p = "p2"
		}
		if err := e.st.CreateToken(ctx, inventory.Token{Hash: hash, UserID: uid, ProjectID: p, Grant: inventory.Grant{All: true}, CreatedAt: 1, ExpiresAt: 1 << 50}); err != nil {
			t.Fatal(err)
		}
		// Read once, so that the token cache holds it live.
		if tok, err := e.st.GetToken(ctx, hash); err != nil || tok.RevokedAt != 0 {
			t.Fatalf("GetToken(%s) = %+v, %v", hash, tok, err)
		}
	}
	hashOf := func(project, name string) string {
		t.Helper()
		u, err := e.st.GetUserByName(ctx, project, name)
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
	revoked := func() map[string]int64 {
		t.Helper()
		out := map[string]int64{}
		for hash := range tokens {
			tok, err := e.st.GetToken(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			out[hash] = tok.RevokedAt
		}
		return out
	}

	// Another project's user, and no user: refused, nothing changed.
	wantErr(t, e.st.SetUserPassword(ctx, "p2", ann.ID, "new", 7), inventory.ErrNotFound)
	wantErr(t, e.st.SetUserPassword(ctx, "p1", carl.ID, "new", 7), inventory.ErrNotFound)
	wantErr(t, e.st.SetUserPassword(ctx, "p1", 1<<40, "new", 7), inventory.ErrNotFound)
	if h := hashOf("p1", "ann"); h != "old-ann" {
		t.Fatalf("refused changes left ann's hash %q", h)
	}
	for hash, at := range revoked() {
		if at != 0 {
			t.Fatalf("a refused change revoked %s", hash)
		}
	}
	if err := e.st.SetUserPassword(ctx, "p1", ann.ID, "", 7); err == nil {
		t.Fatal("SetUserPassword stored an empty hash")
	}

	if err := e.st.SetUserPassword(ctx, "p1", ann.ID, "new-ann", 7); err != nil {
		t.Fatal(err)
	}
	if h := hashOf("p1", "ann"); h != "new-ann" {
		t.Fatalf("ann's hash = %q, want new-ann", h)
	}
	if h := hashOf("p1", "bob"); h != "old-bob" {
		t.Fatalf("bob's hash = %q, changed with ann's", h)
	}
	want := map[string]int64{"ann-1": 7, "ann-2": 7, "bob-1": 0, "carl-1": 0}
	if got := revoked(); !maps.Equal(got, want) {
		t.Fatalf("revoked_at after ann's change = %v, want %v", got, want)
	}
}
