package teams

import (
	"context"
	"math"
)

// Roster is a user group reduced to what a sync plans with: its members'
// ids and names. A listing of 10,000 groups of 100 members is 1,000,000
// UserSummary values, each with four strings of its own; as rosters it
// is an id and a name each, the names of a group's members in one string.
type Roster struct {
	ID          int
	Name        string
	Description string
	// UserIDs are the members' ids, as listed; nil when the answer had
	// none (rosterChecked refuses it).
	UserIDs []int
	names   string  // the members' names, one after the other
	ends    []int32 // where the name of member i ends in names
}

// UserName returns the name of the member UserIDs[i].
func (g *Roster) UserName(i int) string { return nameAt(g.names, g.ends, i) }

// Members are a list of UserSummary values reduced as a Roster reduces a
// group's: their ids, and their names in one string. IDs is nil when the
// answer had none (null).
type Members struct {
	IDs   []int
	names string
	ends  []int32
}

// Name returns the name of IDs[i].
func (m *Members) Name(i int) string { return nameAt(m.names, m.ends, i) }

func nameAt(names string, ends []int32, i int) string {
	start := int32(0)
	if i > 0 {
		start = ends[i-1]
	}
	return names[start:ends[i]]
}

// ListRosters returns every user group, all pages, as rosters; an
// *IncompleteError when the listing is not provably complete. Like
// ListUserGroups, it is the evidence CreateUserGroup decides on.
func (c *Client) ListRosters(ctx context.Context) ([]Roster, error) {
	groups, err := c.listRosters(ctx)
	if err != nil {
		return nil, err
	}
	c.settled()
	return groups, nil
}

// listRosters lists the groups as rosters and records the listing as
// evidence.
func (c *Client) listRosters(ctx context.Context) ([]Roster, error) {
	var r rosterReader
	l := &lister[Roster]{route: routeGroups, id: func(g *Roster) int { return g.ID }, check: rosterChecked, decode: r.read}
	groups, err := listAll(ctx, c, l)
	c.rememberGroups(indexGroups(groups, func(g *Roster) (string, int) { return g.Name, g.ID }), err)
	return groups, err
}

// rosterChecked requires a group's members, as groupChecked does.
func rosterChecked(g *Roster) string {
	if g.UserIDs == nil {
		return "no users"
	}
	return ""
}

// rosterReader reads rosters; its buffers serve every group in turn, so
// that each group's members take slices of the right size.
type rosterReader struct {
	ids   []int
	names []byte // the names of a group's members, one after the other
	ends  []int32
}

func (g *Roster) scan(s *scanner) error {
	var r rosterReader
	return r.read(s, g)
}

// read reads one group.
func (r *rosterReader) read(s *scanner, g *Roster) error {
	return scanGroup(s, &g.ID, &g.Name, &g.Description, func() error { return r.members(s, g) })
}

// members reads an array of UserSummary into g's members.
func (r *rosterReader) members(s *scanner, g *Roster) error {
	var m Members
	err := r.list(s, &m)
	g.UserIDs, g.names, g.ends = m.IDs, m.names, m.ends
	return err
}

// list reads an array of UserSummary into m, as readSlice reads it: null
// leaves none (IDs nil).
func (r *rosterReader) list(s *scanner, m *Members) error {
	r.ids, r.names, r.ends = r.ids[:0], r.names[:0], r.ends[:0]
	ok, err := s.array(func() error {
		id, err := r.member(s)
		r.ids = append(r.ids, id)
		r.ends = append(r.ends, int32(len(r.names)))
		return err
	})
	switch {
	case err != nil:
		return err
	case !ok:
		*m = Members{} // null (or a value of the wrong kind, which fails the answer)
		return nil
	}
	m.IDs = append(make([]int, 0, len(r.ids)), r.ids...)
	m.ends = append(make([]int32, 0, len(r.ends)), r.ends...)
	m.names = string(r.names)
	return nil
}

// memberFields are UserSummaryResponseModel's fields: id and name are
// kept, the others only checked to be of their kind, so that an answer
// encoding/json would refuse into a UserSummary is refused here too.
var memberFields = []string{"id", "name", "accountId", "reputation", "avatarUrl", "webUrl", "role"}

// member reads one UserSummary: its id, and its name onto r.names; its
// other members are checked and skipped. A null name is none, as a
// missing one.
func (r *rosterReader) member(s *scanner) (int, error) {
	var id int
	mark := len(r.names)
	err := s.object(memberFields, func(f int) error {
		switch f {
		case 0:
			return s.readInt(&id)
		case 2, 3:
			var n int
			return s.readInt(&n)
		case 4, 5, 6:
			return s.checkString()
		}
		if ok, err := s.begins('"', "string"); !ok {
			return err
		}
		b, err := s.stringBytes()
		if err == nil {
			r.names = append(r.names[:mark], b...) // a later name wins
		}
		return err
	})
	if len(r.names) > math.MaxInt32 {
		return id, shapeErrorf("the answer has more than 2 GiB of member names in one group")
	}
	return id, err
}
