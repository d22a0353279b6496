package config

import (
	"fmt"
	"path"
	"regexp"
	"strings"
)

// placeholder finds {…} in a mapping's `to` template.
var placeholder = regexp.MustCompile(`\{[^}]*\}`)

func (c *checker) validateMappings() {
	for i := range c.cfg.Groups {
		c.validateMapping(fmt.Sprintf("groups[%d]", i), &c.cfg.Groups[i])
	}
	c.mappingConflicts()
}

func (c *checker) validateMapping(p string, m *Mapping) {
	c.sourceRef(p+".source", m.Source)
	switch {
	case m.From != "" && m.Match != "":
		c.errorf(p+".match", "%s: from and match are both set: from names one directory group, match is a glob over many; keep one", p)
	case m.From == "" && m.Match == "":
		c.errorf(p, "%s: set from (a directory group name or DN) or match (a glob such as \"team-*\")", p)
	case m.Match != "":
		if _, err := path.Match(m.Match, ""); err != nil {
			c.errorf(p+".match", "%s.match %q is not a valid glob (*, ?, [a-z]; escape with \\)", p, m.Match)
		}
	}
	c.mappingTarget(p, m)
	if m.Membership != "" {
		c.oneOf(p+".membership", m.Membership, MembershipExact, MembershipAddOnly, MembershipManaged)
	}
}

// mappingTarget checks `to`: required, and a template with {name} exactly
// when the mapping matches many groups.
func (c *checker) mappingTarget(p string, m *Mapping) {
	if m.To == "" {
		c.errorf(p+".to", "%s.to is required: the Teams user group name", p)
		return
	}
	for _, ph := range placeholder.FindAllString(m.To, -1) {
		if ph != "{name}" {
			c.errorf(p+".to", "%s.to %q: unknown placeholder %s; only {name} (the directory group's name) exists", p, m.To, ph)
			return
		}
	}
	hasName := strings.Contains(m.To, "{name}")
	switch {
	case m.From != "" && m.Match != "":
		// reported above
	case m.Match != "" && !hasName:
		c.errorf(p+".to", "%s.to %q has no {name}: every group matching %q would land in that one Teams group; write e.g. \"Team {name}\"", p, m.To, m.Match)
	case m.From != "" && hasName:
		c.errorf(p+".to", "%s.to %q: {name} only expands with match; write the Teams group name", p, m.To)
	}
}

func (c *checker) sourceRef(key, name string) {
	if name == "" {
		c.errorf(key, "%s is required: the name of one of the sources (%s)", key, c.sourceNames())
		return
	}
	if c.cfg.Source(name) == nil {
		c.errorf(key, "%s: there is no source named %q (sources: %s)", key, name, c.sourceNames())
	}
}

func (c *checker) sourceNames() string {
	var names []string
	for _, s := range c.cfg.Sources {
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return "none defined"
	}
	return strings.Join(names, ", ")
}

// mappingConflicts: several mappings may feed one Teams group (its members
// are the union), but they must agree on how it is managed and described,
// or each run would undo the other's work.
func (c *checker) mappingConflicts() {
	type first struct {
		i    int
		mode string
		desc string
	}
	byTo := map[string]first{}
	exact := map[string]int{}
	for i, m := range c.cfg.Groups {
		p := fmt.Sprintf("groups[%d]", i)
		if m.To == "" {
			continue
		}
		key := strings.Join([]string{m.Source, strings.ToLower(m.From), m.Match, strings.ToLower(m.To)}, "\x00")
		if j, dup := exact[key]; dup {
			c.errorf(p, "%s repeats groups[%d] (same source, directory group and Teams group): remove one", p, j)
			continue
		}
		exact[key] = i
		to := strings.ToLower(m.To)
		mode := m.MembershipMode(c.cfg.Sync.Membership)
		f, seen := byTo[to]
		if !seen {
			byTo[to] = first{i, mode, m.Description}
			continue
		}
		if f.mode != mode {
			c.errorf(p+".membership", "%s feeds Teams group %q with membership %s, but groups[%d] feeds it with %s: mappings onto one Teams group need the same membership mode", p, m.To, mode, f.i, f.mode)
		}
		if m.Description != "" && f.desc != "" && m.Description != f.desc {
			c.errorf(p+".description", "%s gives Teams group %q a different description than groups[%d]: set it on one of them", p, m.To, f.i)
		}
		if f.desc == "" {
			byTo[to] = first{f.i, f.mode, m.Description}
		}
	}
}

func (c *checker) validateSMEs() {
	tags := map[string]int{}
	for i, s := range c.cfg.SMEs {
		p := fmt.Sprintf("smes[%d]", i)
		switch {
		case s.Tag == "":
			c.errorf(p+".tag", "%s.tag is required: the tag whose subject-matter experts syncd manages", p)
		case strings.ContainsAny(s.Tag, " \t"):
			c.errorf(p+".tag", "%s.tag %q: tag names have no spaces (Teams uses hyphens, e.g. google-cloud)", p, s.Tag)
		default:
			if j, dup := tags[strings.ToLower(s.Tag)]; dup {
				c.errorf(p+".tag", "%s.tag %q is already managed by smes[%d]: merge the two rules", p, s.Tag, j)
			}
			tags[strings.ToLower(s.Tag)] = i
		}
		if len(s.UsersFrom) == 0 && len(s.Groups) == 0 {
			c.errorf(p, "%s: give users_from (directory groups whose members become SMEs) or groups (Teams user groups), or both", p)
		}
		for j, r := range s.UsersFrom {
			q := fmt.Sprintf("%s.users_from[%d]", p, j)
			c.sourceRef(q+".source", r.Source)
			if r.Group == "" {
				c.errorf(q+".group", "%s.group is required: a directory group name or DN", q)
			}
		}
		for j, g := range s.Groups {
			if strings.TrimSpace(g) == "" {
				c.errorf(fmt.Sprintf("%s.groups[%d]", p, j), "%s.groups[%d] is empty: write a Teams user group name", p, j)
			}
		}
		if s.Membership != "" {
			c.oneOf(p+".membership", s.Membership, MembershipExact, MembershipAddOnly, MembershipManaged)
		}
	}
}
