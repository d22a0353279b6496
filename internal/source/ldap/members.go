package ldap

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
)

// ErrGroupNotRead marks a group with a member that is a group the group
// search did not return (outside groups.base_dn, excluded by groups.filter,
// or hidden from syncd's account): the members of that nested group are
// unknown, so the group's are too.
var ErrGroupNotRead = errors.New("a nested group was not read")

// groupClasses are the object classes of group entries across the servers
// syncd reads (Active Directory, OpenLDAP, 389-ds, FreeIPA).
var groupClasses = map[string]bool{
	"group": true, "groupofnames": true, "groupofuniquenames": true, "posixgroup": true,
	"groupofurls": true, "groupofentries": true, "groupofmembers": true, "nestedgroup": true,
	"ipausergroup": true, "dynamicgroup": true,
}

// Outcomes of looking a member up.
const (
	memberNotGroup   = iota // an entry of another kind: a person outside the users read, a contact, a foreign security principal
	memberGroup             // a group: its members were never read
	memberInvisible         // no such entry (or, on OpenLDAP, one syncd may not see)
	memberUnreadable        // an entry whose object classes syncd may not read (Active Directory's answer to a deny ACE)
	memberElsewhere         // the server referred it elsewhere
)

// checkUnresolved looks up each member DN that named nothing read (with
// nesting on) and decides whether its groups can be trusted. A group that
// the group search silently left out would otherwise read as empty and
// take its members with it: when the DN is a group, or cannot be seen but
// lies under groups.base_dn (where groups live, e.g. one an access rule
// hides), or was referred elsewhere, the groups listing it are unknown.
// Other references (people outside the users read, contacts, foreign
// security principals, dangling DNs) stay ignored, as counted.
func (r *Reader) checkUnresolved(ctx context.Context, s *session, m *Mapper) error {
	for _, ref := range m.Unresolved() {
		if allUnknown(ref) {
			continue
		}
		kind, err := r.lookupMember(s, ref.DN)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err = r.memberVerdict(ref.DN, kind, err); err == nil {
			continue
		}
		for _, g := range ref.Groups {
			if g.Err == nil {
				g.Err = err
				r.log.Warn("group unknown: a member could not be resolved", zap.String("group", g.DN), zap.Error(err))
			}
		}
	}
	return nil
}

func allUnknown(ref *MemberRef) bool {
	for _, g := range ref.Groups {
		if g.Err == nil {
			return false
		}
	}
	return true
}

// memberVerdict turns a lookup into the error its groups take, or nil when
// the member may be ignored.
func (r *Reader) memberVerdict(dn string, kind int, err error) error {
	g := r.cfg.Groups
	switch {
	case err != nil:
		return fmt.Errorf("member %s could not be looked up, so it may be a group whose members were not read: %w", dn, err)
	case kind == memberGroup:
		return fmt.Errorf("%w: member %s is a group that the group search did not return (it lies outside groups.base_dn %q or does not match groups.filter %s): widen the group search to include it",
			ErrGroupNotRead, dn, g.BaseDN, g.Filter)
	case kind == memberElsewhere:
		return fmt.Errorf("%w: member %s lies in a subtree the server refers elsewhere (referrals are not followed)", ErrGroupNotRead, dn)
	case kind == memberInvisible && InScope(dn, g.BaseDN, g.Scope):
		return fmt.Errorf("%w: member %s lies under groups.base_dn but cannot be read (no such entry, or syncd's account may not see it), so it may be a group: grant the account read access to it, or remove the stale member", ErrGroupNotRead, dn)
	case kind == memberUnreadable && (InScope(dn, g.BaseDN, g.Scope) || InScope(dn, r.cfg.Users.BaseDN, r.cfg.Users.Scope)):
		// An entry is there, hidden from the account: a person the user
		// search should have returned, or a group. Ignored, it would be
		// removed from Teams.
		return fmt.Errorf("%w: member %s exists but syncd's account may not read it (an access rule hides it), so it may be a person or a group whose members were not read: grant the account read access to it", ErrGroupNotRead, dn)
	}
	return nil
}

// lookupMember reads the object classes of one entry.
func (r *Reader) lookupMember(s *session, dn string) (int, error) {
	q := query{base: dn, scope: goldap.ScopeBaseObject, filter: "(objectClass=*)",
		attrs: []string{"objectClass"}, purpose: "member " + dn}
	var classes []string
	found := false
	_, err := s.search(q, func(e *Entry) error {
		found = true
		classes = append(classes, e.Values("objectClass")...)
		return nil
	})
	var re *ResultError
	switch {
	case errors.As(err, &re) && re.Code == resultNoSuchObject:
		return memberInvisible, nil
	case errors.As(err, &re) && re.Code == resultReferral:
		return memberElsewhere, nil
	case err != nil:
		return 0, err
	case !found:
		return memberInvisible, nil
	case len(classes) == 0:
		return memberUnreadable, nil
	}
	for _, c := range classes {
		if groupClasses[strings.ToLower(c)] {
			return memberGroup, nil
		}
	}
	return memberNotGroup, nil
}
