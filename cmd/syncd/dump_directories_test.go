package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/dump"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/source/ldap/dstest"
	"github.com/syncd/syncd/internal/source/ldap/fixture"
	"github.com/syncd/syncd/internal/source/ldap/sambatest"
)

// exampleFile writes examples/ldap/NAME.yaml into a directory of its own,
// with the servers' addresses replaced by url (its only difference from the
// file), the CA bundle it names and the credentials it reads; it returns the
// config path and the environment to run with.
func exampleFile(t *testing.T, name, url, caFile, password string, edits ...string) (string, map[string]string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "examples", "ldap", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, host := range []string{"ldaps://dc1.corp.example.org", "ldaps://dc2.corp.example.org",
		"ldaps://ipa1.ipa.example.org", "ldaps://ipa2.ipa.example.org"} {
		text = strings.ReplaceAll(text, host, url)
	}
	text = strings.NewReplacer(edits...).Replace(text)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(creds, "teams-token"), "not-used\n", 0o600)
	writeTestFile(t, filepath.Join(creds, "ldap-password"), password+"\n", 0o600)
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ca_file: "); ok {
			writeTestFile(t, filepath.Join(dir, v), string(ca), 0o644)
		}
	}
	return writeTestFile(t, filepath.Join(dir, "config.yaml"), text, 0o644), map[string]string{"CREDENTIALS_DIRECTORY": creds}
}

// dumpAndCompare runs `syncd source dump --format json` and compares each
// group the truth names with it, by each member's name and e-mail.
func dumpAndCompare(t *testing.T, cfg string, vars map[string]string, truth map[string]fixture.Result, wantCode int) dump.Document {
	t.Helper()
	code, out, errOut := runCmd(t, vars, "source", "dump", "--config", cfg, "--format", "json")
	if code != wantCode {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, wantCode, errOut)
	}
	var doc dump.Document
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	byName := map[string]dump.Group{}
	for _, g := range doc.Groups {
		byName[g.Name] = g
	}
	for name, want := range truth {
		g, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("%s: not in the dump", name)
		case want.Unknown:
			if g.Error == "" || g.Members != nil {
				t.Errorf("%s: %d members, error %q; want unknown (an error, members null)", name, len(g.Members), g.Error)
			}
		case g.Error != "":
			t.Errorf("%s: unknown (%s), want %d members", name, g.Error, len(want.Members))
		default:
			var got, exp []string
			for _, m := range g.Members {
				got = append(got, m.Name+" <"+m.Email+">")
			}
			for _, p := range want.Members {
				exp = append(exp, p.Name+" <"+strings.ToLower(p.Mail)+">")
			}
			slices.Sort(got)
			slices.Sort(exp)
			if !slices.Equal(got, exp) {
				t.Errorf("%s: dump has %d members, the fixture %d", name, len(got), len(exp))
			}
		}
	}
	return doc
}

// `syncd source dump` with the Active Directory example, against a real
// domain controller, prints what the fixture says each group holds.
func TestSourceDumpActiveDirectory(t *testing.T) {
	srv := sambatest.Start(t)
	f := sambatest.Fixture()
	scope := fixture.Scope{UsersBase: sambatest.BaseDN, GroupsBase: sambatest.BaseDN, SkipDisabled: true}
	cfg, vars := exampleFile(t, "active-directory", srv.LDAPSURL, srv.CAFile, sambatest.ServicePW)
	doc := dumpAndCompare(t, cfg, vars, f.Truth(scope), exitcode.OK)
	people := 0
	for _, p := range f.People {
		if !p.Disabled {
			people++
		}
	}
	if doc.Users != people {
		t.Errorf("users = %d, want %d", doc.Users, people)
	}
	for _, g := range doc.Groups {
		if g.Error != "" {
			t.Errorf("%s: unknown: %s", g.Name, g.Error)
		}
	}

	// The group search narrowed to OU=Groups: groups holding groups outside
	// it are unknown, the dump says so and exits 1.
	scope.GroupsBase = sambatest.Groups
	cfg, vars = exampleFile(t, "active-directory", srv.LDAPSURL, srv.CAFile, sambatest.ServicePW,
		"groups:\n        base_dn: DC=corp,DC=example,DC=org", "groups:\n        base_dn: "+sambatest.Groups)
	dumpAndCompare(t, cfg, vars, f.Truth(scope), exitcode.Failure)
}

// The same with the FreeIPA example against a real 389 Directory Server.
func TestSourceDumpFreeIPA(t *testing.T) {
	srv := dstest.Start(t)
	f := dstest.Fixture()
	scope := fixture.Scope{UsersBase: dstest.Users, GroupsBase: dstest.Groups, SkipDisabled: true}
	cfg, vars := exampleFile(t, "freeipa", srv.LDAPSURL, srv.CAFile, dstest.ServicePW)
	dumpAndCompare(t, cfg, vars, f.Truth(scope), exitcode.OK)
}
