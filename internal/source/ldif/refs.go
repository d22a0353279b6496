package ldif

import (
	"fmt"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/source/ldap"
)

// entryIndex holds every entry of the file, in the users' and groups'
// scope or not, by canonical DN and by login: a member reference to an
// entry the file has but the mapping leaves out (a service account, a
// device) is ignored, as the LDAP reader ignores it; one to no entry at
// all is the file's silence, which proves nothing.
type entryIndex struct {
	loginAttr string
	dns       map[string]bool
	logins    map[string]bool
}

func newEntryIndex(loginAttr string) *entryIndex {
	return &entryIndex{loginAttr: loginAttr, dns: map[string]bool{}, logins: map[string]bool{}}
}

func (x *entryIndex) add(e *ldap.Entry) {
	x.dns[directory.CanonicalDN(e.DN)] = true
	for _, l := range e.Values(x.loginAttr) {
		x.logins[ldap.LoginKey(l)] = true
	}
}

// checkReferences makes unknown every group (and, once expanded, every
// group nesting it) that lists a member with no entry in the file: the
// file was cut short, or the reference is stale, and syncd cannot tell
// which. Taking the member as absent would remove someone who belongs.
func (x *entryIndex) checkReferences(m *ldap.Mapper, path string) {
	for _, ref := range m.Unresolved() {
		if !x.dns[directory.CanonicalDN(ref.DN)] {
			unknown(ref.Groups, fmt.Errorf("%w: member %s has no entry in %s: the file was cut short, or the reference is stale; export the whole directory again, or remove the stale reference",
				ErrIncomplete, ref.DN, path))
		}
	}
	for _, ref := range m.UnresolvedLogins() {
		if !x.logins[ldap.LoginKey(ref.Login)] {
			unknown(ref.Groups, fmt.Errorf("%w: memberUid %q is the login of no entry in %s: the file was cut short, or the login is stale; export the whole directory again, or remove the stale memberUid",
				ErrIncomplete, ref.Login, path))
		}
	}
}

func unknown(groups []*directory.Group, err error) {
	for _, g := range groups {
		if g.Err == nil {
			g.Err = err
		}
	}
}
