// Package directory holds the domain types every source produces: the people
// and groups of a company directory, with nested groups resolved. Sources
// (LDAP, SCIM, LDIF) fill a Directory; the sync engine consumes it.
package directory

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// User is one person read from a directory.
type User struct {
	ID     string   // stable directory id: entryUUID, objectGUID (canonical string), SCIM id
	DN     string   // LDAP DN or SCIM resource id; empty when the source has none
	Login  string   // what memberUid (or SCIM userName) refers to
	Name   string   // display name
	Emails []string // normalised with NormalizeEmail, primary first, no duplicates
}

// Group is one directory group. Members holds the resolved membership: user
// IDs (keys of Directory.Users), nested groups expanded, sorted, unique.
type Group struct {
	Name          string
	DN            string   // LDAP DN or SCIM id; unique within one Directory
	DirectMembers []string // user IDs that are direct members
	Subgroups     []string // DNs of groups that are direct members
	Members       []string // filled by Expand
	Ignored       int      // member references that matched no user or group in scope
	Inactive      int      // member references to users the source lists as inactive: read, and no members
	// Err is non-nil when the group could not be read completely. Such a
	// group is unknown, never empty: the engine makes no removals for it.
	Err error
}

// Unknown reports whether the group's membership cannot be trusted.
func (g *Group) Unknown() bool { return g.Err != nil }

// Directory is everything one source read in one pass.
type Directory struct {
	Source string
	Users  map[string]*User // by User.ID
	Groups []*Group
	// KeyName is what Group.DN holds, as messages name it: "" for a DN;
	// "SCIM id" for a SCIM source, whose groups have no DN.
	KeyName string

	index *lookupIndex // built by the first Lookup; ResetIndex drops it
}

// lookupIndex finds groups by canonical DN and by lower-case name, so that
// resolving every mapping of a config costs a map lookup each, not a scan
// of every group (10,000 mappings over 10,000 groups).
type lookupIndex struct {
	byDN   map[string]*Group
	byName map[string][]*Group
}

// ErrNestedUnknown marks a group whose nested subgroup could not be read.
var ErrNestedUnknown = errors.New("a nested group could not be read")

// NormalizeEmail trims and lower-cases an address; e-mail matching in syncd
// is case-insensitive over the whole address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ErrAmbiguous marks a group name that several directory groups carry.
var ErrAmbiguous = errors.New("ambiguous group name")

// Group returns the group whose DN or name equals key, or nil; see Lookup.
// An ambiguous name gives nil.
func (d *Directory) Group(key string) *Group {
	g, _ := d.Lookup(key)
	return g
}

// Lookup finds a group by DN (compared in canonical form) or, failing
// that, by name (case-insensitively). A name two groups share (the same cn
// in two OUs) is an error wrapping ErrAmbiguous: mapping either would be a
// guess, so the user must name the group by DN. The first Lookup indexes
// the groups: change Groups after it only with a ResetIndex.
func (d *Directory) Lookup(key string) (*Group, error) {
	if d.index == nil {
		d.index = d.buildIndex()
	}
	if g := d.index.byDN[CanonicalDN(key)]; g != nil {
		return g, nil
	}
	named := d.index.byName[strings.ToLower(key)]
	switch len(named) {
	case 0:
		return nil, nil
	case 1:
		return named[0], nil
	}
	dns := make([]string, len(named))
	for i, g := range named {
		dns[i] = g.DN
	}
	return nil, fmt.Errorf("%w: %d directory groups are named %q (%s): name one by its %s",
		ErrAmbiguous, len(named), key, strings.Join(dns, "; "), cmp.Or(d.KeyName, "DN"))
}

// ResetIndex drops the index Lookup built, after Groups changed.
func (d *Directory) ResetIndex() { d.index = nil }

func (d *Directory) buildIndex() *lookupIndex {
	ix := &lookupIndex{byDN: make(map[string]*Group, len(d.Groups)), byName: make(map[string][]*Group, len(d.Groups))}
	for _, g := range d.Groups {
		if g.DN != "" {
			if dn := CanonicalDN(g.DN); ix.byDN[dn] == nil {
				ix.byDN[dn] = g // the first, as the scan it replaces found
			}
		}
		k := strings.ToLower(g.Name)
		ix.byName[k] = append(ix.byName[k], g)
	}
	return ix
}

// Expand resolves nested membership for every group: Members becomes the
// union of DirectMembers and the members of all subgroups reachable from it.
// Cycles are tolerated. A group reaching an unknown subgroup becomes unknown
// itself, because its membership is then incomplete.
func (d *Directory) Expand() {
	byDN := make(map[string]*Group, len(d.Groups))
	for _, g := range d.Groups {
		byDN[g.DN] = g
	}
	for _, g := range d.Groups {
		members, bad := closure(g, byDN)
		g.Members = members
		if bad != nil && g.Err == nil {
			g.Err = fmt.Errorf("%w: %s: %v", ErrNestedUnknown, bad.DN, bad.Err)
		}
	}
}

// Closures returns, for each group, the sorted unique IDs of its members
// at any depth, as Expand would set them, without changing the groups.
// Readers check what a server resolved on its own against it.
func (d *Directory) Closures() map[*Group][]string {
	byDN := make(map[string]*Group, len(d.Groups))
	for _, g := range d.Groups {
		byDN[g.DN] = g
	}
	out := make(map[*Group][]string, len(d.Groups))
	for _, g := range d.Groups {
		out[g], _ = closure(g, byDN)
	}
	return out
}

// closure walks g's subgroups breadth-first and returns the sorted unique
// member IDs and the first unknown group met on the way, if any.
// The IDs are gathered in a slice, sorted and compacted: most groups nest
// nothing, and their direct members (already sorted and unique from the
// LDAP mapper) cost a copy and a check instead of a map insert each.
func closure(g *Group, byDN map[string]*Group) ([]string, *Group) {
	out := make([]string, 0, len(g.DirectMembers))
	if len(g.Subgroups) == 0 {
		return sortedUnique(append(out, g.DirectMembers...)), nil
	}
	seen := map[string]bool{g.DN: true}
	queue := []*Group{g}
	var bad *Group
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		out = append(out, cur.DirectMembers...)
		for _, dn := range cur.Subgroups {
			sub, ok := byDN[dn]
			if !ok || seen[dn] {
				continue
			}
			seen[dn] = true
			if sub.Err != nil && bad == nil && !errors.Is(sub.Err, ErrNestedUnknown) {
				bad = sub
			}
			queue = append(queue, sub)
		}
	}
	return sortedUnique(out), bad
}

// sortedUnique sorts ids in place and drops repeats.
func sortedUnique(ids []string) []string {
	if !slices.IsSorted(ids) {
		slices.Sort(ids)
	}
	return slices.Compact(ids)
}

// Path returns the chain of group names through which userID is a member of
// g, starting with g.Name and ending with the group that lists the user
// directly; nil when the user is not a member. Used by `syncd explain`.
func (d *Directory) Path(g *Group, userID string) []string {
	byDN := make(map[string]*Group, len(d.Groups))
	for _, x := range d.Groups {
		byDN[x.DN] = x
	}
	type node struct {
		g    *Group
		path []string
	}
	seen := map[string]bool{g.DN: true}
	queue := []node{{g, []string{g.Name}}}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if slices.Contains(n.g.DirectMembers, userID) {
			return n.path
		}
		for _, dn := range n.g.Subgroups {
			if sub, ok := byDN[dn]; ok && !seen[dn] {
				seen[dn] = true
				queue = append(queue, node{sub, append(slices.Clone(n.path), sub.Name)})
			}
		}
	}
	return nil
}
