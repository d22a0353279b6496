package scimserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/syncd/syncd/internal/directory"
)

// ErrUnreadableActive marks a stored user whose active attribute is not a
// boolean.
var ErrUnreadableActive = errors.New("stored active is not a boolean (a store written before syncd refused such values): send the user again")

// Source reads what a receiver stored, as a directory. It opens the store
// file read-only for the duration of one read, so it works in another
// process while the daemon receives (see Store).
type Source struct {
	name string
	path string
}

// NewSource returns the source for the receiver named name under stateDir.
func NewSource(name, stateDir string) (*Source, error) {
	if stateDir == "" {
		return nil, fmt.Errorf("scim receiver %q: sync.state_dir is required to store what it receives", name)
	}
	return &Source{name: name, path: StorePath(stateDir, name)}, nil
}

// Name is the source's configured name.
func (s *Source) Name() string { return s.name }

// Read returns the stored users and groups. Inactive users are left out
// (and are no group's members); member groups are expanded.
func (s *Source) Read(ctx context.Context) (*directory.Directory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := readFile(s.path)
	if err != nil {
		return nil, fmt.Errorf("scim receiver %q: %w", s.name, err)
	}
	return buildDirectory(s.name, data), nil
}

func buildDirectory(name string, data map[Kind]map[string]*record) *directory.Directory {
	dir := &directory.Directory{Source: name, Users: map[string]*directory.User{}, KeyName: "SCIM id"}
	users := userStates{}
	for id, rec := range data[Users] {
		u, state := toUser(rec)
		users[id] = state
		if state == active {
			dir.Users[id] = u
		}
	}
	groups := data[Groups]
	ids := make([]string, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return cmpSeq(groups[a], groups[b]) })
	for _, id := range ids {
		dir.Groups = append(dir.Groups, toGroup(groups[id], dir, users, groups))
	}
	dir.Expand()
	return dir
}

// cmpSeq orders records by creation.
func cmpSeq(a, b *record) int { return cmp.Compare(a.Seq, b.Seq) }

// userState is whether a stored user counts as a member of their groups.
type userState int

const (
	active     userState = iota + 1
	inactive             // active: false
	unreadable           // active is no boolean: stored before the receiver refused such values
)

// userStates maps user ids to their state; a missing id was never stored.
type userStates map[string]userState

// toUser maps a stored user, with whether the user is active. The receiver
// refuses an active that is no boolean, but a store written by an older
// syncd may hold one ("maybe", 0): such a user is unreadable, not active.
func toUser(rec *record) (*directory.User, userState) {
	if v, ok := get(rec.Attrs, "active"); ok {
		switch b, ok := asBool(v); {
		case !ok:
			return nil, unreadable
		case !b:
			return nil, inactive
		}
	}
	str := func(o object, k string) string {
		v, _ := get(o, k)
		s, _ := v.(string)
		return s
	}
	u := &directory.User{ID: rec.ID, DN: rec.ID, Login: str(rec.Attrs, "userName"), Name: str(rec.Attrs, "displayName")}
	if u.Name == "" {
		if n, ok := get(rec.Attrs, "name"); ok {
			if m, ok := n.(object); ok {
				u.Name = str(m, "formatted")
				if u.Name == "" {
					u.Name = strings.TrimSpace(str(m, "givenName") + " " + str(m, "familyName"))
				}
			}
		}
	}
	if u.Name == "" {
		u.Name = u.Login
	}
	u.Emails = emails(rec.Attrs, u.Login)
	return u, active
}

// emails lists every address, the primary one first; the userName stands
// in when none is given and it is an address (Entra ID's UPN, Okta's login).
func emails(o object, login string) []string {
	list, _ := get(o, "emails")
	var primary, rest []string
	for _, el := range elements(list) {
		m, ok := el.(object)
		if !ok {
			continue
		}
		v, _ := get(m, "value")
		s, _ := v.(string)
		s = directory.NormalizeEmail(s)
		if s == "" {
			continue
		}
		if p, _ := get(m, "primary"); p == true {
			primary = append(primary, s)
		} else {
			rest = append(rest, s)
		}
	}
	var out []string
	for _, s := range append(primary, rest...) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) == 0 && strings.Contains(login, "@") {
		out = []string{directory.NormalizeEmail(login)}
	}
	return out
}

// toGroup maps a stored group. A member whose active cannot be read makes
// the group unknown: whether they belong in it cannot be told.
func toGroup(rec *record, dir *directory.Directory, users userStates, groups map[string]*record) *directory.Group {
	nameV, _ := get(rec.Attrs, "displayName")
	g := &directory.Group{DN: rec.ID}
	g.Name, _ = nameV.(string)
	members, _ := get(rec.Attrs, "members")
	for _, m := range elements(members) {
		id, _ := valueKey(m)
		typ := ""
		if mo, ok := m.(object); ok {
			t, _ := get(mo, "type")
			typ, _ = t.(string)
		}
		switch {
		case !strings.EqualFold(typ, "Group") && dir.Users[id] != nil:
			g.DirectMembers = append(g.DirectMembers, id)
		case !strings.EqualFold(typ, "Group") && users[id] == unreadable:
			if g.Err == nil {
				g.Err = fmt.Errorf("member %s: %w", id, ErrUnreadableActive)
			}
		case !strings.EqualFold(typ, "User") && groups[id] != nil:
			g.Subgroups = append(g.Subgroups, id)
		case !strings.EqualFold(typ, "Group") && users[id] == inactive:
			g.Inactive++
		default:
			g.Ignored++ // deleted, or never provisioned
		}
	}
	slices.Sort(g.DirectMembers)
	g.DirectMembers = slices.Compact(g.DirectMembers)
	slices.Sort(g.Subgroups)
	g.Subgroups = slices.Compact(g.Subgroups)
	return g
}
