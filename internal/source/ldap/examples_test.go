package ldap_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap/fixture"
)

// repoRoot walks up from the package directory to go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			tb.Fatal("go.mod not found")
		}
		dir = up
	}
}

// exampleConfig loads examples/ldap/NAME.yaml as syncd does, from a
// directory that also holds the files it names: caFile's content as the
// CA bundle it names, and the credentials (password for the directory).
// The source's URLs become urls: the one thing that differs from the file.
func exampleConfig(t *testing.T, name string, urls []string, caFile, password string) config.LDAP {
	t.Helper()
	return exampleConfigB(t, name, urls, caFile, password)
}

func exampleConfigB(t testing.TB, name string, urls []string, caFile, password string) config.LDAP {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "examples", "ldap", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(creds, "teams-token"), "not-used\n")
	write(filepath.Join(creds, "ldap-password"), password+"\n")
	ca, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ca_file: "); ok && v != `""` {
			write(filepath.Join(dir, v), string(ca))
		}
	}
	env := func(k string) string {
		if k == "CREDENTIALS_DIRECTORY" {
			return creds
		}
		return ""
	}
	cfg, err := config.Parse(filepath.Join(dir, "config.yaml"), data, env)
	if err != nil {
		t.Fatalf("%s.yaml does not load: %v", name, err)
	}
	src := cfg.Source("corp")
	if src == nil || src.LDAP == nil {
		t.Fatalf("%s.yaml has no ldap source named corp", name)
	}
	l := *src.LDAP
	l.URLs = urls
	return l
}

// compareTruth checks every group the truth names against what was read:
// unknown where the truth says unknown, else the same people (by login).
func compareTruth(t *testing.T, d *directory.Directory, truth map[string]fixture.Result) {
	t.Helper()
	if len(truth) == 0 {
		t.Fatal("the truth names no group")
	}
	for name, want := range truth {
		g, err := d.Lookup(name)
		if g == nil || err != nil {
			t.Errorf("%s: not read (%v)", name, err)
			continue
		}
		if want.Unknown {
			if g.Err == nil {
				t.Errorf("%s: read with %d members, want unknown", name, len(g.Members))
			}
			continue
		}
		if g.Err != nil {
			t.Errorf("%s: unknown (%v), want %d members", name, g.Err, len(want.Members))
			continue
		}
		var got, exp []string
		for _, id := range g.Members {
			got = append(got, d.Users[id].Login)
		}
		for _, p := range want.Members {
			exp = append(exp, p.Login)
		}
		slices.Sort(got)
		slices.Sort(exp)
		if !slices.Equal(got, exp) {
			t.Errorf("%s: %d members, want %d\n  read but not expected: %v\n  expected but not read: %v",
				name, len(got), len(exp), minus(got, exp), minus(exp, got))
		}
	}
}

// minus returns what a has that b lacks (both sorted), at most 10.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok && len(out) < 10 {
			out = append(out, x)
		}
	}
	return out
}

// checkPeople compares every person read with the fixture: display name and
// e-mail (lower-cased, as syncd matches it).
func checkPeople(t *testing.T, d *directory.Directory, f *fixture.Directory, s fixture.Scope) {
	t.Helper()
	byLogin := map[string]*directory.User{}
	for _, u := range d.Users {
		byLogin[u.Login] = u
	}
	for _, p := range f.People {
		u := byLogin[p.Login]
		if p.Disabled && s.SkipDisabled {
			if u != nil {
				t.Errorf("%s is disabled but was read", p.Login)
			}
			continue
		}
		if u == nil {
			t.Errorf("%s not read", p.Login)
			continue
		}
		var wantMail []string
		if p.Mail != "" {
			wantMail = []string{strings.ToLower(p.Mail)}
		}
		if u.Name != p.Name || !slices.Equal(u.Emails, wantMail) {
			t.Errorf("%s: name %q emails %v, want %q %v", p.Login, u.Name, u.Emails, p.Name, wantMail)
		}
	}
}
