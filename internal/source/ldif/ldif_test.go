package ldif_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/source/ldif"
)

func write(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dir.ldif")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func readFile(t *testing.T, cfg config.LDIF) (*directory.Directory, error) {
	t.Helper()
	r, err := ldif.New("export", cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return r.Read(context.Background())
}

func members(t *testing.T, d *directory.Directory, name string) []string {
	t.Helper()
	g := d.Group(name)
	if g == nil || g.Err != nil {
		t.Fatalf("group %s: %+v", name, g)
	}
	var out []string
	for _, id := range g.Members {
		out = append(out, d.Users[id].Login)
	}
	slices.Sort(out)
	return out
}

// The fixture the LDAP tests load into slapd, read from a file, gives the
// same groups: the LDIF source maps entries with the LDAP source's code.
func TestFixtureLikeTheLDAPSource(t *testing.T) {
	path := write(t, "version: 1\n\n"+slapdtest.BaseLDIF+slapdtest.Fixture)
	d, err := readFile(t, config.LDIF{Path: path,
		Users:  config.LDAPUsers{BaseDN: "ou=people," + slapdtest.Suffix, IDAttribute: "uid"},
		Groups: config.LDAPGroups{BaseDN: "ou=groups," + slapdtest.Suffix, Nested: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Users) != 6 {
		t.Errorf("users = %d, want 6", len(d.Users))
	}
	want := map[string][]string{
		"platform": {"alice", "jsmith", "multi", "nomail"},
		"uniq":     {"alice", "bob"},
		"posix":    {"alice", "zoe"},
		"level1":   {"alice", "bob", "zoe"},
		"équipe":   {"zoe"},
	}
	for g, w := range want {
		if got := members(t, d, g); !slices.Equal(got, w) {
			t.Errorf("%s = %v, want %v", g, got, w)
		}
	}
	if d.Group("platform").Ignored != 1 || d.Group("posix").Ignored != 1 {
		t.Errorf("ignored counts: platform %d posix %d, want 1 and 1", d.Group("platform").Ignored, d.Group("posix").Ignored)
	}
	if u := d.Users["zoe"]; u.Name != "Zoë Ångström" || !slices.Equal(u.Emails, []string{"zoe@example.com"}) {
		t.Errorf("zoe = %+v", u)
	}
}

func TestSyntax(t *testing.T) {
	content := `# an export
version: 1

# a comment that
  continues
dn: uid=ann,ou=people,dc=x
objectClass: inetOrgPerson
uid: ann
cn: Ann
  Long
mail: ANN@x.org
entryUUID: 1111

dn:: dWlkPWJlbixvdT1wZW9wbGUsZGM9eA==
changetype: add
objectClass: inetOrgPerson
uid: ben
cn:: QsOpbg==
mail: ben@x.org

dn: cn=g,ou=groups,dc=x
objectClass: groupOfNames
cn: g
member: uid=ann,ou=people,dc=x
member: uid=ben,ou=people,dc=x
`
	d, err := readFile(t, config.LDIF{Path: write(t, content),
		Users: config.LDAPUsers{BaseDN: "ou=people,dc=x"}, Groups: config.LDAPGroups{BaseDN: "ou=groups,dc=x"}})
	if err != nil {
		t.Fatal(err)
	}
	ann, ben := d.Users["1111"], d.Users["uid=ben,ou=people,dc=x"]
	if ann == nil || ann.Name != "Ann Long" || ann.Emails[0] != "ann@x.org" {
		t.Errorf("ann = %+v (folded line, entryUUID id)", ann)
	}
	if ben == nil || ben.Name != "Bén" {
		t.Errorf("ben = %+v (base64 DN and value, DN as id without entryUUID)", ben)
	}
	if g := d.Group("g"); g == nil || len(g.Members) != 2 {
		t.Errorf("g = %+v", g)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	cases := map[string]string{
		"dn: uid=a,dc=x\nobjectClass: top\nnot a line\n":      ":3:",
		"dn: uid=a,dc=x\nchangetype: modify\nreplace: mail\n": ":2: changetype",
		"objectClass: top\n":         ":1: expected dn",
		"dn: uid=a,dc=x\ncn:: !!!\n": ":2: cn: bad base64",
	}
	for content, want := range cases {
		_, err := readFile(t, config.LDIF{Path: write(t, content)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", content, err, want)
		}
	}
	if _, err := readFile(t, config.LDIF{Path: filepath.Join(t.TempDir(), "missing.ldif")}); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := ldif.New("x", config.LDIF{}, nil); err == nil {
		t.Error("New without a path: no error")
	}
}

// A value read through "attr:< file://" must lie beside the export and be
// a small regular file: never a credential elsewhere or an endless device.
func TestFileValuesStayBesideTheExport(t *testing.T) {
	path := write(t, "")
	dir := filepath.Dir(path)
	if err := os.WriteFile(filepath.Join(dir, "cn.txt"), []byte("Ada Lovelace"), 0o600); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(secret, []byte("SECRET-TOKEN-VALUE"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := func(value string) config.LDIF {
		ldifText := "version: 1\n\ndn: uid=ada,ou=people,dc=x\nobjectClass: inetOrgPerson\nuid: ada\nsn: L\nmail: ada@example.com\ncn:< " + value + "\n"
		if err := os.WriteFile(path, []byte(ldifText), 0o600); err != nil {
			t.Fatal(err)
		}
		return config.LDIF{Path: path, Users: config.LDAPUsers{BaseDN: "ou=people,dc=x", IDAttribute: "uid"},
			Groups: config.LDAPGroups{BaseDN: "ou=groups,dc=x"}}
	}
	d, err := readFile(t, cfg("file://"+filepath.Join(dir, "cn.txt")))
	if err != nil || d.Users["ada"] == nil || d.Users["ada"].Name != "Ada Lovelace" {
		t.Fatalf("value beside the export: %v, %+v", err, d)
	}
	for _, bad := range []string{"file://" + secret, "file:///dev/zero", "file://" + filepath.Join(dir, "..", filepath.Base(filepath.Dir(secret)), "token")} {
		_, err := readFile(t, cfg(bad))
		if err == nil {
			t.Errorf("%s: read, want refused", bad)
			continue
		}
		if strings.Contains(err.Error(), "SECRET-TOKEN-VALUE") {
			t.Errorf("%s: the file's content leaked: %v", bad, err)
		}
	}
}
