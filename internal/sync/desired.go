package sync

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/idset"
	"github.com/syncd/syncd/internal/plan"
	"github.com/syncd/syncd/internal/plural"
)

// personKey names a directory person: the *directory.User a source read
// (pointers are unique across sources and hash fast: a run looks people up
// once per membership).
type personKey = *directory.User

// feed is one directory group feeding a target.
type feed struct {
	rule       string // "groups[2]" or "smes[0]": where the config asks for it
	source     string
	dir        *directory.Directory
	group      *directory.Group
	allowEmpty bool
	users      []*directory.User // the group's members, resolved once by people
}

// sizeKey names a directory group in the last-known sizes.
func (f feed) sizeKey() string {
	id := f.group.DN
	if id == "" {
		id = f.group.Name
	}
	return f.source + "\x00" + strings.ToLower(id)
}

// target is one Teams user group or tag the config manages, with the
// directory groups that feed it (several mappings may feed one group).
type target struct {
	tag            bool
	name           string // Teams group name or tag name
	description    string
	setDescription bool
	mode           plan.Mode
	feeds          []feed
	smeGroups      []string
	unknown        []error // why removals are off (rule 1)
	// lookupFailed is set when members of the target could not be looked
	// up in Teams this run (rule 6): they may be any member, so removals
	// are off as for an unknown directory group.
	lookupFailed error
}

// reasons are why removals are off for the target this run.
func (t *target) reasons() []error {
	if t.lookupFailed == nil {
		return t.unknown
	}
	return append(slices.Clone(t.unknown), t.lookupFailed)
}

func (t *target) label() string {
	if t.tag {
		return "tag " + t.name
	}
	return t.name
}

// targets reads the config's mappings against the directories read this
// run. dirs holds the sources read successfully; failed holds the others.
func targets(cfg *config.Config, dirs map[string]*directory.Directory, failed map[string]error) (groups, tags []*target, errs []error) {
	byName := map[string]*target{}
	for i, m := range cfg.Groups {
		rule := fmt.Sprintf("groups[%d]", i)
		mode := plan.Mode(m.MembershipMode(cfg.Sync.Membership))
		for _, t := range mappingTargets(rule, m, dirs, failed, &errs) {
			t.mode = mode
			groups = mergeTarget(byName, groups, t)
		}
	}
	for i, m := range cfg.Groups {
		if m.Match != "" && dirs[m.Source] == nil {
			blockMatched(groups, fmt.Sprintf("groups[%d]", i), m, failed[m.Source])
		}
	}
	byTag := map[string]*target{}
	for i, s := range cfg.SMEs {
		t := smeTarget(fmt.Sprintf("smes[%d]", i), s, plan.Mode(s.MembershipMode(cfg.Sync.Membership)), dirs, failed)
		tags = mergeTarget(byTag, tags, t)
	}
	return groups, tags, errs
}

// mappingTargets expands one groups: entry into its targets.
func mappingTargets(rule string, m config.Mapping, dirs map[string]*directory.Directory, failed map[string]error, errs *[]error) []*target {
	dir := dirs[m.Source]
	base := target{name: m.To, description: m.Description, setDescription: m.Description != ""}
	if m.Match == "" {
		t := base
		t.feeds, t.unknown = lookupFeed(rule, m.Source, m.From, m.AllowEmpty, dir, failed[m.Source])
		return []*target{&t}
	}
	if dir == nil {
		*errs = append(*errs, fmt.Errorf("%s: source %q could not be read (%w): groups matching %q are left as they are",
			rule, m.Source, failed[m.Source], m.Match))
		return nil
	}
	var out []*target
	pattern := strings.ToLower(m.Match)
	for _, g := range dir.Groups {
		if ok, _ := path.Match(pattern, strings.ToLower(g.Name)); !ok {
			continue
		}
		t := base
		t.name = strings.ReplaceAll(m.To, "{name}", g.Name)
		t.description = strings.ReplaceAll(m.Description, "{name}", g.Name)
		t.feeds = []feed{{rule: rule, source: m.Source, dir: dir, group: g, allowEmpty: m.AllowEmpty}}
		if g.Unknown() {
			t.unknown = []error{fmt.Errorf("directory group %q of source %q could not be read completely: %w", g.Name, m.Source, g.Err)}
		}
		out = append(out, &t)
	}
	return out
}

// blockMatched marks unknown every target that the match: mapping m, whose
// source could not be read, might have fed: another mapping may feed the
// same Teams group, and removing the members m would have given it is not
// safe (rule 1).
func blockMatched(groups []*target, rule string, m config.Mapping, srcErr error) {
	parts := strings.Split(m.To, "{name}")
	for i, p := range parts {
		parts[i] = globEscaper.Replace(p)
	}
	pattern := strings.ToLower(strings.Join(parts, m.Match))
	for _, t := range groups {
		if ok, _ := path.Match(pattern, strings.ToLower(t.name)); ok {
			t.unknown = append(t.unknown, fmt.Errorf("%s: source %q could not be read (%w): it may feed %q through match %q",
				rule, m.Source, srcErr, t.name, m.Match))
		}
	}
}

var globEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`, "[", `\[`)

// lookupFeed finds a directory group by name or DN. A missing source or
// group makes the target unknown: no removals, and the run fails.
func lookupFeed(rule, source, key string, allowEmpty bool, dir *directory.Directory, srcErr error) ([]feed, []error) {
	if dir == nil {
		return nil, []error{fmt.Errorf("%s: source %q could not be read: %w", rule, source, srcErr)}
	}
	g, err := dir.Lookup(key)
	if err != nil {
		return nil, []error{fmt.Errorf("%s: source %q: %w", rule, source, err)}
	}
	if g == nil {
		return nil, []error{fmt.Errorf("%s: directory group %q not found in source %q", rule, key, source)}
	}
	f := []feed{{rule: rule, source: source, dir: dir, group: g, allowEmpty: allowEmpty}}
	if g.Unknown() {
		return f, []error{fmt.Errorf("%s: directory group %q of source %q could not be read completely: %w", rule, g.Name, source, g.Err)}
	}
	return f, nil
}

func smeTarget(rule string, s config.SME, mode plan.Mode, dirs map[string]*directory.Directory, failed map[string]error) *target {
	t := &target{tag: true, name: s.Tag, mode: mode, smeGroups: slices.Clone(s.Groups)}
	for _, ref := range s.UsersFrom {
		f, unknown := lookupFeed(rule, ref.Source, ref.Group, s.AllowEmpty, dirs[ref.Source], failed[ref.Source])
		t.feeds = append(t.feeds, f...)
		t.unknown = append(t.unknown, unknown...)
	}
	return t
}

// mergeTarget adds t to list, or unions it into the target of the same
// name already there. The most careful mode wins: add-only over managed
// over exact.
func mergeTarget(byName map[string]*target, list []*target, t *target) []*target {
	k := strings.ToLower(t.name)
	have := byName[k]
	if have == nil {
		byName[k] = t
		return append(list, t)
	}
	have.feeds = append(have.feeds, t.feeds...)
	have.unknown = append(have.unknown, t.unknown...)
	have.smeGroups = append(have.smeGroups, t.smeGroups...)
	if !have.setDescription && t.setDescription {
		have.description, have.setDescription = t.description, true
	}
	if modeRank(t.mode) > modeRank(have.mode) {
		have.mode = t.mode
	}
	return list
}

func modeRank(m plan.Mode) int {
	switch m {
	case plan.ModeAddOnly:
		return 2
	case plan.ModeManaged:
		return 1
	}
	return 0
}

// people returns every directory person some target depends on, with
// their source, and resolves each feed's members to them.
func people(ts ...[]*target) map[personKey]string {
	out := map[personKey]string{}
	for _, list := range ts {
		for _, t := range list {
			for i := range t.feeds {
				f := &t.feeds[i]
				f.users = make([]*directory.User, 0, len(f.group.Members))
				for _, id := range f.group.Members {
					if u := f.dir.Users[id]; u != nil {
						f.users = append(f.users, u)
						out[u] = f.source
					}
				}
			}
		}
	}
	return out
}

// pendingSet collects people without a Teams account, by address.
type pendingSet map[string][]string // primary e-mail -> target labels

// remembered is what earlier runs left in the state that planning uses.
type remembered struct {
	sizes    map[string]int // member counts of directory groups at the last successful read
	groupIDs map[string]int // lower-case Teams group name -> the group that carried it
}

// memory reads what planning uses of the state.
func (e *Engine) memory() remembered {
	return remembered{sizes: e.store.Sizes(), groupIDs: e.store.GroupIDs()}
}

// desiredFrom turns targets into the planner's desired state: members as
// Teams ids (people not found in Teams go to pending; the accounts of
// people matched ambiguously are kept, never removed), holds from the
// last known group sizes, and the groups that carried the names before.
func desiredFrom(groups, tags []*target, ids map[personKey]int, ambiguous map[personKey][]int, mem remembered, pending pendingSet) plan.Desired {
	var d plan.Desired
	for _, t := range groups {
		members, keep, hold := t.members(ids, ambiguous, mem.sizes, pending)
		d.Groups = append(d.Groups, plan.DesiredGroup{
			Name: t.name, Description: t.description, SetDescription: t.setDescription,
			Mode: t.mode, Members: members, Keep: keep, Unknown: errors.Join(t.reasons()...), EmptyHold: hold,
			KnownID: mem.groupIDs[strings.ToLower(t.name)],
		})
	}
	for _, t := range tags {
		users, keep, hold := t.members(ids, ambiguous, mem.sizes, pending)
		d.Tags = append(d.Tags, plan.DesiredTag{
			Tag: t.name, Mode: t.mode, Users: users, Keep: keep, Groups: t.smeGroups,
			Unknown: errors.Join(t.reasons()...), EmptyHold: hold,
		})
	}
	return d
}

// members unions the Teams ids of the target's directory members, and of
// the accounts of those matched ambiguously (to keep), and says whether a
// feeding group emptied since the last successful run (rule 2).
func (t *target) members(ids map[personKey]int, ambiguous map[personKey][]int, sizes map[string]int, pending pendingSet) ([]int, []int, string) {
	n := 0
	for _, f := range t.feeds {
		n += len(f.users)
	}
	out := make([]int, 0, n)
	var keep []int
	var holds []string
	for _, f := range t.feeds {
		if len(f.group.Members) == 0 && !f.allowEmpty && sizes[f.sizeKey()] > 0 && !f.group.Unknown() {
			holds = append(holds, fmt.Sprintf("directory group %q of source %q is empty now but had %s at the last successful run (allow_empty: true lets it empty %s)",
				f.group.Name, f.source, plural.Count(sizes[f.sizeKey()], "member"), t.label()))
		}
		for _, u := range f.users {
			if id, ok := ids[u]; ok {
				out = append(out, id)
			} else if found := ambiguous[u]; found != nil {
				keep = append(keep, found...)
			} else if len(u.Emails) > 0 {
				pending.add(u.Emails[0], t.label())
			}
		}
	}
	return idset.Sort(out), idset.Sort(keep), strings.Join(holds, "; ")
}

// withoutEmail lists, once each, the members of the targets' directory
// groups who have no e-mail address: they cannot be matched to a Teams
// account, so a Teams account that is theirs reads as someone else's.
func withoutEmail(ts ...[]*target) []string {
	seen := map[*directory.User]bool{}
	var out []string
	for _, list := range ts {
		for _, t := range list {
			for _, f := range t.feeds {
				for _, u := range f.users {
					if len(u.Emails) == 0 && !seen[u] {
						seen[u] = true
						out = append(out, fmt.Sprintf("%s (%s, in %s)", u.Name, u.DN, t.label()))
					}
				}
			}
		}
	}
	return out
}

func (p pendingSet) add(email, label string) {
	if !slices.Contains(p[email], label) {
		p[email] = append(p[email], label)
	}
}

// groupSizes returns the member counts to remember for the next run:
// every known directory group read, except those held for being empty
// (remembering 0 would let the next run empty the Teams group).
func groupSizes(ts ...[]*target) map[string]int {
	out := map[string]int{}
	for _, list := range ts {
		for _, t := range list {
			for _, f := range t.feeds {
				if !f.group.Unknown() && (len(f.group.Members) > 0 || f.allowEmpty) {
					out[f.sizeKey()] = len(f.group.Members)
				}
			}
		}
	}
	return out
}
