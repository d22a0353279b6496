package plan

import (
	"strings"

	"github.com/syncd/syncd/internal/idset"
)

// Calculate compares desired with current, then applies the policies in
// order (Safety gives those of DESIGN.md §8). It does no I/O and keeps the
// order of desired.
func Calculate(d Desired, cur Current, policies ...Policy) Plan {
	p := diff(d, cur)
	for _, pol := range policies {
		pol(&d, &p)
	}
	return p
}

// diff is the plan before any policy: every member to add, every member
// not desired as a removal candidate.
func diff(d Desired, cur Current) Plan {
	var p Plan
	byName := indexGroups(cur.Groups)
	creating := map[string]bool{}
	renamed := map[string]*RenamedError{}
	for _, dg := range d.Groups {
		if dg.Unknown != nil && len(dg.Members) == 0 && len(byName[strings.ToLower(dg.Name)]) == 0 {
			continue // nothing known to create it with; the unknown read is reported
		}
		if err := renamedAway(dg, byName, cur.Groups); err != nil {
			renamed[strings.ToLower(dg.Name)] = err
			p.Errors = append(p.Errors, err)
			continue
		}
		gp, err := diffGroup(dg, byName)
		if err != nil {
			p.Errors = append(p.Errors, err)
			continue
		}
		if gp.Create {
			creating[strings.ToLower(gp.Name)] = true
		}
		p.Groups = append(p.Groups, gp)
	}
	for _, dt := range d.Tags {
		tp, errs := diffTag(dt, cur, byName, creating, renamed)
		p.Errors = append(p.Errors, errs...)
		if tp != nil {
			p.Tags = append(p.Tags, *tp)
		}
	}
	return p
}

// renamedAway tells whether dg's group was renamed in Teams: no group
// carries its name now, and the one that did at an earlier run is there
// under another name.
func renamedAway(dg DesiredGroup, byName map[string][]*CurrentGroup, groups []CurrentGroup) *RenamedError {
	if dg.KnownID == 0 || len(byName[strings.ToLower(dg.Name)]) > 0 {
		return nil
	}
	for _, g := range groups {
		if g.ID == dg.KnownID {
			return &RenamedError{Name: dg.Name, ID: g.ID, Now: g.Name}
		}
	}
	return nil // gone (deleted in Teams): created again
}

func indexGroups(gs []CurrentGroup) map[string][]*CurrentGroup {
	m := make(map[string][]*CurrentGroup, len(gs))
	for i := range gs {
		k := strings.ToLower(gs[i].Name)
		m[k] = append(m[k], &gs[i])
	}
	return m
}

// diffGroup plans one user group. A name matching two Teams groups is an
// error, never a guess.
func diffGroup(dg DesiredGroup, byName map[string][]*CurrentGroup) (GroupPlan, error) {
	found := byName[strings.ToLower(dg.Name)]
	if len(found) > 1 {
		return GroupPlan{}, &AmbiguousError{Name: dg.Name, IDs: groupIDs(found)}
	}
	members := idset.Real(dg.Members)
	if len(found) == 0 {
		return GroupPlan{Name: dg.Name, Create: true, Description: dg.Description, Add: members}, nil
	}
	cg := found[0]
	gp := GroupPlan{Name: cg.Name, ID: cg.ID, Description: cg.Description, Current: cg.Members}
	if dg.SetDescription && dg.Description != cg.Description {
		gp.Description, gp.UpdateDescription, gp.OldDescription = dg.Description, true, cg.Description
	}
	gp.Add = idset.Real(idset.Minus(members, cg.Members))
	gp.Remove = orNil(idset.Real(idset.Minus(cg.Members, idset.Union(members, dg.Keep))))
	return gp, nil
}

// diffTag plans one tag's SME users and SME groups.
func diffTag(dt DesiredTag, cur Current, byName map[string][]*CurrentGroup, creating map[string]bool, renamed map[string]*RenamedError) (*TagPlan, []error) {
	ct := cur.Tags[strings.ToLower(dt.Tag)]
	if ct == nil || ct.Err != nil {
		var err error
		if ct != nil {
			err = ct.Err
		}
		return nil, []error{&TagError{Tag: dt.Tag, Err: err}}
	}
	tp := &TagPlan{Tag: ct.Name, ID: ct.ID, CurrentUsers: ct.Users, CurrentGroups: ct.Groups}
	users := idset.Real(dt.Users)
	tp.AddUsers = idset.Minus(users, ct.Users)
	tp.RemoveUsers = orNil(idset.Real(idset.Minus(ct.Users, idset.Union(users, dt.Keep))))
	wantIDs, newGroups, errs := resolveSMEGroups(dt, byName, creating, renamed)
	tp.AddGroups = append(refs(idset.Minus(wantIDs, ct.Groups)), newGroups...)
	if len(errs) == 0 { // an unresolved name could be any group: no removals
		tp.RemoveGroups = refs(idset.Minus(ct.Groups, wantIDs))
	}
	return tp, errs
}

// resolveSMEGroups maps the SME group names of a tag to Teams group ids;
// names of groups this plan creates come back as refs without an id.
func resolveSMEGroups(dt DesiredTag, byName map[string][]*CurrentGroup, creating map[string]bool, renamed map[string]*RenamedError) ([]int, []GroupRef, []error) {
	var ids []int
	var fresh []GroupRef
	var errs []error
	for _, name := range dt.Groups {
		found := byName[strings.ToLower(name)]
		switch {
		case len(found) == 1:
			ids = append(ids, found[0].ID)
		case len(found) > 1:
			errs = append(errs, &AmbiguousError{Tag: dt.Tag, Name: name, IDs: groupIDs(found)})
		case creating[strings.ToLower(name)]:
			fresh = append(fresh, GroupRef{Name: name})
		case renamed[strings.ToLower(name)] != nil:
			r := *renamed[strings.ToLower(name)]
			r.Tag = dt.Tag
			errs = append(errs, &r)
		default:
			errs = append(errs, &MissingGroupError{Tag: dt.Tag, Name: name})
		}
	}
	return idset.Sort(ids), fresh, errs
}

func refs(ids []int) []GroupRef {
	var out []GroupRef
	for _, id := range ids {
		out = append(out, GroupRef{ID: id})
	}
	return out
}

func groupIDs(gs []*CurrentGroup) []int {
	ids := make([]int, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	return ids
}

// orNil is nil for no ids: "no removal" has one form.
func orNil(ids []int) []int {
	if len(ids) == 0 {
		return nil
	}
	return ids
}
