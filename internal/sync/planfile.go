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
	"github.com/syncd/syncd/internal/report"
)

// SavedPlanVersion is the format version of a saved plan file. Version 2
// added the config fingerprint; a version 1 plan cannot be checked against
// the config in force and is refused.
const SavedPlanVersion = 2

// SavedPlan is a plan written by `syncd sync --plan-out` for a later
// `syncd apply --plan`: the changes, who the ids are, and a fingerprint of
// every Teams group and tag the plan touches, to refuse a stale plan, and
// of what the config managed, to refuse a plan made under another config.
type SavedPlan struct {
	Version     int                 `json:"version"`
	CreatedAt   time.Time           `json:"created_at"`
	Plan        Plan                `json:"plan"`
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
	return &SavedPlan{Version: SavedPlanVersion, CreatedAt: p.StartedAt, Plan: p.Plan, Fingerprint: p.Fingerprint,
		Config: p.ConfigPrint, Users: p.Users, Pending: p.Pending, Matched: p.Matched, Errors: p.Errors}
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
	if s.Version != SavedPlanVersion {
		return nil, fmt.Errorf("read plan: format version %d, this syncd reads %d", s.Version, SavedPlanVersion)
	}
	return &s, nil
}

// fingerprint hashes the current state of every group and tag the plan
// writes (or creates: a group that must still be absent).
func fingerprint(p *Plan, cur Current) map[string]string {
	out := map[string]string{}
	byID := map[int]*CurrentGroup{}
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

func groupPrint(create bool, g *CurrentGroup, all []CurrentGroup, name string) string {
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

func tagPrint(t *CurrentTag) string {
	if t == nil || t.Err != "" {
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
//   - the current removal budgets (rule 3) hold removals back again: a
//     budget lowered since the plan was made still applies, exit 4.
//
// A failed check is an error naming what differs; nothing is written then.
func (e *Engine) ApplySaved(ctx context.Context, s *SavedPlan) (*Result, error) {
	p := &Prepared{StartedAt: e.now(), Calls0: e.api.Calls(), Users: s.Users, Pending: s.Pending, Matched: s.Matched}
	plan, outside := restrictPlan(s.Plan, e.cfg)
	if diff := append(ConfigDrift(s.Config, configPrint(e.cfg)), outside...); len(diff) > 0 {
		err := fmt.Errorf("the plan was made under another configuration (%s); run syncd sync again", strings.Join(diff, "; "))
		return e.Fail(p, err), err
	}
	p.Plan = plan
	var tagNames []string
	for _, t := range plan.Tags {
		if !t.Empty() {
			tagNames = append(tagNames, t.Tag)
		}
	}
	view, err := e.readCurrent(ctx, tagNames)
	if err != nil {
		return e.Fail(p, err), err
	}
	drift := Drift(s.Fingerprint, fingerprint(&plan, view.cur))
	drift = append(drift, refreshCurrent(&p.Plan, view.cur)...)
	if len(drift) > 0 {
		err := fmt.Errorf("the plan is stale: Teams changed since it was made (%s); run syncd sync again", strings.Join(drift, "; "))
		return e.Fail(p, err), err
	}
	holdSaved(&p.Plan, e.policy())
	if p.Users == nil {
		p.Users = map[int]report.User{}
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

// ConfigDrift names the groups and tags whose rules differ between the
// config a plan was made under (saved) and the config in force (now).
func ConfigDrift(saved, now map[string]string) []string {
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
func restrictPlan(p Plan, cfg *config.Config) (kept Plan, outside []string) {
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
		var add []GroupRef
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
func refreshCurrent(p *Plan, cur Current) []string {
	byID := map[int]*CurrentGroup{}
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
		if live == nil || live.Err != "" || live.ID != t.ID {
			out = append(out, fmt.Sprintf("SMEs of tag %q cannot be matched to tag id %d", t.Tag, t.ID))
			continue
		}
		t.CurrentUsers, t.CurrentGroups = live.Users, live.Groups
	}
	return out
}

// holdSaved applies the removal budgets in force to a saved plan, as
// Calculate does to a fresh one: removals over max_removal_percent of a
// group or SME list are held, then all of them when the run's total is
// over max_removals. Held removals of the plan stay held.
func holdSaved(p *Plan, pol Policy) {
	for i := range p.Groups {
		g := &p.Groups[i]
		kept, held, reason := holdRemovals(g.Remove, "", "", len(realUsers(g.Current)), pol.MaxRemovalPercent)
		if len(held) > 0 {
			g.Remove, g.Held = kept, sortUnique(append(g.Held, held...))
			g.HeldReason = joinReason(g.HeldReason, reason)
		}
	}
	for i := range p.Tags {
		t := &p.Tags[i]
		all := append(slices.Clone(t.RemoveUsers), negate(refIDs(t.RemoveGroups))...)
		base := len(realUsers(t.CurrentUsers)) + len(t.CurrentGroups)
		_, held, reason := holdRemovals(all, "", "", base, pol.MaxRemovalPercent)
		if len(held) > 0 {
			t.HeldUsers, t.RemoveUsers = sortUnique(append(t.HeldUsers, t.RemoveUsers...)), nil
			t.HeldGroups, t.RemoveGroups = append(t.HeldGroups, t.RemoveGroups...), nil
			t.HeldReason = joinReason(t.HeldReason, reason)
		}
	}
	applyRunBudget(p, pol.MaxRemovals)
}

// Drift names the entries whose fingerprint differs.
func Drift(saved, now map[string]string) []string {
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
