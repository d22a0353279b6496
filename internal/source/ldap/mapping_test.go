package ldap

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/config"
)

// memberUid values resolve through the logins of the users read, any of
// a user's values of the login attribute (as a name service resolves
// them), case and surrounding spaces aside; a login nobody has is ignored
// and counted; a login two people share makes the group unknown, naming
// both, since either may be the member meant.
func TestMapperResolvesLogins(t *testing.T) {
	m := NewMapper("corp", config.LDAPUsers{IDAttribute: "entryUUID", LoginAttribute: "uid"}, config.LDAPGroups{}, nil)
	user := func(id string, logins ...string) *Entry {
		return &Entry{DN: "cn=" + id + ",ou=p", Attrs: map[string][]string{"entryuuid": {id}, "uid": logins}}
	}
	m.AddUser(user("1", "ann"))
	m.AddUser(user("2", "Shared"))
	m.AddUser(user("3", "shared", "bo"))
	m.AddUser(user("4", "hank", "HHill"))
	m.AddGroup(&Entry{DN: "cn=g,ou=g", Attrs: map[string][]string{"cn": {"g"}, "memberuid": {" hhill ", "ANN", "nobody", "Bo"}}}, nil)
	m.AddGroup(&Entry{DN: "cn=s,ou=g", Attrs: map[string][]string{"cn": {"s"}, "memberuid": {"ann", " SHARED "}}}, nil)
	d := m.Directory()
	g, s := d.Groups[0], d.Groups[1]
	if !slices.Equal(g.DirectMembers, []string{"1", "3", "4"}) || g.Ignored != 1 || g.Err != nil {
		t.Errorf("members %v, ignored %d, err %v; want [1 3 4], 1, none", g.DirectMembers, g.Ignored, g.Err)
	}
	if !errors.Is(s.Err, ErrSharedLogin) || !strings.Contains(s.Err.Error(), "cn=2,ou=p; cn=3,ou=p") {
		t.Errorf("group with a shared login: err %v, want ErrSharedLogin naming cn=2 and cn=3", s.Err)
	}
}
