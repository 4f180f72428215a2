package console_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/tasks"
)

var prevLink = regexp.MustCompile(`<a href="([^"]+)" rel="prev">`)

// TestSyncTaskRegistryFilters: a sync task's page filters its connections
// by registry_name (a substring) and registry_type (one type, or the
// API's comma-separated list) as ListAssociateRegistries does, with the
// same totals; the form shows the filters and the pager keeps them; a
// type the API refuses is a 400 in its words, with no list.
func TestSyncTaskRegistryFilters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice, _ := e.signIn("alice")
	// 230 connections: even-NNN and odd-NNN, every third a Harbor, the
	// rest Jfrog; more than a page (100) match "even".
	var items []tasks.Item
	for i := range 230 {
		name, typ := fmt.Sprintf("odd-%03d", i), "Jfrog"
		if i%2 == 0 {
			name = fmt.Sprintf("even-%03d", i)
		}
		if i%3 == 0 {
			typ = "Harbor"
		}
		items = append(items, tasks.Item{RefID: int64(i + 1), RegistryID: int64(i + 1), RegistryName: name, RegistryType: typ})
	}
	tk, err := e.st.CreateTask(ctx, tasks.Task{ProjectID: projA, Type: tasks.Sync, Kind: tasks.ManualSync, Name: "sync", BeginTime: 1}, items)
	if err != nil {
		t.Fatal(err)
	}
	nameInput := regexp.MustCompile(`<label for="registry_name">Registry name</label>\s*<input id="registry_name" name="registry_name" value="([^"]*)"`)
	rowName := regexp.MustCompile(`<td>((?:even|odd)-[0-9]{3})</td>\s*<td>([A-Za-z]+)</td>`)
	for _, tc := range []struct {
		name, types string
		total       int64
		next        bool // a second page
	}{
		{"", "", 230, true},
		{"even", "", 115, true},
		{"", "Harbor", 77, false},
		{"even", "Harbor", 39, false},
		{"odd-00", "", 5, false},
		{"even", "Harbor,Jfrog", 115, true},
		{"nothing", "", 0, false},
	} {
		q := url.Values{}
		for k, v := range map[string]string{"registry_name": tc.name, "registry_type": tc.types} {
			if v != "" {
				q.Set(k, v)
			}
		}
		page := "/tasks/" + tk.ID + "?" + q.Encode()
		resp, body := e.do("GET", page, nil, alice)
		apiTotal, _ := e.apiTotal(alice, "/v5/"+projA+"/image/image-sync/tasks/"+tk.ID+"/registries?"+q.Encode())
		want := min(tc.total, 100)
		if n := rowCount(body, "task-registries"); resp.StatusCode != http.StatusOK || apiTotal != tc.total || int64(n) != want ||
			!strings.Contains(body, fmt.Sprintf(`Registries <span class="count">(%d)</span>`, tc.total)) {
			t.Errorf("%s: %s, %d rows, API total %d, want %d rows of %d", page, resp.Status, n, apiTotal, want, tc.total)
		}
		for _, m := range rowName.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[1], tc.name) || tc.types != "" && !strings.Contains(tc.types, m[2]) {
				t.Errorf("%s: row %s (%s) does not match", page, m[1], m[2])
			}
		}
		if m := nameInput.FindStringSubmatch(body); m == nil || m[1] != tc.name {
			t.Errorf("%s: registry name input %v, want value %q", page, m, tc.name)
		}
		sel, got, ok := selectOf(body, "registry_type", "Registry type")
		if !ok || !strings.Contains(sel, `<option value="">any</option>`) || !strings.Contains(sel, `<option value="SwrEnterprise">`) {
			t.Fatalf("%s: no labelled registry type select: %v", page, sel)
		}
		if tc.types == "" && len(got) != 0 || tc.types != "" && fmt.Sprint(got) != fmt.Sprint([]string{tc.types}) {
			t.Errorf("%s: selected %q, want %q", page, got, tc.types)
		}
		// The selection is one of the options, not another beside it.
		if n := strings.Count(sel, `value="`+tc.types+`"`); n != 1 {
			t.Errorf("%s: the select offers %q %d times", page, tc.types, n)
		}
		m := nextLink.FindStringSubmatch(body)
		if (m != nil) != tc.next {
			t.Fatalf("%s: next link %v, want one: %v", page, m, tc.next)
		}
		if m == nil {
			continue
		}
		// The next page keeps the filters and lists the rest.
		link, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatal(err)
		}
		lq := link.Query()
		if lq.Get("registry_name") != tc.name || lq.Get("registry_type") != tc.types || lq.Get("offset") != "100" {
			t.Errorf("%s: next link %s lost the filters", page, link)
		}
		_, body = e.do("GET", link.String(), nil, alice)
		if n := rowCount(body, "task-registries"); int64(n) != min(tc.total-100, 100) {
			t.Errorf("%s: %d rows, want %d", link, n, min(tc.total-100, 100))
		}
		for _, m := range rowName.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[1], tc.name) {
				t.Errorf("%s: row %s does not match", link, m[1])
			}
		}
		if pm := prevLink.FindStringSubmatch(body); pm == nil || tc.name != "" && !strings.Contains(html.UnescapeString(pm[1]), "registry_name="+tc.name) {
			t.Errorf("%s: previous link %v lost the filters", link, pm)
		}
	}
	// The form submits its empty fields: no condition.
	if resp, body := e.do("GET", "/tasks/"+tk.ID+"?registry_name=&registry_type=&sync_status=", nil, alice); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `Registries <span class="count">(230)</span>`) {
		t.Errorf("the form's empty fields: %s, want every connection", resp.Status)
	}
	e.checkRefused(alice, "/tasks/"+tk.ID, `<td>even-000</td>`, map[string]string{
		"registry_type=Bogus":                       "invalid parameter registry_type",
		"registry_type=Harbor,":                     "invalid parameter registry_type",
		"registry_name=" + strings.Repeat("x", 129): "invalid parameter registry_name",
	})
}
