// Package scalegen generates a synthetic company of any size for the scale
// benchmarks: a directory of people and groups, a config mapping each
// group by name or DN to a Teams user group and some groups to SME tags,
// and the Teams site in step with it (the emulator's seed). The same Size
// always gives the same company, so figures taken on different machines
// or branches compare.
package scalegen

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/directory"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// Size is what to generate.
type Size struct {
	Users    int // people, every one with a Teams account
	Groups   int // directory groups
	PerGroup int // members of each group, drawn at random
	Mappings int // explicit from: mappings, one per group from the first (≤ Groups)
	Tags     int // SME tags, each fed by one group and given its Teams group (≤ Mappings)
}

// Memberships is the number of group memberships the size gives.
func (s Size) Memberships() int { return s.Groups * s.PerGroup }

// The names the generated company uses.
const (
	Source   = "corp"
	Token    = "scale-admin"
	BaseDN   = "dc=example,dc=com"
	PeopleDN = "ou=people," + BaseDN
	GroupsDN = "ou=groups," + BaseDN
	// firstTeamsUser is the Teams id of person 0 (1 is the Community user).
	firstTeamsUser = 100
	firstTag       = 1000
)

// Company is one generated company: no more than a syncd process reading
// it would hold, so that a benchmark's memory is syncd's.
type Company struct {
	Size   Size
	Dir    *directory.Directory
	Config *config.Config
}

// UID is person i's directory id (and uid); their address is
// UID@example.com.
func UID(i int) string { return fmt.Sprintf("u%06d", i) }

func personName(i int) string { return fmt.Sprintf("Person %06d", i) }

// person is the number of the person whose directory id is uid.
func person(uid string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(uid, "u"))
	if err != nil {
		panic("scalegen: not a generated uid: " + uid)
	}
	return i
}

// GroupName is group g's directory name (cn).
func GroupName(g int) string { return fmt.Sprintf("grp-%05d", g) }

// TeamsGroupName is the Teams user group group g maps to.
func TeamsGroupName(g int) string { return "Team " + GroupName(g) }

// TagName is tag t's name.
func TagName(t int) string { return fmt.Sprintf("topic-%03d", t) }

// Generate builds the company of size s.
func Generate(s Size) *Company {
	rng := rand.New(rand.NewPCG(uint64(s.Users), uint64(s.Groups)*31+uint64(s.PerGroup)))
	c := &Company{Size: s}
	c.Dir = &directory.Directory{Source: Source, Users: make(map[string]*directory.User, s.Users)}
	uids := make([]string, s.Users)
	for i := range s.Users {
		uid := UID(i)
		uids[i] = uid
		c.Dir.Users[uid] = &directory.User{ID: uid, DN: "uid=" + uid + "," + PeopleDN, Login: uid,
			Name: personName(i), Emails: []string{uid + "@example.com"}}
	}
	for g := range s.Groups {
		members := draw(rng, s.Users, s.PerGroup)
		grp := &directory.Group{Name: GroupName(g), DN: "cn=" + GroupName(g) + "," + GroupsDN,
			DirectMembers: make([]string, len(members))}
		for j, i := range members {
			grp.DirectMembers[j] = uids[i]
		}
		c.Dir.Groups = append(c.Dir.Groups, grp)
	}
	c.Dir.Expand()
	c.Config = c.config()
	return c
}

// draw returns n distinct numbers below max, sorted.
func draw(rng *rand.Rand, max, n int) []int {
	n = min(n, max)
	seen := make(map[int]bool, n)
	out := make([]int, 0, n)
	for len(out) < n {
		if i := rng.IntN(max); !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// config maps the first Mappings groups, half by name and half by DN
// (as people write them), and feeds each tag from one mapped group.
func (c *Company) config() *config.Config {
	cfg := &config.Config{
		Teams:   config.Teams{Token: Token},
		Sources: []config.Source{{Name: Source}},
		Sync:    config.Sync{Membership: "exact", MaxRemovals: 100, MaxRemovalPercent: 25},
	}
	for g := range min(c.Size.Mappings, c.Size.Groups) {
		from := GroupName(g)
		if g%2 == 1 {
			from = c.Dir.Groups[g].DN
		}
		cfg.Groups = append(cfg.Groups, config.Mapping{Source: Source, From: from, To: TeamsGroupName(g)})
	}
	for t := range min(c.Size.Tags, len(cfg.Groups)) {
		cfg.SMEs = append(cfg.SMEs, config.SME{Tag: TagName(t),
			UsersFrom: []config.GroupRef{{Source: Source, Group: GroupName(t)}},
			Groups:    []string{TeamsGroupName(t)}})
	}
	return cfg
}

// TeamsID is person i's Teams user id.
func TeamsID(i int) int { return firstTeamsUser + i }

// teamsGroupID is the Teams id of group g's user group in the steady seed.
func teamsGroupID(g int) int { return 1 + g }

// ColdSeed is the Teams site before the first sync: every person has an
// account and the tags exist, without SMEs; there is no user group.
func (c *Company) ColdSeed() *emulator.Seed {
	seed := &emulator.Seed{SMEEnabled: true,
		Tokens: []emulator.SeedToken{{Token: Token, Admin: true, Write: true, UserID: 1}},
		Users:  make([]emulator.SeedUser, 0, 1+c.Size.Users)}
	seed.Users = append(seed.Users, emulator.SeedUser{ID: 1, Name: "Community", Role: "Moderator"})
	for i := range c.Size.Users {
		seed.Users = append(seed.Users, emulator.SeedUser{ID: TeamsID(i), Name: personName(i),
			Email: UID(i) + "@example.com", Role: "Registered"})
	}
	for t := range c.Config.SMEs {
		seed.Tags = append(seed.Tags, emulator.SeedTag{ID: firstTag + t, Name: TagName(t),
			SMEUserIDs: []int{}, SMEGroupIDs: []int{}})
	}
	return seed
}

// SteadySeed is the Teams site in step with the directory: a sync finds
// nothing to do.
func (c *Company) SteadySeed() *emulator.Seed {
	seed := c.ColdSeed()
	for g := range c.Config.Groups {
		seed.UserGroups = append(seed.UserGroups, emulator.SeedGroup{ID: teamsGroupID(g), Name: TeamsGroupName(g),
			UserIDs: c.teamsIDs(g)})
	}
	for t := range seed.Tags {
		seed.Tags[t].SMEUserIDs = c.teamsIDs(t)
		seed.Tags[t].SMEGroupIDs = []int{teamsGroupID(t)}
	}
	return seed
}

// teamsIDs are the Teams ids of group g's members.
func (c *Company) teamsIDs(g int) []int {
	members := c.Dir.Groups[g].Members
	ids := make([]int, len(members))
	for j, uid := range members {
		ids[j] = TeamsID(person(uid))
	}
	return ids
}
