package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openhss/openhss/internal/osvtestdata"
	"github.com/openhss/openhss/internal/vulndb"
)

func runDB(t *testing.T, g *globals, args ...string) (string, error) {
	t.Helper()
	cmd := newDBCmd(g)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestDBCommands(t *testing.T) {
	vulndata := osvtestdata.Dir(t)
	g := &globals{data: t.TempDir(), logLevel: "error"}

	out, err := runDB(t, g, "import", filepath.Join(vulndata, "debian-12"), filepath.Join(vulndata, "alpine"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "807 records read, 807 written") || !strings.Contains(out, "179 records read, 179 written") {
		t.Fatalf("import output:\n%s", out)
	}

	out, err = runDB(t, g, "status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Debian:12     807") || !strings.Contains(out, "total: 986 records") {
		t.Fatalf("status output:\n%s", out)
	}

	g.json = true
	out, err = runDB(t, g, "status")
	if err != nil {
		t.Fatal(err)
	}
	var st vulndb.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if st.Records != 986 || st.LastImport == nil || !strings.HasSuffix(st.LastImport.Source, "alpine") {
		t.Fatalf("status --json = %+v", st)
	}

	if _, err := runDB(t, g, "import", filepath.Join(vulndata, "no-such-dir")); err == nil {
		t.Fatal("import of a missing directory succeeded")
	}
	if _, err := runDB(t, g, "update", "--base-url", "http://127.0.0.1:1", "--ecosystem", "Go"); err == nil ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("update against nothing: %v (want a one-line error)", err)
	}
}
