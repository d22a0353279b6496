package ldap

import (
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/directory"
)

// Matcher evaluates an LDAP search filter against entries held locally
// (an LDIF export, a test server). Comparisons are case-insensitive, which
// is right for the attributes syncd filters on (objectClass, names, mail).
type Matcher struct {
	root *ber.Packet
	// Extensible decides extensible matches ("attr:rule:=value"); without
	// it they never match.
	Extensible func(rule, attr, value string, e *Entry) bool
}

// CompileMatcher parses filter.
func CompileMatcher(filter string) (*Matcher, error) {
	p, err := goldap.CompileFilter(filter)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", filter, err)
	}
	return &Matcher{root: p}, nil
}

// Match reports whether e satisfies the filter.
func (m *Matcher) Match(e *Entry) bool { return m.match(m.root, e) }

func (m *Matcher) match(p *ber.Packet, e *Entry) bool {
	switch p.Tag {
	case goldap.FilterAnd:
		for _, c := range p.Children {
			if !m.match(c, e) {
				return false
			}
		}
		return true
	case goldap.FilterOr:
		for _, c := range p.Children {
			if m.match(c, e) {
				return true
			}
		}
		return false
	case goldap.FilterNot:
		return len(p.Children) == 1 && !m.match(p.Children[0], e)
	case goldap.FilterPresent:
		return len(e.Values(p.Data.String())) > 0
	case goldap.FilterEqualityMatch, goldap.FilterApproxMatch:
		return anyValue(e, p, strings.EqualFold)
	case goldap.FilterGreaterOrEqual:
		return anyValue(e, p, func(v, a string) bool { return strings.ToLower(v) >= strings.ToLower(a) })
	case goldap.FilterLessOrEqual:
		return anyValue(e, p, func(v, a string) bool { return strings.ToLower(v) <= strings.ToLower(a) })
	case goldap.FilterSubstrings:
		return matchSubstrings(p, e)
	case goldap.FilterExtensibleMatch:
		return m.matchExtensible(p, e)
	}
	return false
}

func anyValue(e *Entry, p *ber.Packet, cmp func(value, assertion string) bool) bool {
	if len(p.Children) != 2 {
		return false
	}
	attr, want := packetString(p.Children[0]), packetString(p.Children[1])
	for _, v := range e.Values(attr) {
		if cmp(v, want) {
			return true
		}
	}
	return false
}

func matchSubstrings(p *ber.Packet, e *Entry) bool {
	if len(p.Children) != 2 {
		return false
	}
	attr := packetString(p.Children[0])
	for _, v := range e.Values(attr) {
		if substringsMatch(strings.ToLower(v), p.Children[1].Children) {
			return true
		}
	}
	return false
}

func substringsMatch(v string, parts []*ber.Packet) bool {
	for _, part := range parts {
		s := strings.ToLower(packetString(part))
		switch part.Tag {
		case goldap.FilterSubstringsInitial:
			if !strings.HasPrefix(v, s) {
				return false
			}
			v = v[len(s):]
		case goldap.FilterSubstringsAny:
			i := strings.Index(v, s)
			if i < 0 {
				return false
			}
			v = v[i+len(s):]
		case goldap.FilterSubstringsFinal:
			if !strings.HasSuffix(v, s) {
				return false
			}
		}
	}
	return true
}

func (m *Matcher) matchExtensible(p *ber.Packet, e *Entry) bool {
	var rule, attr, value string
	for _, c := range p.Children {
		switch c.Tag {
		case 1:
			rule = packetString(c)
		case 2:
			attr = packetString(c)
		case 3:
			value = packetString(c)
		}
	}
	return m.Extensible != nil && m.Extensible(rule, attr, value, e)
}

func packetString(p *ber.Packet) string {
	if p.Data != nil {
		return p.Data.String()
	}
	if s, ok := p.Value.(string); ok {
		return s
	}
	return ""
}

// InScope reports whether dn lies within base under scope ("sub", "one" or
// "base"); an empty base holds everything.
func InScope(dn, base, scope string) bool {
	if strings.TrimSpace(base) == "" {
		return true
	}
	d, b := directory.CanonicalDN(dn), directory.CanonicalDN(base)
	switch s, _ := parseScope(scope); s {
	case goldap.ScopeBaseObject:
		return d == b
	case goldap.ScopeSingleLevel:
		i := strings.Index(d, ",") // values' commas are escaped in canonical DNs
		return i >= 0 && d[i+1:] == b
	}
	return d == b || strings.HasSuffix(d, ","+b)
}
