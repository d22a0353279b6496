package ldap

import (
	"slices"
	"testing"

	"github.com/syncd/syncd/internal/config"
)

// memberUid values resolve through the logins of the users read, case
// and surrounding spaces aside; of two users with one login the last read
// wins; a login nobody has is ignored and counted.
func TestMapperResolvesLogins(t *testing.T) {
	m := NewMapper("corp", config.LDAPUsers{IDAttribute: "entryUUID", LoginAttribute: "uid"}, config.LDAPGroups{}, nil)
	user := func(id, login string) *Entry {
		return &Entry{DN: "cn=" + id + ",ou=p", Attrs: map[string][]string{"entryuuid": {id}, "uid": {login}}}
	}
	m.AddUser(user("1", "ann"))
	m.AddUser(user("2", "Shared"))
	m.AddUser(user("3", "shared"))
	m.AddGroup(&Entry{DN: "cn=g,ou=g", Attrs: map[string][]string{"cn": {"g"}, "memberuid": {" SHARED ", "ANN", "nobody"}}}, nil)
	g := m.Directory().Groups[0]
	if !slices.Equal(g.DirectMembers, []string{"1", "3"}) || g.Ignored != 1 {
		t.Errorf("members %v, ignored %d; want [1 3] and 1", g.DirectMembers, g.Ignored)
	}
}
