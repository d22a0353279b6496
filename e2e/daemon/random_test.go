package daemon

import (
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/teams/emulator"
)

// What the randomized end-to-end tests share: their seed and rounds, and
// the bounds Teams must keep while a round of changes goes on.

// seedAndRounds reads a test's seed and round count from the environment.
func seedAndRounds(t *testing.T, seedVar, roundsVar string) (uint64, int) {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(seedVar); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s: %v", seedVar, err)
		}
	}
	rounds := 3
	if s := os.Getenv(roundsVar); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (%s=%d replays it)", seed, seedVar, seed)
	return seed, rounds
}

// bounds are what Teams may hold while a round goes on: each group at
// most the people who were members at some point (ever), at least those
// who were members throughout (always).
type bounds struct{ ever, always map[string]map[int]bool }

func newBounds(c company) *bounds {
	b := &bounds{ever: map[string]map[int]bool{}, always: map[string]map[int]bool{}}
	for name, ids := range c {
		b.ever[name], b.always[name] = map[int]bool{}, map[int]bool{}
		for _, id := range ids {
			b.always[name][id] = true
		}
	}
	b.see(c)
	return b
}

func (b *bounds) see(c company) {
	for name, ids := range c {
		for _, id := range ids {
			b.ever[name][id] = true
		}
		maps.DeleteFunc(b.always[name], func(id int, _ bool) bool { return !slices.Contains(ids, id) })
	}
}

// check fails the test when a Teams group holds someone never a member
// during the round, or lacks someone a member throughout.
func (b *bounds) check(t *testing.T, emu *emulator.Emulator, history []string) {
	t.Helper()
	for name := range b.ever {
		ids, ok := teamsMembers(emu, name)
		if !ok {
			t.Fatalf("no %q in Teams", name)
		}
		for _, id := range ids {
			if !b.ever[name][id] {
				t.Fatalf("%s holds user %d, never a member during the round; changes: %s", name, id, strings.Join(history, "; "))
			}
		}
		for id := range b.always[name] {
			if !slices.Contains(ids, id) {
				t.Fatalf("%s lacks user %d, a member throughout the round; changes: %s", name, id, strings.Join(history, "; "))
			}
		}
	}
}
