package main

import (
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSBOMOfSyncd builds syncd and reads its build information: every
// module it links must be a component with its go.sum hash, and the
// document must be the same for the same binary.
func TestSBOMOfSyncd(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "syncd")
	build := exec.Command("go", "build", "-o", exe, "github.com/syncd/syncd/cmd/syncd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bi, err := buildinfo.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC) }
	var a, b bytes.Buffer
	if err := run(exe, &a, now); err != nil {
		t.Fatal(err)
	}
	if err := run(exe, &b, now); err != nil || a.String() != b.String() {
		t.Fatalf("the same binary gave another SBOM (err %v)", err)
	}
	var doc document
	if err := json.Unmarshal(a.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion != "1.5" || !strings.HasPrefix(doc.SerialNumber, "urn:uuid:") ||
		doc.Metadata.Component.Name != "github.com/syncd/syncd" || len(doc.Metadata.Component.Hashes) != 1 {
		t.Errorf("document head: %+v", doc.Metadata)
	}
	if len(bi.Deps) < 5 {
		t.Fatalf("syncd links %d modules: the check below proves little", len(bi.Deps))
	}
	if len(doc.Components) != len(bi.Deps) || len(doc.Dependencies) != 1 || len(doc.Dependencies[0].DependsOn) != len(bi.Deps) {
		t.Errorf("%d components, %d dependencies; the binary links %d modules", len(doc.Components), len(doc.Dependencies), len(bi.Deps))
	}
	names := map[string]bool{}
	for _, c := range doc.Components {
		names[c.Name] = true
		if !strings.HasPrefix(c.PURL, "pkg:golang/") || c.Version == "" || len(c.Properties) != 1 || !strings.HasPrefix(c.Properties[0].Value, "h1:") {
			t.Errorf("component %+v", c)
		}
	}
	for _, m := range []string{"github.com/go-ldap/ldap/v3", "go.uber.org/zap", "go.etcd.io/bbolt"} {
		if !names[m] {
			t.Errorf("%s is linked into syncd but not in the SBOM", m)
		}
	}
	if err := run(exe+".missing", &a, now); err == nil {
		t.Error("a missing binary gave no error")
	}
}
