package ldap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/source/ldap/dstest"
)

// The documentation shows the very files the tests read the real servers
// with, and the access rules the tests' accounts have.
func TestDocsShowTheTestedFiles(t *testing.T) {
	root := repoRoot(t)
	read := func(parts ...string) string {
		data, err := os.ReadFile(filepath.Join(append([]string{root}, parts...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for doc, files := range map[string][]string{
		"active-directory.md": {"active-directory.yaml"},
		"freeipa-389ds.md":    {"freeipa.yaml"},
		"openldap.md":         {"openldap.yaml", "openldap-acl.conf"},
	} {
		text := read("docs", doc)
		for _, f := range files {
			if !strings.Contains(text, read("examples", "ldap", f)) {
				t.Errorf("docs/%s does not show examples/ldap/%s as it is", doc, f)
			}
		}
	}
	if !strings.Contains(read("docs", "freeipa-389ds.md"), `(targetattr="`+dstest.ReadAttributes+`")`) {
		t.Errorf("docs/freeipa-389ds.md does not give the ACI the tests' account has")
	}
}
