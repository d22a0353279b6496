package ldap

import (
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/directory"
)

// A group entry that comes back without any member value is empty, or its
// members are hidden from syncd's account: Exchange's "hide group
// membership" (a deny ACE on member), an ACI on 389-ds, an access rule on
// OpenLDAP. When the class requires a member (requiredMembers) the schema
// tells; otherwise the members' own memberOf may: Active Directory keeps
// it on every member, and so do 389-ds and OpenLDAP with their memberOf
// plugin or overlay. An entry the user or group search would return that
// names an "empty" group in its memberOf proves the group has members
// syncd cannot see. A server without memberOf answers nothing, which
// proves nothing either way: the group stays as read.

// emptyProbeChunk bounds the alternatives of one probe filter.
const emptyProbeChunk = 50

// checkEmptyGroups makes unknown each group read without members (empty,
// by DN) that an entry of the user or group search names in its memberOf.
// A failed probe search fails the read: the groups it was about could not
// be cleared.
func (r *Reader) checkEmptyGroups(s *session, d *directory.Directory, empty []string) error {
	if len(empty) == 0 {
		return nil
	}
	// The groups read empty, by canonical DN: only these can be proven
	// hidden (an entry's other memberOf values name groups read whole).
	readEmpty := make(map[string]bool, len(empty))
	for _, dn := range empty {
		readEmpty[directory.CanonicalDN(dn)] = true
	}
	candidates := make(map[string]*directory.Group, len(empty))
	for _, g := range d.Groups {
		if c := directory.CanonicalDN(g.DN); readEmpty[c] {
			candidates[c] = g
		}
	}
	for start := 0; start < len(empty); start += emptyProbeChunk {
		var alts strings.Builder
		for _, dn := range empty[start:min(start+emptyProbeChunk, len(empty))] {
			alts.WriteString("(memberOf=" + goldap.EscapeFilter(dn) + ")")
		}
		for _, q := range r.emptyProbes(alts.String()) {
			// Whole: a member of more groups than Active Directory hands
			// over at once may name the group past its first range.
			err := s.searchWhole(q, func(e *Entry, unfinished error) error {
				if unfinished == nil {
					r.hiddenIn(e, candidates)
				}
				return unfinished
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// emptyProbes are the user and group searches narrowed to entries with
// one of the memberOf values alts lists.
func (r *Reader) emptyProbes(alts string) []query {
	u, g := r.cfg.Users, r.cfg.Groups
	return []query{
		{base: u.BaseDN, scope: r.userScope, filter: "(&" + u.Filter + "(|" + alts + "))", attrs: []string{"memberOf"},
			paged: true, purpose: "members of groups read empty", allowReferrals: true},
		{base: g.BaseDN, scope: r.groupScope, filter: "(&" + g.Filter + "(|" + alts + "))", attrs: []string{"memberOf"},
			paged: true, purpose: "member groups of groups read empty", allowReferrals: true},
	}
}

// hiddenIn makes unknown each candidate group that e names in its
// memberOf: a group read without members that has one.
func (r *Reader) hiddenIn(e *Entry, candidates map[string]*directory.Group) {
	for _, v := range e.Values("memberOf") {
		g := candidates[directory.CanonicalDN(v)]
		if g == nil || g.Err != nil {
			continue
		}
		g.Err = fmt.Errorf("%w: the group came back without members, yet %s names it in its memberOf: grant the account read access to the group's %s",
			ErrHiddenMembers, e.DN, strings.Join(r.cfg.Groups.MemberAttributes, ", "))
		r.log.Warn("group unknown: its members are hidden", zap.String("group", g.DN), zap.Error(g.Err))
	}
}
