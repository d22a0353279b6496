package ldap

import (
	"reflect"
	"strings"
	"testing"
)

// Class descriptions as OpenLDAP (core.schema), 389 Directory Server and
// Active Directory publish them.
var (
	openLDAPClasses = []string{
		"( 2.5.6.0 NAME 'top' DESC 'top of the superclass chain' ABSTRACT MUST objectClass )",
		"( 2.5.6.9 NAME 'groupOfNames' DESC 'RFC2256: a group of names (DNs)' SUP top STRUCTURAL MUST ( member $ cn ) MAY ( businessCategory $ seeAlso $ owner $ ou $ o $ description ) )",
		"( 2.5.6.17 NAME 'groupOfUniqueNames' DESC 'RFC2256: a group of unique names (DN and Unique Identifier)' SUP top STRUCTURAL MUST ( uniqueMember $ cn ) MAY ( businessCategory $ seeAlso $ owner $ ou $ o $ description ) )",
		"( 1.3.6.1.1.1.2.2 NAME 'posixGroup' DESC 'Abstraction of a group of accounts' SUP top STRUCTURAL MUST ( cn $ gidNumber ) MAY ( userPassword $ memberUid $ description ) )",
		"( 9.9.9.1 NAME ( 'teamGroup' 'team' ) SUP groupOfNames STRUCTURAL MAY mail )",
	}
	dsClasses = []string{
		"( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST cn MAY ( member $ businessCategory $ seeAlso $ owner $ ou $ o $ description ) X-ORIGIN 'RFC 4519' )",
		"( 2.5.6.17 NAME 'groupOfUniqueNames' SUP top STRUCTURAL MUST cn MAY ( uniqueMember $ businessCategory $ seeAlso $ owner $ ou $ o $ description ) X-ORIGIN 'RFC 4519' )",
	}
	adClasses = []string{
		"( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST (groupType ) MAY (member $ nTGroupMembers $ operatorCopy $ adminCount $ managedBy $ groupMembershipSAM $ mail $ primaryGroupToken $ desktopProfile $ nonSecurityMember $ msDS-AzLDAPQuery $ msDS-NonMembers $ msDS-AzBizRule $ msDS-AzBizRuleLanguage $ msDS-AzLastImportedBizRulePath $ msDS-AzApplicationData $ msDS-AzGenericData $ msDS-AzObjectGuid $ msDS-PrimaryComputerFor $ groupAttributes $ controlAccessRights $ msSFU30Name $ msSFU30NisDomain $ msSFU30PosixMember $ gidNumber $ memberUid ) )",
	}
)

func TestParseRequired(t *testing.T) {
	all := []string{"member", "uniqueMember", "memberUid"}
	for _, tc := range []struct {
		name    string
		classes []string
		attrs   []string
		want    requiredMembers
	}{
		{"openldap", openLDAPClasses, all, requiredMembers{
			"groupofnames": {"member"}, "groupofuniquenames": {"uniqueMember"},
			"teamgroup": {"member"}, "team": {"member"}, // through SUP groupOfNames
		}},
		{"openldap, only uniqueMember configured", openLDAPClasses, []string{"uniqueMember"}, requiredMembers{
			"groupofuniquenames": {"uniqueMember"},
		}},
		{"389-ds: member is optional", dsClasses, all, requiredMembers{}},
		{"active directory: member is optional", adClasses, all, requiredMembers{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRequired(tc.classes, tc.attrs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseRequired = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRequiredMembersCheck(t *testing.T) {
	req := parseRequired(openLDAPClasses, []string{"member", "uniqueMember"})
	entry := func(attrs map[string][]string) *Entry {
		e := &Entry{DN: "cn=g,dc=example,dc=com", Attrs: map[string][]string{}}
		for k, v := range attrs {
			e.Attrs[strings.ToLower(k)] = v
		}
		return e
	}
	for _, tc := range []struct {
		name   string
		attrs  map[string][]string
		hidden bool
	}{
		{"groupOfNames with members", map[string][]string{"objectClass": {"top", "groupOfNames"}, "member": {"uid=a"}}, false},
		{"groupOfNames without", map[string][]string{"objectClass": {"top", "GroupOfNames"}}, true},
		{"subclass without", map[string][]string{"objectClass": {"team"}}, true},
		{"posixGroup without", map[string][]string{"objectClass": {"posixGroup"}}, false},
		{"objectClass hidden too", map[string][]string{}, false},
	} {
		if err := req.check(entry(tc.attrs)); (err != nil) != tc.hidden {
			t.Errorf("%s: check = %v, want hidden %v", tc.name, err, tc.hidden)
		}
	}
	if err := requiredMembers(nil).check(entry(map[string][]string{"objectClass": {"groupOfNames"}})); err != nil {
		t.Errorf("no schema read: check = %v, want nil", err)
	}
}
