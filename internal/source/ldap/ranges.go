package ldap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// errUnfinishedRange marks a group whose member list the server cut short
// and did not finish handing over.
var errUnfinishedRange = errors.New("range retrieval did not reach the end of the member list")

// completeRanges finishes Active Directory range retrieval: a large member
// attribute comes back as "member;range=0-1499" and the rest must be asked
// for, range by range, until one ends in "*". The entry then holds the full
// list under the plain attribute name.
func (s *session) completeRanges(e *Entry) error {
	for name, vals := range e.Attrs {
		attr, lo, hi, ok := parseRange(name)
		if !ok {
			continue
		}
		all := vals
		for hi != "*" {
			end, err := strconv.Atoi(hi)
			if err != nil || end < lo {
				return fmt.Errorf("%w: bad range %q", errUnfinishedRange, name)
			}
			more, next, err := s.fetchRange(e.DN, attr, end+1)
			if err != nil {
				return err
			}
			all = append(all, more...)
			lo, hi = end+1, next
		}
		delete(e.Attrs, name)
		e.Attrs[attr] = all
	}
	return nil
}

// hasRanges reports whether the server cut an attribute of e short.
func hasRanges(e *Entry) bool {
	for name := range e.Attrs {
		if _, _, _, ok := parseRange(name); ok {
			return true
		}
	}
	return false
}

// fetchRange reads attr;range=from-* of one entry and returns the values
// and the upper end of the range the server returned ("*" for the last).
func (s *session) fetchRange(dn, attr string, from int) ([]string, string, error) {
	want := fmt.Sprintf("%s;range=%d-*", attr, from)
	q := query{base: dn, scope: goldap.ScopeBaseObject, filter: "(objectClass=*)",
		attrs: []string{want}, purpose: "member range of " + dn}
	var vals []string
	hi := ""
	_, err := s.search(q, func(e *Entry) error {
		for name, v := range e.Attrs {
			a, lo, h, ok := parseRange(name)
			if ok && a == attr && lo == from {
				vals, hi = v, h
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	if hi == "" {
		return nil, "", fmt.Errorf("%w: %s of %s: no values returned from %d on", errUnfinishedRange, attr, dn, from)
	}
	return vals, hi, nil
}

// parseRange splits "member;range=1500-2999" into its parts.
func parseRange(name string) (attr string, lo int, hi string, ok bool) {
	attr, spec, found := strings.Cut(name, ";range=")
	if !found {
		return "", 0, "", false
	}
	l, h, found := strings.Cut(spec, "-")
	n, err := strconv.Atoi(l)
	if !found || err != nil || h == "" {
		return "", 0, "", false
	}
	return attr, n, h, true
}

// searchWhole is search for entries whose attributes are needed whole: an
// entry with an attribute cut into ranges is handed to each once the rest
// of it is read, after the search (one request at a time on a session),
// with the error that kept it from being finished, if any. An error each
// returns ends the search.
func (s *session) searchWhole(q query, each func(e *Entry, unfinished error) error) error {
	q.passing = false // ranged entries are kept until the search ends
	var ranged []*Entry
	if _, err := s.search(q, func(e *Entry) error {
		if hasRanges(e) {
			ranged = append(ranged, e)
			return nil
		}
		return each(e, nil)
	}); err != nil {
		return err
	}
	for _, e := range ranged {
		var unfinished error
		if err := s.completeRanges(e); err != nil {
			unfinished = fmt.Errorf("%s of %s: %w", q.purpose, e.DN, err)
		}
		if err := each(e, unfinished); err != nil {
			return err
		}
	}
	return nil
}
