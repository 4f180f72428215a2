package hssapi_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
	"github.com/openhss/openhss/internal/registry/registrytest"
)

// authLog records the Authorization headers a registry receives.
type authLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *authLog) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			l.mu.Lock()
			l.seen = append(l.seen, a)
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// passwords returns the password of every Basic header received.
func (l *authLog) passwords(t *testing.T) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, a := range l.seen {
		enc, ok := strings.CutPrefix(a, "Basic ")
		if !ok {
			out = append(out, a) // a bearer token or anything else counts as a credential
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			t.Fatalf("undecodable Basic header %q", a)
		}
		_, pass, _ := strings.Cut(string(raw), ":")
		out = append(out, pass)
	}
	return out
}

// TestUpdateRegistryDropsPasswordOnNewTarget: a PUT that moves a
// connection to another address, protocol or user without giving a
// password drops the stored one, so the next sync cannot send it to the
// new target; the same PUT with a password keeps the new one, and a PUT
// that changes none of the three (or spells the same address differently)
// keeps the stored password.
func TestUpdateRegistryDropsPasswordOnNewTarget(t *testing.T) {
	const secretPass = "s3cret-of-the-old-host"
	ctx := context.Background()

	tests := []struct {
		name string
		// change is the PUT body, given the new registry's address.
		change   func(newAddr string) map[string]any
		newHost  bool   // the sync goes to the second registry
		wantPass string // the password the stored connection opens to
	}{
		{"new address", func(a string) map[string]any { return map[string]any{"registry_addr": a} }, true, ""},
		{"new address and user", func(a string) map[string]any {
			return map[string]any{"registry_addr": a, "registry_username": "admin2"}
		}, true, ""},
		{"new address with a password", func(a string) map[string]any {
			return map[string]any{"registry_addr": a, "registry_password": "new-pass"}
		}, true, "new-pass"},
		{"new user", func(string) map[string]any { return map[string]any{"registry_username": "admin2"} }, false, ""},
		{"new protocol", func(string) map[string]any { return map[string]any{"protocol": "https"} }, false, ""},
		{"same address, protocol and user sent again", func(string) map[string]any { return nil }, false, secretPass},
		{"empty password", func(string) map[string]any { return map[string]any{"registry_password": ""} }, false, ""},
		{"namespace only", func(string) map[string]any { return map[string]any{"namespace": "team"} }, false, secretPass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, allowLoopback(t))
			var oldLog, newLog authLog
			oldReg := registrytest.New(t, registrytest.WithBasicAuth("admin", secretPass), registrytest.WithMiddleware(oldLog.middleware))
			newReg := registrytest.New(t, registrytest.WithBasicAuth("admin", "the-new-hosts-own"), registrytest.WithMiddleware(newLog.middleware))
			oldReg.PushImage(t, "team/app", "1", registrytest.ImageOptions{})
			newReg.PushImage(t, "team/app", "1", registrytest.ImageOptions{})

			add := e.do(t, reqSpec{Method: http.MethodPost, Target: "/v5/" + projA + "/image/registries", Body: jsonBody(t, map[string]any{
				"registry_name": "moving", "registry_type": "Other", "api_version": "V2", "protocol": "http",
				"registry_addr": oldReg.Addr(), "registry_username": "admin", "registry_password": secretPass,
			})})
			if add.Status != http.StatusOK {
				t.Fatalf("add registry: %d %s", add.Status, add.Raw)
			}
			regs, _, err := e.store.ListRegistries(ctx, inventory.RegistryFilter{ProjectID: projA, Name: "moving", Limit: 10})
			if err != nil || len(regs) != 1 {
				t.Fatalf("stored registry: %+v %v", regs, err)
			}
			id := regs[0].ID

			body := tc.change(newReg.Addr())
			if body == nil { // a client sending the whole connection back
				body = map[string]any{"registry_addr": oldReg.Addr(), "protocol": "http", "registry_username": "admin"}
			}
			put := e.do(t, reqSpec{Method: http.MethodPut, Target: "/v5/" + projA + "/image/registries/" + strconv.FormatInt(id, 10),
				Body: jsonBody(t, body)})
			if put.Status != http.StatusOK {
				t.Fatalf("update registry: %d %s", put.Status, put.Raw)
			}
			reg, err := e.store.GetRegistry(ctx, projA, id)
			if err != nil {
				t.Fatal(err)
			}
			if tc.newHost {
				// The next sync goes to the new host: it must never see the
				// old host's password.
				if _, err := e.syncer.SyncRegistry(ctx, reg); err != nil {
					t.Fatal(err)
				}
				sent := newLog.passwords(t)
				if len(sent) == 0 && tc.wantPass != "" {
					t.Fatal("the new registry saw no credentials at all: the test does not exercise authentication")
				}
				if slices.Contains(sent, secretPass) {
					t.Fatalf("the new registry received the old host's password: %q", sent)
				}
				for _, p := range sent {
					if p != tc.wantPass {
						t.Fatalf("the new registry received password %q, want only %q", p, tc.wantPass)
					}
				}
			}
			got := ""
			if len(reg.PasswordSealed) > 0 {
				if got, err = e.box.Open(reg.PasswordSealed); err != nil {
					t.Fatal(err)
				}
			}
			if got != tc.wantPass {
				t.Fatalf("stored password after the update = %q, want %q", got, tc.wantPass)
			}
		})
	}
}
