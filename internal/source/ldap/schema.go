package ldap

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	goldap "github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
)

// A group entry read without any value of a member attribute its object
// class requires (groupOfNames MUST member, groupOfUniqueNames MUST
// uniqueMember, in RFC 4519 and in OpenLDAP's schema) proves that the
// values were withheld: an access rule hides them from syncd's account.
// Read as it stands, the group would be empty and its people removed. The
// server's own schema says which classes require which attribute (389-ds,
// for one, makes member optional, and an empty group there is real), so it
// is read once per reader; a server whose schema cannot be read gets no
// such check.

// ErrHiddenMembers is a group entry whose required member attribute came
// back without a value.
var ErrHiddenMembers = errors.New("the group's members are hidden from syncd's account")

// requiredMembers maps lower-cased object class names to the member
// attributes (among those configured, as configured) that the class or a
// superclass requires. Empty when the schema could not be read.
type requiredMembers map[string][]string

// check returns ErrHiddenMembers for an entry of a class that requires a
// member attribute of which it has no value.
func (req requiredMembers) check(e *Entry) error {
	for _, oc := range e.Values("objectClass") {
		attrs := req[strings.ToLower(oc)]
		if len(attrs) == 0 {
			continue
		}
		for _, a := range attrs {
			if len(e.Values(a)) > 0 {
				return nil
			}
		}
		return fmt.Errorf("%w: its object class %s requires %s, and the entry came back without it: grant the account read access to %s",
			ErrHiddenMembers, oc, strings.Join(attrs, " or "), strings.Join(attrs, ", "))
	}
	return nil
}

// schemaCache keeps a reader's requirements once read: a schema changes
// with a server upgrade, not between runs, and the subschema entry of
// Active Directory is large.
type schemaCache struct {
	mu   sync.Mutex
	read bool
	req  requiredMembers
}

func (c *schemaCache) get(s *session, memberAttrs []string, log *zap.Logger) requiredMembers {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.read {
		c.req, c.read = readRequiredMembers(s, memberAttrs, log)
	}
	return c.req
}

// readRequiredMembers reads the subschema entry the root DSE names and
// returns which classes require which of memberAttrs. A failure is logged
// and gives no requirements: the check is a proof when it can be made,
// never a reason to fail a read.
func readRequiredMembers(s *session, memberAttrs []string, log *zap.Logger) (requiredMembers, bool) {
	var sub string
	_, err := s.search(query{base: "", scope: goldap.ScopeBaseObject, filter: "(objectClass=*)", purpose: "root DSE",
		attrs: []string{"subschemaSubentry"}}, func(e *Entry) error {
		sub = e.First("subschemaSubentry")
		return nil
	})
	if err == nil && sub == "" {
		err = errors.New("the root DSE names no subschemaSubentry")
	}
	var classes []string
	if err == nil {
		_, err = s.search(query{base: sub, scope: goldap.ScopeBaseObject, filter: "(objectClass=subschema)", purpose: "schema",
			attrs: []string{"objectClasses"}}, func(e *Entry) error {
			classes = e.Values("objectClasses")
			return nil
		})
	}
	if err != nil {
		log.Debug("schema not read: groups without member values are taken as empty", zap.Error(err))
		return nil, false
	}
	return parseRequired(classes, memberAttrs), true
}

// objectClass is what parseRequired needs of one class description
// (RFC 4512 section 4.1.1).
type objectClass struct {
	names, sup, must []string
}

// parseRequired resolves each class's required member attributes,
// superclasses included.
func parseRequired(descriptions []string, memberAttrs []string) requiredMembers {
	byName := map[string]*objectClass{}
	for _, d := range descriptions {
		oc := parseObjectClass(d)
		for _, n := range oc.names {
			byName[strings.ToLower(n)] = oc
		}
	}
	wanted := map[string]string{} // lower-cased -> as configured
	for _, a := range memberAttrs {
		if !strings.EqualFold(a, "memberUid") { // a DN-valued member attribute
			wanted[strings.ToLower(a)] = a
		}
	}
	out := requiredMembers{}
	for name, oc := range byName {
		var attrs []string
		seen := map[*objectClass]bool{}
		for c := oc; c != nil && !seen[c]; {
			seen[c] = true
			for _, a := range c.must {
				if a, ok := wanted[strings.ToLower(a)]; ok && !slices.Contains(attrs, a) {
					attrs = append(attrs, a)
				}
			}
			var next *objectClass
			for _, s := range c.sup {
				if p := byName[strings.ToLower(s)]; p != nil && !seen[p] {
					next = p // one superclass chain is the structural case; top adds nothing
					break
				}
			}
			c = next
		}
		if len(attrs) > 0 {
			out[name] = attrs
		}
	}
	return out
}

// parseObjectClass reads NAME, SUP and MUST of one description, e.g.
// ( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) ).
func parseObjectClass(d string) *objectClass {
	toks := schemaTokens(d)
	oc := &objectClass{}
	for i := 0; i < len(toks); i++ {
		var dst *[]string
		switch strings.ToUpper(toks[i]) {
		case "NAME":
			dst = &oc.names
		case "SUP":
			dst = &oc.sup
		case "MUST":
			dst = &oc.must
		default:
			continue
		}
		i++
		if i >= len(toks) {
			break
		}
		if toks[i] != "(" {
			*dst = append(*dst, toks[i])
			continue
		}
		for i++; i < len(toks) && toks[i] != ")"; i++ {
			if toks[i] != "$" {
				*dst = append(*dst, toks[i])
			}
		}
	}
	return oc
}

// schemaTokens splits a description into parentheses, "$", and words,
// quoted words without their quotes.
func schemaTokens(d string) []string {
	var out []string
	for i := 0; i < len(d); {
		switch c := d[i]; {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == '$':
			out = append(out, string(c))
			i++
		case c == '\'':
			j := strings.IndexByte(d[i+1:], '\'')
			if j < 0 {
				return append(out, d[i+1:])
			}
			out = append(out, d[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(d) && !strings.ContainsRune(" \t\n()$'", rune(d[j])) {
				j++
			}
			out = append(out, d[i:j])
			i = j
		}
	}
	return out
}
