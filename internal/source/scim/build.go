package scim

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/directory"
)

// build turns the listed resources into a Directory. Members the listings
// do not explain are looked up one by one; a lookup that fails makes the
// group unknown.
func (r *Reader) build(ctx context.Context, users, groups []resource) *directory.Directory {
	dir := &directory.Directory{Source: r.name, Users: make(map[string]*directory.User, len(users)), KeyName: "SCIM id"}
	res := &resolver{r: r, dir: dir, inactive: map[string]bool{}, unreadable: map[string]error{}, groups: map[string]bool{}, cache: map[string]lookup{}}
	for _, u := range users {
		res.addUser(u)
	}
	for _, g := range groups {
		res.groups[g.ID] = true
	}
	names := map[string]string{} // lower-case displayName -> first id
	for _, g := range groups {
		grp := res.group(ctx, g)
		key := strings.ToLower(grp.Name)
		if first, dup := names[key]; dup {
			r.logger.Warn("two SCIM groups share a displayName (ignoring case): a mapping by that name is refused as ambiguous; map one by its SCIM id",
				zap.String("group", grp.Name), zap.String("id", r.redact(first)), zap.String("other_id", r.redact(grp.DN)))
		} else {
			names[key] = grp.DN
		}
		dir.Groups = append(dir.Groups, grp)
	}
	dir.Expand()
	return dir
}

type resolver struct {
	r          *Reader
	dir        *directory.Directory
	inactive   map[string]bool  // user ids listed as active: false
	unreadable map[string]error // user ids listed with an active that is no boolean
	groups     map[string]bool  // group ids listed
	cache      map[string]lookup
}

// lookup is the outcome of reading one unlisted member by id.
type lookup struct {
	user     *directory.User // found, active user
	inactive bool            // found, a user listed as active: false
	found    bool            // the resource exists (even if inactive or a group)
	err      error           // the read failed: membership unknown
}

func (s *resolver) addUser(u resource) {
	switch {
	case u.Active.bad != "":
		s.unreadable[u.ID] = s.r.unreadableActive(u)
	case u.Active.set && !u.Active.val:
		s.inactive[u.ID] = true
	default:
		s.dir.Users[u.ID] = toUser(u)
	}
}

// ErrUnreadableActive marks a user whose active attribute is neither a
// boolean nor "true"/"false". Whether that person is a member cannot be
// told, so every group listing them is unknown: taking them as active
// could add someone the provider disabled, as inactive remove someone.
var ErrUnreadableActive = errors.New("active is not a boolean")

func (r *Reader) unreadableActive(u resource) error {
	return fmt.Errorf("%w: %s", ErrUnreadableActive, capString(r.redact(u.Active.bad), 100))
}

// group resolves one group's member references.
func (s *resolver) group(ctx context.Context, g resource) *directory.Group {
	grp := &directory.Group{Name: g.DisplayName, DN: g.ID}
	if grp.Name == "" {
		grp.Name = g.ID
	}
	for i, m := range g.Members {
		err := s.member(ctx, grp, m)
		if errors.Is(err, ErrUnidentifiedMember) {
			err = fmt.Errorf("member %d of %d: %w", i+1, len(g.Members), err)
		}
		if err != nil && grp.Err == nil {
			grp.Err = err
		}
	}
	grp.DirectMembers = sortUnique(grp.DirectMembers)
	grp.Subgroups = sortUnique(grp.Subgroups)
	return grp
}

func (s *resolver) member(ctx context.Context, grp *directory.Group, m ref) error {
	id, typ, why := memberID(m)
	if why != "" {
		// why quotes the $ref the server sent.
		return fmt.Errorf("%w: %s", ErrUnidentifiedMember, capString(s.r.redact(why), 300))
	}
	switch {
	case typ != "group" && s.dir.Users[id] != nil:
		grp.DirectMembers = append(grp.DirectMembers, id)
	case typ != "group" && s.unreadable[id] != nil:
		return fmt.Errorf("member %s: %w", s.r.redact(id), s.unreadable[id])
	case typ != "group" && s.inactive[id]:
		grp.Inactive++ // inactive users are not members
	case typ != "user" && s.groups[id]:
		if s.r.nested {
			grp.Subgroups = append(grp.Subgroups, id)
		}
	case typ == "group" && !s.r.nested:
		// not expanded: nothing to resolve
	default:
		return s.unlisted(ctx, grp, typ, id)
	}
	return nil
}

// unlisted handles a member neither listing contains: it was created after
// the listing (then read it), deleted (404: ignore), or cannot be read (the
// group is unknown).
func (s *resolver) unlisted(ctx context.Context, grp *directory.Group, typ, id string) error {
	if typ != "group" {
		l := s.fetch(ctx, "/Users/", id, userAttributes)
		if l.err != nil {
			return fmt.Errorf("member %s: %w", s.r.redact(id), l.err)
		}
		if l.user != nil {
			s.dir.Users[id] = l.user
			grp.DirectMembers = append(grp.DirectMembers, id)
			return nil
		}
		if l.inactive {
			grp.Inactive++
			return nil
		}
		if l.found || typ == "user" || !s.r.nested {
			grp.Ignored++ // gone, or a group while nesting is off
			return nil
		}
	}
	l := s.fetch(ctx, "/Groups/", id, "displayName")
	switch {
	case l.err != nil:
		return fmt.Errorf("member group %s: %w", s.r.redact(id), l.err)
	case l.found:
		return fmt.Errorf("member group %s exists but was not in the /Groups listing: %w", s.r.redact(id), ErrInconsistent)
	}
	grp.Ignored++
	return nil
}

// fetch reads one resource by id, once per read.
func (s *resolver) fetch(ctx context.Context, endpoint, id, attrs string) lookup {
	key := endpoint + id
	if l, ok := s.cache[key]; ok {
		return l
	}
	var res resource
	q := url.Values{"attributes": {attrs}}
	err := s.r.get(ctx, endpoint+url.PathEscape(id), q, &res)
	var l lookup
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		l.err = err
	default:
		l.found = true
		if res.ID == "" {
			res.ID = id
		}
		switch {
		case endpoint != "/Users/":
		case res.Active.bad != "":
			l.err = s.r.unreadableActive(res)
		case !res.Active.set || res.Active.val:
			l.user = toUser(res)
		default:
			l.inactive = true
		}
	}
	s.cache[key] = l
	return l
}

// toUser maps a SCIM user: all e-mail values, the primary one first; the
// userName stands in when it is an address and no e-mail is listed (Okta
// and Entra ID often use the address or UPN as userName).
func toUser(u resource) *directory.User {
	out := &directory.User{ID: u.ID, DN: u.ID, Login: u.UserName, Name: u.DisplayName}
	if out.Name == "" && u.Name != nil {
		out.Name = u.Name.Formatted
	}
	if out.Name == "" {
		out.Name = u.UserName
	}
	emails := slices.Clone(u.Emails)
	slices.SortStableFunc(emails, func(a, b email) int {
		switch {
		case a.Primary.isTrue() == b.Primary.isTrue():
			return 0
		case a.Primary.isTrue():
			return -1
		}
		return 1
	})
	for _, e := range emails {
		v := directory.NormalizeEmail(e.Value)
		if v != "" && !slices.Contains(out.Emails, v) {
			out.Emails = append(out.Emails, v)
		}
	}
	if len(out.Emails) == 0 && strings.Contains(u.UserName, "@") {
		out.Emails = []string{directory.NormalizeEmail(u.UserName)}
	}
	return out
}

func sortUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}
