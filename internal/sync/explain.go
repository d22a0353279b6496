package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/teams"
)

// explainData keeps what a prepared run learnt, for `syncd explain`.
type explainData struct {
	groups, tags []*target
	ids          *identities
	view         *teamsView
	ppl          map[personKey]string            // person -> source
	dirs         map[string]*directory.Directory // every source read, by name
	plan         *plan.Plan
}

// Explanation says why one person is or is not in each managed group and
// SME list, and what the next run would do about it.
type Explanation struct {
	Email  string
	People []string // directory entries with this address: "corp: Ann Lee (uid=ann,...)"
	// Elsewhere lists, when People is empty, the people read with this
	// address who are in no managed directory group; both empty: no
	// person read has it.
	Elsewhere []string
	TeamsID   int    // 0 when none
	Match     string // how the Teams id was found, or why there is none
	Entries   []ExplainEntry
}

// ExplainEntry is one managed group or SME list.
type ExplainEntry struct {
	Target   string   // `user group "Platform"` or `SMEs of tag "go"`
	Should   bool     // the directory says the person belongs
	Via      []string // "corp: platform > platform-core" per feeding group that has them
	IsMember bool     // in Teams now (for a tag: an SME user now)
	Next     string   // what the next run would do
	// SMEGroups are, for a tag, the user groups that are or should be its
	// SME groups: being in one makes the person an SME too.
	SMEGroups []ExplainSMEGroup
}

// ExplainSMEGroup is one user group assigned, or to be assigned, as SMEs
// of a tag, seen from one person.
type ExplainSMEGroup struct {
	Name     string
	TeamsID  int      // 0 when the group does not exist (yet)
	Assigned bool     // an SME group of the tag now
	IsMember bool     // the person is in the Teams group now
	Should   bool     // a managed mapping puts the person in the group
	Via      []string // through which directory groups, with the nesting path
	Member   string   // what the next run does to the person's membership
	Next     string   // what the next run does to the group's SME assignment
}

// Explain prepares a run (reads everything, writes nothing to Teams) and
// explains the plan for the person with this address.
func (e *Engine) Explain(ctx context.Context, email string) (*Explanation, error) {
	email = directory.NormalizeEmail(email)
	p, err := e.Prepare(ctx)
	if err != nil {
		return nil, err
	}
	x := p.explain
	x.plan = &p.Plan
	ex := &Explanation{Email: email}
	keys := x.personKeys(email)
	if len(keys) == 0 {
		ex.Elsewhere = x.readWith(email)
	}
	for _, k := range keys {
		ex.People = append(ex.People, fmt.Sprintf("%s: %s (%s)", x.ppl[k], k.Name, firstOf(k.DN, k.ID)))
		if id := x.ids.byPerson[k]; id != 0 {
			ex.TeamsID = id
		}
	}
	e.explainMatch(ctx, ex, keys, x)
	for _, t := range x.groups {
		ex.Entries = append(ex.Entries, x.entry(t, keys, ex.TeamsID, &p.Plan))
	}
	for _, t := range x.tags {
		en := x.entry(t, keys, ex.TeamsID, &p.Plan)
		en.SMEGroups = x.smeGroups(t, keys, ex.TeamsID, &p.Plan)
		ex.Entries = append(ex.Entries, en)
	}
	return ex, nil
}

// personKeys finds the people of the run's directory groups with this address.
func (x *explainData) personKeys(email string) []personKey {
	var out []personKey
	for k := range x.ppl {
		if slices.Contains(k.Emails, email) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b personKey) int { return strings.Compare(x.ppl[a]+a.ID, x.ppl[b]+b.ID) })
	return out
}

// readWith lists the people of every source read who have this address.
func (x *explainData) readWith(email string) []string {
	var out []string
	for _, src := range slices.Sorted(maps.Keys(x.dirs)) {
		for _, u := range x.dirs[src].Users {
			if slices.Contains(u.Emails, email) {
				out = append(out, fmt.Sprintf("%s: %s (%s)", src, u.Name, firstOf(u.DN, u.ID)))
			}
		}
	}
	slices.Sort(out)
	return out
}

// explainMatch says how the Teams id was found; for someone in no managed
// directory group it asks Teams (cache first, then one by-email call).
func (e *Engine) explainMatch(ctx context.Context, ex *Explanation, keys []personKey, x *explainData) {
	switch {
	case ex.TeamsID != 0:
		ex.Match = "matched by e-mail " + x.ids.email[ex.TeamsID]
		return
	case len(keys) > 0:
		for _, k := range keys {
			if found := x.ids.ambiguous[k]; found != nil {
				ex.Match = fmt.Sprintf("not matched: the address matches %d Teams users (ids %s), none of whom is removed because of it",
					len(found), idset.Join(found))
				return
			}
		}
		ex.Match = "no Teams account with any of their addresses yet (pending: added once they sign in)"
		return
	}
	if u, ok := e.store.Users([]string{ex.Email})[ex.Email]; ok {
		ex.TeamsID, ex.Match = u.ID, "id from the cache; in no managed directory group"
		return
	}
	u, err := e.api.UserByEmail(ctx, ex.Email)
	switch {
	case err == nil:
		ex.TeamsID, ex.Match = u.ID, "found by e-mail; in no managed directory group"
	case errors.Is(err, teams.ErrNotFound):
		ex.Match = "no Teams account and in no managed directory group"
	default:
		ex.Match = "could not look the address up in Teams: " + err.Error()
	}
}

func (x *explainData) entry(t *target, keys []personKey, id int, p *plan.Plan) ExplainEntry {
	en := ExplainEntry{Target: fmt.Sprintf("user group %q", t.name)}
	if t.tag {
		en.Target = fmt.Sprintf("SMEs of tag %q", t.name)
	}
	for _, f := range t.feeds {
		for _, k := range keys {
			if !slices.Contains(f.users, k) {
				continue
			}
			en.Should = true
			path := f.dir.Path(f.group, k.ID)
			en.Via = append(en.Via, fmt.Sprintf("%s: %s", f.source, strings.Join(path, " > ")))
		}
	}
	en.IsMember = id != 0 && x.isMember(t, id)
	en.Next = nextAction(t, id, en, p)
	return en
}

func (x *explainData) isMember(t *target, id int) bool {
	if t.tag {
		ct := x.view.cur.Tags[strings.ToLower(t.name)]
		return ct != nil && slices.Contains(ct.Users, id)
	}
	for _, g := range x.view.cur.Groups {
		if strings.EqualFold(g.Name, t.name) && slices.Contains(g.Members, id) {
			return true
		}
	}
	return false
}

// nextAction reads the plan for this person and target.
func nextAction(t *target, id int, en ExplainEntry, p *plan.Plan) string {
	if len(t.reasons()) > 0 && !en.IsMember && !en.Should {
		return "nothing (removals are off: " + errors.Join(t.reasons()...).Error() + ")"
	}
	add, remove, held, reason, found := planFor(t, id, p)
	switch {
	case !found && renamedIn(p, t.name) != nil:
		r := renamedIn(p, t.name)
		return fmt.Sprintf("nothing: the group was renamed in Teams to %q (user group %d); see the errors of syncd sync", r.Now, r.ID)
	case !found:
		return "nothing: this target could not be planned (see the errors of syncd sync)"
	case add:
		return "add"
	case remove:
		return "remove"
	case held:
		return "remove, but held: " + reason
	case en.Should && id == 0:
		return "add once their Teams account exists (pending)"
	case en.Should == en.IsMember:
		return "nothing (already as it should be)"
	case en.IsMember && t.mode == plan.ModeAddOnly:
		return "nothing (membership add-only: syncd never removes)"
	case en.IsMember && t.mode == plan.ModeManaged:
		return "nothing (membership managed: syncd did not add them, so it does not remove them)"
	case en.IsMember && len(t.reasons()) > 0:
		return "nothing (removals are off: " + errors.Join(t.reasons()...).Error() + ")"
	}
	return "nothing"
}

func planFor(t *target, id int, p *plan.Plan) (add, remove, held bool, reason string, found bool) {
	if t.tag {
		for _, tp := range p.Tags {
			if strings.EqualFold(tp.Tag, t.name) {
				return slices.Contains(tp.AddUsers, id), slices.Contains(tp.RemoveUsers, id), slices.Contains(tp.HeldUsers, id), tp.HeldReason, true
			}
		}
		return
	}
	for _, gp := range p.Groups {
		if strings.EqualFold(gp.Name, t.name) {
			return slices.Contains(gp.Add, id), slices.Contains(gp.Remove, id), slices.Contains(gp.Held, id), gp.HeldReason, true
		}
	}
	return
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// smeGroups explains the SME groups of a tag: those the config names and
// those assigned now, whether the person is (or will be) in each, and what
// the next run does to the assignment.
func (x *explainData) smeGroups(t *target, keys []personKey, id int, p *plan.Plan) []ExplainSMEGroup {
	ct := x.view.cur.Tags[strings.ToLower(t.name)]
	tp := tagPlan(p, t.name)
	var out []ExplainSMEGroup
	seen := map[string]bool{}
	add := func(name string, configured bool) {
		if seen[strings.ToLower(name)] {
			return
		}
		seen[strings.ToLower(name)] = true
		out = append(out, x.smeGroup(name, configured, ct, tp, keys, id))
	}
	for _, name := range t.smeGroups {
		add(name, true)
	}
	if ct != nil {
		for _, gid := range ct.Groups {
			if g := x.groupByID(gid); g != nil {
				add(g.Name, false)
			} else {
				add(fmt.Sprintf("#%d", gid), false)
			}
		}
	}
	return out
}

func (x *explainData) smeGroup(name string, configured bool, ct *plan.CurrentTag, tp *plan.TagPlan, keys []personKey, id int) ExplainSMEGroup {
	sg := ExplainSMEGroup{Name: name}
	found := x.groupsNamed(name)
	if len(found) == 1 {
		sg.TeamsID = found[0].ID
		sg.IsMember = id != 0 && slices.Contains(found[0].Members, id)
		sg.Assigned = ct != nil && slices.Contains(ct.Groups, sg.TeamsID)
	}
	sg.Member = "nothing (the group is not managed by syncd)"
	for _, g := range x.groups {
		if strings.EqualFold(g.name, name) {
			m := x.entry(g, keys, id, x.plan)
			sg.Should, sg.Via, sg.Member = m.Should, m.Via, m.Next
		}
	}
	sg.Next = smeGroupNext(name, sg.TeamsID, len(found), configured, tp)
	if r := renamedIn(x.plan, name); r != nil && configured && sg.TeamsID == 0 {
		sg.Next = fmt.Sprintf("nothing: the group was renamed in Teams to %q (user group %d); see the errors of syncd sync", r.Now, r.ID)
	}
	return sg
}

// renamedIn finds the plan's error for a mapped group of that name
// renamed in Teams (nil: none).
func renamedIn(p *plan.Plan, name string) *plan.RenamedError {
	for _, err := range p.Errors {
		var r *plan.RenamedError
		if errors.As(err, &r) && r.Tag == "" && strings.EqualFold(r.Name, name) {
			return r
		}
	}
	return nil
}

// smeGroupNext reads the tag plan for one SME group.
func smeGroupNext(name string, gid, found int, configured bool, tp *plan.TagPlan) string {
	has := func(refs []plan.GroupRef) bool {
		return slices.ContainsFunc(refs, func(r plan.GroupRef) bool {
			return (gid != 0 && r.ID == gid) || (r.ID == 0 && strings.EqualFold(r.Name, name))
		})
	}
	switch {
	case tp == nil:
		return "nothing: the tag could not be planned (see the errors of syncd sync)"
	case found > 1:
		return fmt.Sprintf("nothing: the name matches %d Teams groups", found)
	case has(tp.AddGroups) && gid == 0:
		return "create the group, then make it an SME group"
	case has(tp.AddGroups):
		return "make it an SME group"
	case has(tp.RemoveGroups):
		return "remove it from the SME groups"
	case has(tp.HeldGroups):
		return "remove it from the SME groups, but held: " + tp.HeldReason
	case configured && gid == 0:
		return "nothing: the group does not exist in Teams and no mapping creates it"
	case configured:
		return "nothing (already an SME group)"
	}
	return "nothing (not configured, but kept by the membership mode)"
}

func tagPlan(p *plan.Plan, tag string) *plan.TagPlan {
	for i := range p.Tags {
		if strings.EqualFold(p.Tags[i].Tag, tag) {
			return &p.Tags[i]
		}
	}
	return nil
}

func (x *explainData) groupsNamed(name string) []*plan.CurrentGroup {
	var out []*plan.CurrentGroup
	for i := range x.view.cur.Groups {
		if strings.EqualFold(x.view.cur.Groups[i].Name, name) {
			out = append(out, &x.view.cur.Groups[i])
		}
	}
	return out
}

func (x *explainData) groupByID(id int) *plan.CurrentGroup {
	for i := range x.view.cur.Groups {
		if x.view.cur.Groups[i].ID == id {
			return &x.view.cur.Groups[i]
		}
	}
	return nil
}
