package ldap

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/directory"
)

// inChainRule is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: the server
// resolves nested membership to any depth.
const inChainRule = "1.2.840.113556.1.4.1941"

// Capabilities in the root DSE of servers that implement the in-chain rule:
// Active Directory (LDAP_CAP_ACTIVE_DIRECTORY_OID) and AD LDS
// (LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID).
var inChainCapabilities = []string{"1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1851"}

// ErrInChainUnsupported is in_chain_lookup on a server that does not say it
// implements the in-chain matching rule. Such a server may answer the rule
// with success and no entries (OpenLDAP does), which would read every group
// as empty; so the read is refused instead.
var ErrInChainUnsupported = errors.New("active_directory.in_chain_lookup: the server does not implement the in-chain matching rule " + inChainRule)

// checkInChain proves, before anything is read, that the server implements
// the in-chain rule: its root DSE must list an Active Directory capability.
func checkInChain(s *session) error {
	q := query{base: "", scope: goldap.ScopeBaseObject, filter: "(objectClass=*)",
		attrs: []string{"supportedCapabilities"}, purpose: "root DSE"}
	var caps []string
	if _, err := s.search(q, func(e *Entry) error {
		caps = append(caps, e.Values("supportedCapabilities")...)
		return nil
	}); err != nil {
		return fmt.Errorf("in_chain_lookup needs the server's capabilities: %w", err)
	}
	for _, c := range inChainCapabilities {
		if slices.Contains(caps, c) {
			return nil
		}
	}
	return fmt.Errorf("%w: %s lists no Active Directory capability (supportedCapabilities lacks %s); OpenLDAP answers the rule with no entries and 389-ds refuses it: remove in_chain_lookup, and syncd expands nested groups itself",
		ErrInChainUnsupported, s.url, inChainCapabilities[0])
}

// inChainMembers asks Active Directory for each group's members at any
// depth with the in-chain matching rule. Each answer is checked against the
// members syncd resolves itself from the groups it read: the server's answer
// may add members (through groups syncd does not read) but must hold every
// one of those, or the answer is wrong and the group unknown. A failed
// lookup makes that group unknown; a cancelled context fails the read.
//
// Primary groups are not in any member attribute, so the rule does not see
// them: their users are added to the primary group itself and, found with
// the same rule, to every group that holds it at any depth.
func (r *Reader) inChainMembers(ctx context.Context, s *session, m *Mapper, d *directory.Directory) error {
	primary, sids := m.PrimaryGroups()
	viaPrimary, err := r.primaryInChain(s, primary)
	if err != nil {
		return err
	}
	known := d.Closures()
	for _, g := range d.Groups {
		if g.Err != nil {
			continue
		}
		ids, err := r.inChainUsers(s, m, g.DN)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		ids = append(ids, primary[sids[g]]...)
		ids = append(ids, viaPrimary[directory.CanonicalDN(g.DN)]...)
		slices.Sort(ids)
		ids = slices.Compact(ids)
		if err == nil {
			err = missingFrom(ids, known[g], d)
		}
		if err != nil {
			g.Err = err
			r.log.Warn("group unknown: in-chain member lookup failed", zap.String("group", g.DN), zap.Error(err))
			continue
		}
		g.DirectMembers, g.Subgroups = ids, nil
	}
	return nil
}

// inChainUsers returns the users read that are members of group at any
// depth. Continuation references may come back as in the users search;
// the users under them were not read, so the answer about users that were
// is complete without them.
func (r *Reader) inChainUsers(s *session, m *Mapper, group string) ([]string, error) {
	filter := fmt.Sprintf("(&%s(memberOf:%s:=%s))", r.cfg.Users.Filter, inChainRule, goldap.EscapeFilter(group))
	q := query{base: r.cfg.Users.BaseDN, scope: r.userScope, filter: filter,
		attrs: []string{r.cfg.Users.IDAttribute}, paged: true, purpose: "members of " + group, allowReferrals: true}
	var ids []string
	_, err := s.search(q, func(e *Entry) error {
		if id := m.UserID(e); m.Known(id) {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

// missingFrom checks an in-chain answer (sorted) against the members syncd
// resolved itself: each must be in it.
func missingFrom(answer, resolved []string, d *directory.Directory) error {
	for _, id := range resolved {
		if _, ok := slices.BinarySearch(answer, id); !ok {
			return fmt.Errorf("the server's in-chain answer lacks %s, a member through the groups syncd read: the answer cannot be trusted", d.Users[id].DN)
		}
	}
	return nil
}

// primaryInChain finds, for each primary group with users, the groups read
// that hold it at any depth, and returns the users each such group gains
// (by canonical group DN). The primary group is named by its SID, which
// Active Directory accepts in place of a DN, so it is found wherever it
// lives. A failed search fails the read: any group might miss members.
func (r *Reader) primaryInChain(s *session, primary map[string][]string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, sid := range slices.Sorted(maps.Keys(primary)) {
		filter := fmt.Sprintf("(&%s(member:%s:=<SID=%s>))", r.cfg.Groups.Filter, inChainRule, goldap.EscapeFilter(sid))
		q := query{base: r.cfg.Groups.BaseDN, scope: r.groupScope, filter: filter,
			attrs: []string{"1.1"}, paged: true, purpose: "groups holding primary group " + sid, allowReferrals: true}
		_, err := s.search(q, func(e *Entry) error {
			c := directory.CanonicalDN(e.DN)
			out[c] = append(out[c], primary[sid]...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
