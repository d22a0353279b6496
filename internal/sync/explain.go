package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/teams"
)

// explainData keeps what a prepared run learnt, for `syncd explain`.
type explainData struct {
	groups, tags []*target
	ids          *identities
	view         *teamsView
	ppl          map[personKey]string // person -> source
}

// Explanation says why one person is or is not in each managed group and
// SME list, and what the next run would do about it.
type Explanation struct {
	Email   string
	People  []string // directory entries with this address: "corp: Ann Lee (uid=ann,...)"
	TeamsID int      // 0 when none
	Match   string   // how the Teams id was found, or why there is none
	Entries []ExplainEntry
}

// ExplainEntry is one managed group or SME list.
type ExplainEntry struct {
	Target   string   // `user group "Platform"` or `SMEs of tag "go"`
	Should   bool     // the directory says the person belongs
	Via      []string // "corp: platform > platform-core" per feeding group that has them
	IsMember bool     // in Teams now
	Next     string   // what the next run would do
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
	ex := &Explanation{Email: email}
	keys := x.personKeys(email)
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
		ex.Entries = append(ex.Entries, x.entry(t, keys, ex.TeamsID, &p.Plan))
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

// explainMatch says how the Teams id was found; for someone in no managed
// directory group it asks Teams (cache first, then one by-email call).
func (e *Engine) explainMatch(ctx context.Context, ex *Explanation, keys []personKey, x *explainData) {
	switch {
	case ex.TeamsID != 0:
		ex.Match = "matched by e-mail " + x.ids.email[ex.TeamsID]
		return
	case len(keys) > 0:
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

func (x *explainData) entry(t *target, keys []personKey, id int, p *Plan) ExplainEntry {
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
func nextAction(t *target, id int, en ExplainEntry, p *Plan) string {
	if len(t.unknown) > 0 && !en.IsMember && !en.Should {
		return "nothing (removals are off: " + strings.Join(t.unknown, "; ") + ")"
	}
	add, remove, held, reason, found := planFor(t, id, p)
	switch {
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
	case en.IsMember && t.mode == ModeAddOnly:
		return "nothing (membership add-only: syncd never removes)"
	case en.IsMember && t.mode == ModeManaged:
		return "nothing (membership managed: syncd did not add them, so it does not remove them)"
	case en.IsMember && len(t.unknown) > 0:
		return "nothing (removals are off: " + strings.Join(t.unknown, "; ") + ")"
	}
	return "nothing"
}

func planFor(t *target, id int, p *Plan) (add, remove, held bool, reason string, found bool) {
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
