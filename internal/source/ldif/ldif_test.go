package ldif_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
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
		"level1":   {"alice", "bob", "zoe"},
		"équipe":   {"zoe"},
	}
	for g, w := range want {
		if got := members(t, d, g); !slices.Equal(got, w) {
			t.Errorf("%s = %v, want %v", g, got, w)
		}
	}
	// carol, under ou=other, is in the file: left out, as the LDAP source
	// leaves her out. The memberUid ghost is no entry's login: the LDAP
	// source's search proves nobody in scope has it, a file proves nothing.
	if d.Group("platform").Ignored != 1 {
		t.Errorf("ignored count: platform %d, want 1", d.Group("platform").Ignored)
	}
	if err := d.Group("posix").Err; !errors.Is(err, ldif.ErrIncomplete) || !strings.Contains(err.Error(), `"ghost"`) {
		t.Errorf("posix: err %v, want ErrIncomplete naming ghost", err)
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

// A file cut short between entries parses: a member it names that has no
// entry in the file makes the group unknown, and every group nesting it,
// rather than absent (someone who belongs would be removed). A member
// whose entry is in the file but out of scope is left out, as before.
func TestCutFileMakesGroupsUnknown(t *testing.T) {
	const head = `dn: uid=ann,ou=people,dc=x
objectClass: inetOrgPerson
uid: ann
mail: ann@x.org

dn: uid=svc,ou=services,dc=x
uid: svc

dn: cn=parent,ou=groups,dc=x
objectClass: groupOfNames
cn: parent
member: cn=child,ou=groups,dc=x

dn: cn=other,ou=groups,dc=x
objectClass: groupOfNames
cn: other
member: uid=ann,ou=people,dc=x
member: uid=svc,ou=services,dc=x

dn: cn=child,ou=groups,dc=x
objectClass: groupOfNames
cn: child
member: uid=ann,ou=people,dc=x
member: uid=bob,ou=people,dc=x
`
	cfg := config.LDIF{Path: write(t, head), Users: config.LDAPUsers{BaseDN: "ou=people,dc=x", IDAttribute: "uid"},
		Groups: config.LDAPGroups{BaseDN: "ou=groups,dc=x", Nested: true}}
	d, err := readFile(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Group("child").Err; !errors.Is(err, ldif.ErrIncomplete) || !strings.Contains(err.Error(), "uid=bob,ou=people,dc=x") {
		t.Errorf("child: err %v, want ErrIncomplete naming uid=bob", err)
	}
	if err := d.Group("parent").Err; !errors.Is(err, directory.ErrNestedUnknown) || !strings.Contains(err.Error(), "uid=bob,ou=people,dc=x") {
		t.Errorf("parent: err %v, want ErrNestedUnknown naming uid=bob", err)
	}
	if got := members(t, d, "other"); !slices.Equal(got, []string{"ann"}) {
		t.Errorf("other = %v, want [ann] (svc's entry is in the file, out of scope)", got)
	}

	// Cut in the middle of a line: refused whole.
	cut := head + "\ndn: uid=bob,ou=people,dc=x\nobjectClass: inetOrgPerson\nuid: bob\nmail: bob@x"
	cfg.Path = write(t, cut)
	if _, err := readFile(t, cfg); !errors.Is(err, ldif.ErrIncomplete) || !strings.Contains(err.Error(), "line break") {
		t.Errorf("file cut mid-line: err %v, want ErrIncomplete", err)
	}
	cfg.Path = write(t, cut+"x.org\n")
	if d, err = readFile(t, cfg); err != nil || d.Group("parent").Err != nil {
		t.Errorf("whole file: err %v, parent %+v", err, d.Group("parent"))
	}
}

// A file whose people have no e-mail attribute at all (misnamed in the
// configuration, or left out of the export) is refused: nobody would match
// a Teams account, and every group would read as empty.
func TestNoEmailsRefused(t *testing.T) {
	content := "dn: uid=ann,ou=people,dc=x\nobjectClass: inetOrgPerson\nuid: ann\nemail: ann@x.org\n\ndn: cn=g,ou=groups,dc=x\ncn: g\nmember: uid=ann,ou=people,dc=x\n"
	_, err := readFile(t, config.LDIF{Path: write(t, content), Users: config.LDAPUsers{BaseDN: "ou=people,dc=x"},
		Groups: config.LDAPGroups{BaseDN: "ou=groups,dc=x"}})
	if !errors.Is(err, ldap.ErrNoEmails) || !strings.Contains(err.Error(), "mail") {
		t.Errorf("err %v, want ErrNoEmails naming the attribute", err)
	}
}
