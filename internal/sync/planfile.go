package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/report"
)

// savedPlanVersion is the format version of a saved plan file. Version 2
// added the config fingerprint; a version 1 plan cannot be checked against
// the config in force and is refused.
const savedPlanVersion = 2

// SavedPlan is a plan written by `syncd sync --plan-out` for a later
// `syncd apply --plan`: the changes, who the ids are, and a fingerprint of
// every Teams group and tag the plan touches, to refuse a stale plan, and
// of what the config managed, to refuse a plan made under another config.
type SavedPlan struct {
	Version     int                 `json:"version"`
	CreatedAt   time.Time           `json:"created_at"`
	Plan        plan.Plan           `json:"plan"`
	Fingerprint map[string]string   `json:"fingerprint"`
	Config      map[string]string   `json:"config"`
	Users       map[int]report.User `json:"users"`
	Pending     []report.Pending    `json:"pending"`
	Sources     []SourceStat        `json:"-"`
	Matched     int                 `json:"matched_users"`
	Errors      []string            `json:"errors"`
}

// Save returns the prepared run as a plan file's content.
func (p *Prepared) Save() *SavedPlan {
	return &SavedPlan{Version: savedPlanVersion, CreatedAt: p.StartedAt, Plan: p.Plan, Fingerprint: p.Fingerprint,
		Config: p.ConfigPrint, Users: p.Users, Pending: p.Pending, Matched: p.Matched, Errors: errorTexts(p.Errors)}
}

// WriteTo writes the plan as indented JSON.
func (s *SavedPlan) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// ReadSavedPlan reads a plan file.
func ReadSavedPlan(r io.Reader) (*SavedPlan, error) {
	var s SavedPlan
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	if s.Version != savedPlanVersion {
		return nil, fmt.Errorf("read plan: format version %d, this syncd reads %d", s.Version, savedPlanVersion)
	}
	return &s, nil
}

// fingerprint hashes the current state of every group and tag the plan
// writes (or creates: a group that must still be absent).
func fingerprint(p *plan.Plan, cur plan.Current) map[string]string {
	out := map[string]string{}
	byID := map[int]*plan.CurrentGroup{}
	for i := range cur.Groups {
		byID[cur.Groups[i].ID] = &cur.Groups[i]
	}
	for _, g := range p.Groups {
		if g.Empty() {
			continue
		}
		out["group:"+g.Name] = groupPrint(g.Create, byID[g.ID], cur.Groups, g.Name)
	}
	for _, t := range p.Tags {
		if t.Empty() {
			continue
		}
		out["tag:"+t.Tag] = tagPrint(cur.Tags[strings.ToLower(t.Tag)])
	}
	return out
}

func groupPrint(create bool, g *plan.CurrentGroup, all []plan.CurrentGroup, name string) string {
	if create {
		for _, x := range all {
			if strings.EqualFold(x.Name, name) {
				return hashOf("present", x.ID)
			}
		}
		return "absent"
	}
	if g == nil {
		return "absent"
	}
	return hashOf(g.ID, g.Name, g.Description, g.Members)
}

func tagPrint(t *plan.CurrentTag) string {
	if t == nil || t.Err != nil {
		return "unreadable"
	}
	return hashOf(t.ID, t.Users, t.Groups)
}

func hashOf(v ...any) string {
	data, _ := json.Marshal(v)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:12])
}

// ApplySaved applies a saved plan after the checks that make it as safe
// as the sync that made it:
//   - the config in force manages what it managed when the plan was made
//     (same groups, tags, sources and modes), and the plan touches only
//     groups and tags that config manages (DESIGN.md §8 rule 4);
//   - the Teams state the plan touches has not drifted;
//   - every change still follows from the directory and the config as
//     read now: the run plans afresh and applies only the changes both
//     plans hold (an edited plan file cannot add or remove anyone the
//     directory does not say); the others are refused by name, exit 1;
//   - the policies in force hold removals as in a sync (exit 4); what the
//     saved plan held stays held.
//
// A failed config or drift check is an error naming what differs; nothing
// is written then.
func (e *Engine) ApplySaved(ctx context.Context, s *SavedPlan) (*Result, error) {
	plan, outside := restrictPlan(s.Plan, e.cfg)
	if diff := append(configDrift(s.Config, configPrint(e.cfg)), outside...); len(diff) > 0 {
		err := fmt.Errorf("the plan was made under another configuration (%s); run syncd sync again", strings.Join(diff, "; "))
		return e.Fail(&Prepared{StartedAt: e.now(), Calls0: e.api.Calls()}, err), err
	}
	p, err := e.Prepare(ctx)
	if err != nil {
		return e.Fail(p, err), err
	}
	cur := p.explain.view.cur
	drift := drift(s.Fingerprint, fingerprint(&plan, cur))
	drift = append(drift, refreshCurrent(&plan, cur)...)
	if len(drift) > 0 {
		err := fmt.Errorf("the plan is stale: Teams changed since it was made (%s); run syncd sync again", strings.Join(drift, "; "))
		return e.Fail(p, err), err
	}
	var refused []string
	p.Plan, refused = stillFollows(plan, p.Plan)
	for _, r := range refused {
		p.Errors = append(p.Errors, fmt.Errorf("saved plan: %s: no longer follows from the directory and the config; not applied", r))
	}
	for id, u := range s.Users {
		if _, ok := p.Users[id]; !ok {
			p.Users[id] = u
		}
	}
	return e.Execute(ctx, p), nil
}

// configPrint fingerprints what the config manages: per Teams group (the
// `to` of its mappings, templates as written) and per tag, the sources,
// directory groups, description, membership mode and allow_empty of every
// rule feeding it. Budgets are left out on purpose: ApplySaved applies the
// current ones again instead of refusing a plan for them.
func configPrint(cfg *config.Config) map[string]string {
	rules := map[string][]any{}
	keys := map[string]string{} // lower-case key -> key as first written
	add := func(k string, v any) {
		lk := strings.ToLower(k)
		if keys[lk] == "" {
			keys[lk] = k
		}
		rules[keys[lk]] = append(rules[keys[lk]], v)
	}
	for _, m := range cfg.Groups {
		add("group:"+m.To, []any{m.Source, m.From, m.Match, m.Description, m.AllowEmpty, m.MembershipMode(cfg.Sync.Membership)})
	}
	for _, sme := range cfg.SMEs {
		add("tag:"+sme.Tag, []any{sme.UsersFrom, sme.Groups, sme.AllowEmpty, sme.MembershipMode(cfg.Sync.Membership)})
	}
	out := make(map[string]string, len(rules))
	for k, v := range rules {
		out[k] = hashOf(v...)
	}
	return out
}

// configDrift names the groups and tags whose rules differ between the
// config a plan was made under (saved) and the config in force (now).
func configDrift(saved, now map[string]string) []string {
	if saved == nil {
		return []string{"the plan does not say which configuration it was made under"}
	}
	var out []string
	for k, v := range saved {
		switch w, ok := now[k]; {
		case !ok:
			out = append(out, fmt.Sprintf("the config no longer manages %s", configLabel(k)))
		case w != v:
			out = append(out, fmt.Sprintf("the config's rules for %s changed", configLabel(k)))
		}
	}
	for k := range now {
		if _, ok := saved[k]; !ok {
			out = append(out, fmt.Sprintf("the config now also manages %s", configLabel(k)))
		}
	}
	slices.Sort(out)
	return out
}

func configLabel(key string) string {
	kind, name, _ := strings.Cut(key, ":")
	if kind == "tag" {
		return fmt.Sprintf("the SMEs of tag %q", name)
	}
	if strings.Contains(name, "{name}") {
		return fmt.Sprintf("the user groups %q of a match: mapping", name)
	}
	return fmt.Sprintf("user group %q", name)
}

// scope is what the config in force lets syncd write (rule 4).
type scope struct {
	groups    map[string]bool     // lower-case Teams group names of from: mappings
	patterns  []string            // lower-case globs of match: mappings' targets
	tags      map[string]bool     // lower-case tag names
	smeGroups map[string][]string // lower-case tag -> lower-case SME group names
}

func scopeOf(cfg *config.Config) *scope {
	sc := &scope{groups: map[string]bool{}, tags: map[string]bool{}, smeGroups: map[string][]string{}}
	for _, m := range cfg.Groups {
		if m.Match == "" {
			sc.groups[strings.ToLower(m.To)] = true
			continue
		}
		// As blockMatched: every name the template can expand to.
		parts := strings.Split(m.To, "{name}")
		for i, part := range parts {
			parts[i] = globEscaper.Replace(part)
		}
		sc.patterns = append(sc.patterns, strings.ToLower(strings.Join(parts, m.Match)))
	}
	for _, sme := range cfg.SMEs {
		k := strings.ToLower(sme.Tag)
		sc.tags[k] = true
		for _, g := range sme.Groups {
			sc.smeGroups[k] = append(sc.smeGroups[k], strings.ToLower(g))
		}
	}
	return sc
}

func (sc *scope) group(name string) bool {
	k := strings.ToLower(name)
	if sc.groups[k] {
		return true
	}
	for _, pat := range sc.patterns {
		if ok, _ := path.Match(pat, k); ok {
			return true
		}
	}
	return false
}

// restrictPlan keeps only the changes to groups and tags the config
// manages, and in a tag only the SME groups its rule names; outside names
// what was dropped. A plan made under the same config drops nothing.
func restrictPlan(p plan.Plan, cfg *config.Config) (kept plan.Plan, outside []string) {
	sc := scopeOf(cfg)
	kept.Errors = p.Errors
	for _, g := range p.Groups {
		if sc.group(g.Name) {
			kept.Groups = append(kept.Groups, g)
		} else if !g.Empty() || len(g.Held) > 0 {
			outside = append(outside, fmt.Sprintf("user group %q is not managed by the config", g.Name))
		}
	}
	for _, t := range p.Tags {
		k := strings.ToLower(t.Tag)
		if !sc.tags[k] {
			if !t.Empty() || len(t.HeldUsers)+len(t.HeldGroups) > 0 {
				outside = append(outside, fmt.Sprintf("the SMEs of tag %q are not managed by the config", t.Tag))
			}
			continue
		}
		var add []plan.GroupRef
		for _, ref := range t.AddGroups {
			if slices.Contains(sc.smeGroups[k], strings.ToLower(ref.Name)) {
				add = append(add, ref)
			} else {
				outside = append(outside, fmt.Sprintf("tag %q: SME group %q is not in the config's rule", t.Tag, ref.Name))
			}
		}
		t.AddGroups = add
		kept.Tags = append(kept.Tags, t)
	}
	return kept, outside
}

// refreshCurrent checks that the ids of the plan still name its groups and
// tags and takes their members as read now as the base of the writes; with
// no drift they are those the plan was made from. It names what differs.
func refreshCurrent(p *plan.Plan, cur plan.Current) []string {
	byID := map[int]*plan.CurrentGroup{}
	for i := range cur.Groups {
		byID[cur.Groups[i].ID] = &cur.Groups[i]
	}
	var out []string
	for i := range p.Groups {
		g := &p.Groups[i]
		if g.Create || g.Empty() {
			continue
		}
		live := byID[g.ID]
		if live == nil || !strings.EqualFold(live.Name, g.Name) {
			out = append(out, fmt.Sprintf("user group %q is no longer id %d", g.Name, g.ID))
			continue
		}
		g.Current = live.Members
	}
	for i := range p.Tags {
		t := &p.Tags[i]
		if t.Empty() {
			continue
		}
		live := cur.Tags[strings.ToLower(t.Tag)]
		if live == nil || live.Err != nil || live.ID != t.ID {
			out = append(out, fmt.Sprintf("SMEs of tag %q cannot be matched to tag id %d", t.Tag, t.ID))
			continue
		}
		t.CurrentUsers, t.CurrentGroups = live.Users, live.Groups
	}
	return out
}

// drift names the entries whose fingerprint differs.
func drift(saved, now map[string]string) []string {
	var out []string
	for k, v := range saved {
		if now[k] != v {
			kind, name, _ := strings.Cut(k, ":")
			what := "user group"
			if kind == "tag" {
				what = "SMEs of tag"
			}
			out = append(out, fmt.Sprintf("%s %q changed", what, name))
		}
	}
	slices.Sort(out)
	return out
}

// stillFollows keeps of a saved plan only the changes the fresh plan of
// this run also makes, and names the others: a plan file is a reviewed
// intent, not an authority, so an edited or outdated one can never add or
// remove anyone the directory and the config do not call for now. Holds
// come from both: what the saved plan held stays held, and a removal the
// policies in force hold now is held.
func stillFollows(saved, fresh plan.Plan) (plan.Plan, []string) {
	out := plan.Plan{Errors: fresh.Errors}
	var refused []string
	groups := map[string]*plan.GroupPlan{}
	for i := range fresh.Groups {
		groups[strings.ToLower(fresh.Groups[i].Name)] = &fresh.Groups[i]
	}
	for _, sg := range saved.Groups {
		g, why := followGroup(sg, groups[strings.ToLower(sg.Name)])
		refused = append(refused, why...)
		if g != nil {
			out.Groups = append(out.Groups, *g)
		}
	}
	tags := map[string]*plan.TagPlan{}
	for i := range fresh.Tags {
		tags[strings.ToLower(fresh.Tags[i].Tag)] = &fresh.Tags[i]
	}
	for _, st := range saved.Tags {
		t, why := followTag(st, tags[strings.ToLower(st.Tag)])
		refused = append(refused, why...)
		if t != nil {
			out.Tags = append(out.Tags, *t)
		}
	}
	return out, refused
}

// followGroup is stillFollows for one user group; fg is nil when the fresh
// plan does not touch the group.
func followGroup(sg plan.GroupPlan, fg *plan.GroupPlan) (*plan.GroupPlan, []string) {
	what := fmt.Sprintf("user group %q", sg.Name)
	if fg != nil && fg.Create != sg.Create {
		fg = nil // created by one plan, existing for the other: nothing agrees
	}
	if fg == nil {
		if sg.Create {
			return nil, []string{"create " + what}
		}
		fg = &plan.GroupPlan{Name: sg.Name, ID: sg.ID, Description: sg.Description, Current: sg.Current}
	}
	g := &plan.GroupPlan{Name: fg.Name, ID: fg.ID, Create: fg.Create, Description: fg.Description, Current: fg.Current,
		OldDescription: fg.OldDescription}
	var refused []string
	if sg.UpdateDescription {
		if fg.UpdateDescription && fg.Description == sg.Description {
			g.UpdateDescription = true
		} else {
			refused = append(refused, "update the description of "+what)
		}
	}
	m := followMembers(what, sg.Add, fg.Add, sg.Remove, fg.Remove, fg.Held)
	g.Add, g.Remove, g.Held = m.add, m.remove, idset.Union(sg.Held, m.nowHeld)
	g.Approved = stillApproved(fg.Approved, g.Remove, fg.Remove)
	g.HeldReason = keptReason(len(sg.Held) > 0, sg.HeldReason, len(m.nowHeld) > 0, fg.HeldReason)
	refused = append(refused, m.refused...)
	if g.Empty() && len(g.Held) == 0 {
		return nil, refused
	}
	return g, refused
}

// followTag is stillFollows for one tag's SMEs; ft is nil when the fresh
// plan does not touch the tag.
func followTag(st plan.TagPlan, ft *plan.TagPlan) (*plan.TagPlan, []string) {
	what := fmt.Sprintf("the SMEs of tag %q", st.Tag)
	if ft == nil {
		ft = &plan.TagPlan{Tag: st.Tag, ID: st.ID, CurrentUsers: st.CurrentUsers, CurrentGroups: st.CurrentGroups}
	}
	t := &plan.TagPlan{Tag: ft.Tag, ID: ft.ID, CurrentUsers: ft.CurrentUsers, CurrentGroups: ft.CurrentGroups}
	m := followMembers(what, st.AddUsers, ft.AddUsers, st.RemoveUsers, ft.RemoveUsers, ft.HeldUsers)
	t.AddUsers, t.RemoveUsers, t.HeldUsers = m.add, m.remove, idset.Union(st.HeldUsers, m.nowHeld)
	t.ApprovedUsers = stillApproved(ft.ApprovedUsers, t.RemoveUsers, ft.RemoveUsers)
	refused := m.refused
	var bad []plan.GroupRef
	t.AddGroups, bad = followRefs(st.AddGroups, ft.AddGroups)
	for _, r := range bad {
		refused = append(refused, fmt.Sprintf("add SME group %q to %s", r.Name, what))
	}
	t.RemoveGroups, bad = followRefs(st.RemoveGroups, ft.RemoveGroups)
	nowHeld, _ := followRefs(bad, ft.HeldGroups)
	for _, r := range bad {
		if !slices.Contains(nowHeld, r) {
			refused = append(refused, fmt.Sprintf("remove SME group %q from %s", r.Name, what))
		}
	}
	t.HeldGroups = append(slices.Clone(st.HeldGroups), nowHeld...)
	if slices.Equal(t.RemoveGroups, ft.RemoveGroups) {
		t.ApprovedGroups = ft.ApprovedGroups
	}
	held := len(st.HeldUsers)+len(st.HeldGroups) > 0
	t.HeldReason = keptReason(held, st.HeldReason, len(m.nowHeld)+len(nowHeld) > 0, ft.HeldReason)
	if t.Empty() && len(t.HeldUsers)+len(t.HeldGroups) == 0 {
		return nil, refused
	}
	return t, refused
}

// stillApproved keeps the approval of the fresh plan's removals when the
// saved plan removes exactly them, so that the write names its approval.
func stillApproved(id string, kept, fresh []int) string {
	if slices.Equal(kept, fresh) {
		return id
	}
	return ""
}

// followed is what followMembers keeps of one group's or SME list's users.
type followed struct {
	add, remove []int
	nowHeld     []int // saved removals the policies in force hold
	refused     []string
}

// followMembers intersects the saved and fresh additions and removals of
// one group or SME list; a saved removal the fresh plan holds is held.
func followMembers(what string, sAdd, fAdd, sRm, fRm, fHeld []int) followed {
	f := followed{add: idset.Intersect(sAdd, fAdd), remove: idset.Intersect(sRm, fRm), nowHeld: idset.Intersect(sRm, fHeld)}
	if bad := idset.Minus(sAdd, fAdd); len(bad) > 0 {
		f.refused = append(f.refused, fmt.Sprintf("add user ids %s to %s", idset.Join(bad), what))
	}
	if bad := idset.Minus(idset.Minus(sRm, fRm), fHeld); len(bad) > 0 {
		f.refused = append(f.refused, fmt.Sprintf("remove user ids %s from %s", idset.Join(bad), what))
	}
	return f
}

func keptReason(saved bool, savedReason string, now bool, nowReason string) string {
	var r []string
	if saved && savedReason != "" {
		r = append(r, savedReason)
	}
	if now && nowReason != "" {
		r = append(r, nowReason)
	}
	return strings.Join(r, "; ")
}

// followRefs splits the saved SME group refs into those the fresh ones
// also hold (matched by id, or by name for a group created this run) and
// the others.
func followRefs(saved, fresh []plan.GroupRef) (kept, others []plan.GroupRef) {
	for _, r := range saved {
		if slices.ContainsFunc(fresh, func(f plan.GroupRef) bool { return sameRef(r, f) }) {
			kept = append(kept, r)
		} else {
			others = append(others, r)
		}
	}
	return kept, others
}

func sameRef(a, b plan.GroupRef) bool {
	if a.ID != 0 && b.ID != 0 {
		return a.ID == b.ID
	}
	return a.Name != "" && strings.EqualFold(a.Name, b.Name)
}
