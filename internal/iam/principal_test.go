package iam

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/inventory"
)

func TestEnterpriseProjects(t *testing.T) {
	all := Principal{ProjectID: "p", Grant: inventory.Grant{All: true}}
	def := Principal{ProjectID: "p", Grant: inventory.Grant{IDs: []string{"0"}}}
	some := Principal{ProjectID: "p", Grant: inventory.Grant{IDs: []string{"0", "ep-1", "ep-2"}}}
	noDefault := Principal{ProjectID: "p", Grant: inventory.Grant{IDs: []string{"ep-1"}}}
	none := Principal{ProjectID: "p"}

	tests := []struct {
		name  string
		p     Principal
		param string
		want  []string
		err   error
	}{
		{"absent, all", all, "", []string{"0"}, nil},
		{"0, all", all, "0", []string{"0"}, nil},
		{"absent, default granted", def, "", []string{"0"}, nil},
		{"absent, default not granted", noDefault, "", nil, ErrForbidden},
		{"0, default not granted", noDefault, "0", nil, ErrForbidden},
		{"all_granted_eps, all", all, "all_granted_eps", nil, nil},
		{"all_granted_eps, some", some, "all_granted_eps", []string{"0", "ep-1", "ep-2"}, nil},
		{"all_granted_eps, no default", noDefault, "all_granted_eps", []string{"ep-1"}, nil},
		{"all_granted_eps, empty grant", none, "all_granted_eps", nil, ErrForbidden},
		{"granted id", some, "ep-2", []string{"ep-2"}, nil},
		{"any id, all", all, "ep-9", []string{"ep-9"}, nil},
		{"uuid, all", all, "5f7c2a3e-1b2d-4c3e-8f9a-0b1c2d3e4f5a", []string{"5f7c2a3e-1b2d-4c3e-8f9a-0b1c2d3e4f5a"}, nil},
		{"ungranted id", some, "ep-3", nil, ErrForbidden},
		{"case differs", some, "EP-1", nil, ErrForbidden},
		{"bad charset", all, "ep;1", nil, ErrBadEnterpriseProject},
		{"space", all, "ep 1", nil, ErrBadEnterpriseProject},
		{"too long", all, strings.Repeat("a", 65), nil, ErrBadEnterpriseProject},
		{"64 is fine", all, strings.Repeat("a", 64), []string{strings.Repeat("a", 64)}, nil},
		{"bad before forbidden", none, "../x", nil, ErrBadEnterpriseProject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.p.EnterpriseProjects(tt.param)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("EnterpriseProjects(%q) = %v, %v; want error %v", tt.param, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("EnterpriseProjects(%q): %v", tt.param, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("EnterpriseProjects(%q) = %#v, want %#v", tt.param, got, tt.want)
			}
		})
	}
}

func TestEnterpriseProjectsDoesNotAliasGrant(t *testing.T) {
	p := Principal{Grant: inventory.Grant{IDs: []string{"ep-1", "ep-2"}}}
	got, err := p.EnterpriseProjects(AllGrantedEPs)
	if err != nil {
		t.Fatal(err)
	}
	got[0] = "changed"
	if p.Grant.IDs[0] != "ep-1" {
		t.Fatal("the result aliases the grant")
	}
}

func TestCheckProject(t *testing.T) {
	tests := []struct {
		name    string
		p       Principal
		project string
		ok      bool
	}{
		{"own project", Principal{ProjectID: "p1"}, "p1", true},
		{"other project", Principal{ProjectID: "p1"}, "p2", false},
		{"signed id matches", Principal{ProjectID: "p1", SignedProjectID: "p1"}, "p1", true},
		{"signed id differs from path", Principal{ProjectID: "p1", SignedProjectID: "p2"}, "p1", false},
		{"empty path project", Principal{ProjectID: "p1"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.CheckProject(tt.project)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckProject(%q) = %v", tt.project, err)
			}
			if err != nil && !errors.Is(err, ErrForbidden) {
				t.Fatalf("error %v does not wrap ErrForbidden", err)
			}
		})
	}
}
