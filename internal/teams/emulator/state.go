package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Emulator is the in-memory API. It is safe for concurrent use.
type Emulator struct {
	opt Options

	mu          sync.Mutex
	sme         bool
	permissive  bool
	tokens      map[string]SeedToken
	users       map[int]*SeedUser
	groups      map[int]*SeedGroup
	tags        map[int]*SeedTag
	nextGroupID int
	userOrder   map[string][]*SeedUser // listing order by sort order; nil after a change
	links       map[int]userLinks      // derived URLs by user id; dropped on change

	faultRate, lostRate float64
	rng                 *rand.Rand
	limits              map[string]*limiter // per token

	log    []Request
	writes int
}

// New builds an emulator holding a deep copy of seed.
func New(seed *Seed, o Options) (*Emulator, error) {
	if seed == nil {
		return nil, errors.New("emulator: nil seed")
	}
	if err := seed.Validate(); err != nil {
		return nil, err
	}
	if o.EmptyTotalPages < -1 || o.EmptyTotalPages > 1 {
		return nil, fmt.Errorf("emulator: EmptyTotalPages %d: want 1 (or 0 for the default), or -1 for 0", o.EmptyTotalPages)
	}
	o = o.withDefaults()
	if o.DeleteMemberStatus != http.StatusOK && o.DeleteMemberStatus != http.StatusNoContent {
		return nil, fmt.Errorf("emulator: DeleteMemberStatus %d: want 200 or 204", o.DeleteMemberStatus)
	}
	if o.UnknownUserStatus != http.StatusNotFound && o.UnknownUserStatus != http.StatusBadRequest && o.UnknownUserStatus != http.StatusOK {
		return nil, fmt.Errorf("emulator: UnknownUserStatus %d: want 404, 400 or 200 (ignored)", o.UnknownUserStatus)
	}
	if o.FaultRate < 0 || o.FaultRate > 1 || o.LostResponseRate < 0 || o.LostResponseRate > 1 {
		return nil, errors.New("emulator: fault rates must be within [0, 1]")
	}
	seedRand := uint64(o.RandSeed)
	e := &Emulator{
		opt:        o,
		sme:        seed.SMEEnabled,
		permissive: seed.Permissive,
		tokens:     map[string]SeedToken{},
		users:      map[int]*SeedUser{},
		groups:     map[int]*SeedGroup{},
		tags:       map[int]*SeedTag{},
		faultRate:  o.FaultRate,
		lostRate:   o.LostResponseRate,
		rng:        rand.New(rand.NewPCG(seedRand, seedRand^0x9e3779b97f4a7c15)),
		limits:     map[string]*limiter{},
		links:      map[int]userLinks{},
	}
	e.load(seed)
	return e, nil
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.BurstLimit, 50)
	defd(&o.BurstWindow, 2*time.Second)
	def(&o.BucketSize, 5000)
	def(&o.RefillAmount, 100)
	defd(&o.RefillEvery, 60*time.Second)
	if o.DeleteMemberStatus == 0 {
		o.DeleteMemberStatus = http.StatusOK
	}
	if o.UnknownUserStatus == 0 {
		o.UnknownUserStatus = http.StatusNotFound
	}
	switch {
	case o.EmptyTotalPages < 0:
		o.EmptyTotalPages = 0
	case o.EmptyTotalPages == 0:
		o.EmptyTotalPages = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RandSeed == 0 {
		o.RandSeed = 1
	}
	return o
}

// Validate checks ids are unique and positive and every reference resolves.
func (s *Seed) Validate() error {
	var v seedCheck
	users := v.users(s.Users)
	v.tokens(s.Tokens, users)
	groups := v.groups(s.UserGroups, users)
	v.tags(s.Tags, users, groups)
	v.namespaces(s.UserGroups, s.Tags)
	return errors.Join(v.errs...)
}

// namespaces checks a tag's SME groups live in the tag's team.
func (v *seedCheck) namespaces(groups []SeedGroup, tags []SeedTag) {
	team := map[int]string{}
	for _, g := range groups {
		team[g.ID] = g.Team
	}
	for i, t := range tags {
		for _, id := range t.SMEGroupIDs {
			if gt, ok := team[id]; ok && !sameTeam(gt, t.Team) {
				v.bad("tags[%d] (%s): smeGroupIds: user group %d is in team %q, the tag in team %q", i, t.Name, id, gt, t.Team)
			}
		}
	}
}

// seedCheck collects every problem of a seed, so one run of LoadSeed
// reports them all.
type seedCheck struct{ errs []error }

func (v *seedCheck) bad(format string, a ...any) { v.errs = append(v.errs, fmt.Errorf(format, a...)) }

// ids checks one kind of id is positive and unique; it returns the set.
func (v *seedCheck) ids(kind, field string, ids []int) map[int]bool {
	seen := make(map[int]bool, len(ids))
	for i, id := range ids {
		if id < 1 {
			v.bad("%s[%d]: id %d: must be >= 1", field, i, id)
		}
		if seen[id] {
			v.bad("%s[%d]: duplicate %s id %d", field, i, kind, id)
		}
		seen[id] = true
	}
	return seen
}

// refs checks every id of a reference list names something that exists.
func (v *seedCheck) refs(where, field, kind string, ids []int, known map[int]bool) {
	for _, id := range ids {
		if !known[id] {
			v.bad("%s: %s: no %s %d", where, field, kind, id)
		}
	}
}

func (v *seedCheck) users(users []SeedUser) map[int]bool {
	ids := make([]int, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return v.ids("user", "users", ids)
}

func (v *seedCheck) tokens(tokens []SeedToken, users map[int]bool) {
	seen := map[string]bool{}
	for i, t := range tokens {
		if t.Token == "" {
			v.bad("tokens[%d]: empty token", i)
		}
		if seen[t.Token] {
			v.bad("tokens[%d]: duplicate token", i)
		}
		seen[t.Token] = true
		if t.UserID != 0 && !users[t.UserID] {
			v.bad("tokens[%d]: userId %d: no such user", i, t.UserID)
		}
	}
}

func (v *seedCheck) groups(groups []SeedGroup, users map[int]bool) map[int]bool {
	ids := make([]int, len(groups))
	for i, g := range groups {
		ids[i] = g.ID
		if strings.TrimSpace(g.Name) == "" {
			v.bad("userGroups[%d]: empty name", i)
		}
		v.refs(fmt.Sprintf("userGroups[%d] (%s)", i, g.Name), "userIds", "user", g.UserIDs, users)
	}
	return v.ids("user group", "userGroups", ids)
}

func (v *seedCheck) tags(tags []SeedTag, users, groups map[int]bool) {
	ids := make([]int, len(tags))
	for i, t := range tags {
		ids[i] = t.ID
		if t.Name == "" {
			v.bad("tags[%d]: empty name", i)
		}
		where := fmt.Sprintf("tags[%d] (%s)", i, t.Name)
		v.refs(where, "smeUserIds", "user", t.SMEUserIDs, users)
		v.refs(where, "smeGroupIds", "user group", t.SMEGroupIDs, groups)
	}
	v.ids("tag", "tags", ids)
}

func (e *Emulator) load(s *Seed) {
	for _, t := range s.Tokens {
		if t.UserID == 0 && len(s.Users) > 0 {
			t.UserID = s.Users[0].ID // the token's owner: the first user
		}
		e.tokens[t.Token] = t
	}
	for _, u := range s.Users {
		u := cloneUser(u)
		if u.Role == "" {
			u.Role = "Registered"
		}
		e.users[u.ID] = &u
	}
	for _, g := range s.UserGroups {
		g := SeedGroup{ID: g.ID, Team: g.Team, Name: g.Name, Description: g.Description, UserIDs: dedupe(g.UserIDs)}
		e.groups[g.ID] = &g
		e.nextGroupID = max(e.nextGroupID, g.ID)
	}
	for _, t := range s.Tags {
		t := t
		t.SMEUserIDs, t.SMEGroupIDs = dedupe(t.SMEUserIDs), dedupe(t.SMEGroupIDs)
		e.tags[t.ID] = &t
	}
}

func cloneUser(u SeedUser) SeedUser {
	cp := func(p *string) *string {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	u.ExternalID, u.Department, u.JobTitle = cp(u.ExternalID), cp(u.Department), cp(u.JobTitle)
	if u.AccountID != nil {
		v := *u.AccountID
		u.AccountID = &v
	}
	return u
}

// dedupe returns ids without repeats, first occurrence order, never nil.
func dedupe(ids []int) []int {
	out := make([]int, 0, len(ids))
	seen := make(map[int]bool, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Snapshot returns the current state in seed form (a deep copy).
func (e *Emulator) Snapshot() *Seed {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := &Seed{SMEEnabled: e.sme, Tokens: []SeedToken{}, Users: []SeedUser{}, UserGroups: []SeedGroup{}, Tags: []SeedTag{}}
	toks := make([]string, 0, len(e.tokens))
	for k := range e.tokens {
		toks = append(toks, k)
	}
	slices.Sort(toks)
	for _, k := range toks {
		s.Tokens = append(s.Tokens, e.tokens[k])
	}
	for _, id := range slices.Sorted(maps.Keys(e.users)) {
		s.Users = append(s.Users, cloneUser(*e.users[id]))
	}
	for _, id := range slices.Sorted(maps.Keys(e.groups)) {
		s.UserGroups = append(s.UserGroups, cloneGroup(e.groups[id]))
	}
	for _, id := range slices.Sorted(maps.Keys(e.tags)) {
		t := *e.tags[id]
		t.SMEUserIDs, t.SMEGroupIDs = slices.Clone(t.SMEUserIDs), slices.Clone(t.SMEGroupIDs)
		s.Tags = append(s.Tags, t)
	}
	return s
}

func cloneGroup(g *SeedGroup) SeedGroup {
	c := *g
	c.UserIDs = slices.Clone(g.UserIDs)
	if c.UserIDs == nil {
		c.UserIDs = []int{}
	}
	return c
}

// SaveState writes Snapshot as an indented JSON file readable only by its
// owner (it holds tokens). The write is atomic: a temporary file renamed.
func (e *Emulator) SaveState(path string) error {
	data, err := json.MarshalIndent(e.Snapshot(), "", "  ")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// SetSMEEnabled turns the site's SME feature on or off.
func (e *Emulator) SetSMEEnabled(on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sme = on
}

// SetFaults changes the fault-injection rates (see Options).
func (e *Emulator) SetFaults(faultRate, lostResponseRate float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faultRate, e.lostRate = faultRate, lostResponseRate
}

// AddUser adds or replaces a user, as a person's first SSO login would.
func (e *Emulator) AddUser(u SeedUser) {
	u = cloneUser(u)
	if u.Role == "" {
		u.Role = "Registered"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.users[u.ID] = &u
	e.userOrder = nil
	delete(e.links, u.ID)
}

// SetGroupMembers replaces a group's members, as an admin editing the group
// by hand in the UI would. Unknown group ids are ignored.
func (e *Emulator) SetGroupMembers(groupID int, userIDs []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, ok := e.groups[groupID]; ok {
		g.UserIDs = dedupe(userIDs)
	}
}

// SetTagSMEs replaces the named tag's SMEs (case-insensitive), as an
// admin editing them in the UI would. An unknown tag is ignored.
func (e *Emulator) SetTagSMEs(tagName string, userIDs, groupIDs []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.tags {
		if strings.EqualFold(t.Name, tagName) {
			t.SMEUserIDs, t.SMEGroupIDs = dedupe(userIDs), dedupe(groupIDs)
		}
	}
}

// RenameGroup renames a user group, as an admin editing it in the UI
// would. An unknown id is ignored.
func (e *Emulator) RenameGroup(id int, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if g, ok := e.groups[id]; ok {
		g.Name = name
	}
}

// RenameTag renames a tag, as an admin in the UI would (tag names are
// not unique keys to the API: a cached id may come to name another
// tag). An unknown id is ignored.
func (e *Emulator) RenameTag(id int, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t, ok := e.tags[id]; ok {
		t.Name = name
	}
}

// GroupByName returns the group with that name (case-insensitive; the
// lowest id when several share it).
func (e *Emulator) GroupByName(name string) (SeedGroup, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, id := range slices.Sorted(maps.Keys(e.groups)) {
		if g := e.groups[id]; strings.EqualFold(g.Name, name) {
			return cloneGroup(g), true
		}
	}
	return SeedGroup{}, false
}

// TagSMEs returns the SME user and group ids of the named tag
// (case-insensitive); nil, nil when there is no such tag.
func (e *Emulator) TagSMEs(tagName string) (userIDs, groupIDs []int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.tags {
		if strings.EqualFold(t.Name, tagName) {
			return slices.Clone(t.SMEUserIDs), slices.Clone(t.SMEGroupIDs)
		}
	}
	return nil, nil
}

// Requests returns a copy of the request log.
func (e *Emulator) Requests() []Request {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// Count returns how many logged requests matched method ("" = any) and
// route template (e.g. "/user-groups/{userGroupId}/members").
func (e *Emulator) Count(method, route string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, r := range e.log {
		if r.Route == route && (method == "" || strings.EqualFold(method, r.Method)) {
			n++
		}
	}
	return n
}

// WriteCount returns how many POST, PUT and DELETE requests were served,
// whatever their status, since the last ResetLog.
func (e *Emulator) WriteCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.writes
}

// ResetLog clears the request log and the write counter.
func (e *Emulator) ResetLog() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log, e.writes = nil, 0
}

// sameTeam tells whether a group or tag of namespace team is visible to a
// call made on base URL team c (slugs match case-insensitively, as paths do).
func sameTeam(team, c string) bool { return strings.EqualFold(team, c) }

// groupOf returns the group id in the namespace of the call. Called with
// e.mu held.
func (e *Emulator) groupOf(c *call, id int) (*SeedGroup, bool) {
	g, ok := e.groups[id]
	if !ok || !sameTeam(g.Team, c.team) {
		return nil, false
	}
	return g, true
}

// tagOf returns the tag id in the namespace of the call. Called with e.mu
// held.
func (e *Emulator) tagOf(c *call, id int) (*SeedTag, bool) {
	t, ok := e.tags[id]
	if !ok || !sameTeam(t.Team, c.team) {
		return nil, false
	}
	return t, true
}
