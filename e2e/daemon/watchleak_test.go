package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// A daemon follows a directory for weeks: thousands of changes, and the
// network between it and the directory failing now and then. Neither may
// leave goroutines or open files behind. After a warm-up, many more
// changes (each applied before the next), with syncd's connection to
// slapd cut in the middle of an answer every eighth one, leave both counts
// where they were.
func TestWatchLeavesNothingBehind(t *testing.T) {
	requireBinary(t)
	w := slapdWatch(t)
	emu, hs := teamstest.NewServer(t, watchSeed(), emulator.Options{})
	dir := t.TempDir()
	listen := freeAddr(t)
	path := filepath.Join(dir, "config.yaml")
	must(t, os.WriteFile(path, []byte(watchConfig(hs.URL+"/v3/teams/"+team, w, w.passwordFile(t, dir), listen, filepath.Join(dir, "state"), true)), 0o600))
	d := startDaemon(t, path, listen, "--apply")
	want := company{}
	want.set("Platform", id("alice"), id("bob"))
	want.set("Engineering", id("alice"), id("bob"), id("erin"))
	d.expect(emu, "the first full run", want)
	d.waitLong("the feed to follow", func() bool { return d.metric("syncd_watch_connected", `source="corp"`) == 1 })
	c := w.admin(t)
	defer c.Close()

	// Dave joins platform (and so eng) and leaves it again, in turn.
	toggle := func(i int) {
		if i%8 == 3 {
			w.blink()
		}
		if i%2 == 0 {
			change(t, c, w.group("platform"), func(m *goldap.ModifyRequest) { m.Add("member", []string{w.person("dave")}) })
			want.with("Platform", id("dave"))
			want.with("Engineering", id("dave"))
		} else {
			change(t, c, w.group("platform"), func(m *goldap.ModifyRequest) { m.Delete("member", []string{w.person("dave")}) })
			want.without("Platform", id("dave"))
			want.without("Engineering", id("dave"))
		}
		d.expect(emu, "change "+string(rune('0'+i%10)), want)
	}
	// settled is the least of a few samples: an HTTP connection being
	// set up or closed, or a change set under way, adds a few for a moment.
	settled := func(name string) float64 {
		least := d.metric(name)
		for range 10 {
			time.Sleep(200 * time.Millisecond)
			least = min(least, d.metric(name))
		}
		return least
	}
	// The feed's reconnects back off (1 s, doubling) and a feed cut every
	// few seconds never runs long enough to start afresh: a few cuts.
	const warmUp, measured = 6, 24
	for i := range warmUp {
		toggle(i)
	}
	goroutines, fds := settled("go_goroutines"), settled("process_open_fds")
	for i := warmUp; i < warmUp+measured; i++ {
		toggle(i)
	}
	g2, f2 := settled("go_goroutines"), settled("process_open_fds")
	t.Logf("after %d changes and %d cuts: goroutines %v -> %v, open files %v -> %v", measured, measured/8, goroutines, g2, fds, f2)
	if g2 > goroutines+8 {
		t.Errorf("goroutines grew from %v to %v over %d changes", goroutines, g2, measured)
	}
	if f2 > fds+4 {
		t.Errorf("open files grew from %v to %v over %d changes", fds, f2, measured)
	}
}
