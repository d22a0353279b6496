package daemon

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/source/ldap/servertest"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// The directory of the benchmark: benchUsers people in benchGroups groups
// of benchPerGroup members, every fifth group holding the next two; and
// benchChanges people in no group, each added to one group by one change.
const (
	benchUsers    = 10_000
	benchGroups   = 500
	benchPerGroup = 80
	benchChanges  = 100
	benchLatency  = 100 * time.Millisecond // the emulator's answer time, about the real API's
)

func benchMember(g, k int) int { return (g*37 + k*131) % benchUsers }

// benchLDIF writes the directory for slapadd.
func benchLDIF(b *testing.B) string {
	path := filepath.Join(b.TempDir(), "watch-bench.ldif")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintf(w, "dn: %s\nobjectClass: organizationalUnit\nou: people\n\n", peopleDN)
	fmt.Fprintf(w, "dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n", groupsDN)
	person := func(uid string) {
		fmt.Fprintf(w, "dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s@example.com\n\n", uid, peopleDN, uid, uid, uid, uid)
	}
	for i := range benchUsers {
		person(fmt.Sprintf("user%d", i))
	}
	for i := range benchChanges {
		person(fmt.Sprintf("extra%d", i))
	}
	for g := range benchGroups {
		fmt.Fprintf(w, "dn: cn=group%d,%s\nobjectClass: groupOfNames\ncn: group%d\n", g, groupsDN, g)
		for k := range benchPerGroup {
			fmt.Fprintf(w, "member: uid=user%d,%s\n", benchMember(g, k), peopleDN)
		}
		if g%5 == 0 {
			fmt.Fprintf(w, "member: cn=group%d,%s\nmember: cn=group%d,%s\n", (g+1)%benchGroups, groupsDN, (g+2)%benchGroups, groupsDN)
		}
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchSeed is Teams already in step with the directory: every person
// has an account (user i is id 100+i, extra i is 20000+i) and each group
// its members, nested ones included.
func benchSeed() *emulator.Seed {
	s := &emulator.Seed{Tokens: []emulator.SeedToken{{Token: tokenRW, Admin: true, Write: true, Team: team}}}
	s.Users = append(s.Users, emulator.SeedUser{ID: 1, Name: "Community"})
	for i := range benchUsers {
		s.Users = append(s.Users, emulator.SeedUser{ID: 100 + i, Name: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i)})
	}
	for i := range benchChanges {
		s.Users = append(s.Users, emulator.SeedUser{ID: 20000 + i, Name: fmt.Sprintf("extra%d", i), Email: fmt.Sprintf("extra%d@example.com", i)})
	}
	direct := func(g int) []int {
		var ids []int
		for k := range benchPerGroup {
			ids = append(ids, 100+benchMember(g, k))
		}
		return ids
	}
	for g := range benchGroups {
		ids := direct(g)
		if g%5 == 0 {
			ids = append(append(ids, direct((g+1)%benchGroups)...), direct((g+2)%benchGroups)...)
		}
		slices.Sort(ids)
		s.UserGroups = append(s.UserGroups, emulator.SeedGroup{ID: 1000 + g, Name: fmt.Sprintf("Team group%d", g), UserIDs: slices.Compact(ids)})
	}
	return s.InTeam(team)
}

// BenchmarkWatchLatency measures watch mode end to end on 10,000 users and
// 500 groups: `syncd run --apply` with sync.watch and watch_delay 2s over
// slapd with syncprov (syncrepl) and the emulator (answering in 100 ms),
// then 100 single changes, each one ldapmodify adding a person to a group
// no other group nests. For each it times ldapmodify's start to the member
// visible in the emulator, and counts the API calls of its change set. It
// prints p50, p95 and max beside the goal (p95 ≤ 10 s) and the calls per
// change beside theirs (≤ 3: the group's fresh read, one write, one
// lookup of a person not matched before). Run it with -benchtime 1x: one
// iteration is the 100 changes (about four minutes).
func BenchmarkWatchLatency(b *testing.B) {
	requireBinary(b)
	ldapmodify, err := exec.LookPath("ldapmodify")
	if err != nil {
		servertest.Missing(b, "ldapmodify not installed (apt-get install ldap-utils)")
	}
	srv := slapdtest.Start(b, slapdtest.Options{LDIFFile: benchLDIF(b), SyncProv: true})
	emu, hs := teamstest.NewServer(b, benchSeed(), emulator.Options{Latency: benchLatency})
	dir := b.TempDir()
	listen := freeAddr(b)
	cfg := fmt.Sprintf(`teams: {url: %s/v3/teams/%s, token: "${SYNCD_E2E_TOKEN}"}
sources:
  - name: corp
    ldap:
      url: %s
      bind_dn: %s
      bind_password: ${SYNCD_E2E_LDAP_PASSWORD}
      users: {base_dn: "%s"}
      groups: {base_dn: "%s"}
groups:
  - {source: corp, match: "group*", to: "Team {name}"}
sync: {schedule: "@every 24h", state_dir: %s, watch: true, watch_delay: 2s}
server: {listen: %s}
log: {level: warn}
`, hs.URL, team, srv.URL, slapdtest.ReaderDN, peopleDN, groupsDN, filepath.Join(dir, "state"), listen)
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	d := startDaemon(b, path, listen, "--apply")
	d.waitLong("the first full run and the feed", func() bool {
		return d.successes() >= 1 && d.metric("syncd_watch_connected", `source="corp"`) == 1
	})
	d.waitLong("the start's comparison", func() bool { return d.metric("syncd_change_apply_seconds_count") >= 1 })
	b.ResetTimer()
	for range b.N {
		latencies, calls := watchChanges(b, d, emu, ldapmodify, srv.URL)
		b.StopTimer()
		reportWatch(b, latencies, calls)
		b.StartTimer()
	}
}

// watchChanges makes the benchmark's changes one by one and returns the
// time each took to reach Teams and the API calls of its change set.
func watchChanges(b *testing.B, d *daemon, emu *emulator.Emulator, ldapmodify, url string) ([]time.Duration, []int) {
	var latencies []time.Duration
	var calls []int
	applied := d.metric("syncd_change_apply_seconds_count")
	for i := range benchChanges {
		g := 5*(i%(benchGroups/5)) + 3 // a group no other group holds
		ldif := fmt.Sprintf("dn: cn=group%d,%s\nchangetype: modify\nadd: member\nmember: uid=extra%d,%s\n", g, groupsDN, i, peopleDN)
		emu.ResetLog()
		start := time.Now()
		cmd := exec.Command(ldapmodify, "-x", "-H", url, "-D", slapdtest.RootDN, "-w", slapdtest.RootPW)
		cmd.Stdin = strings.NewReader(ldif)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("ldapmodify: %v\n%s", err, out)
		}
		d.waitLong(fmt.Sprintf("change %d in Teams", i), func() bool {
			grp, _ := emu.GroupByName(fmt.Sprintf("Team group%d", g))
			return slices.Contains(grp.UserIDs, 20000+i)
		})
		latencies = append(latencies, time.Since(start))
		applied++
		d.waitLong("the change set's end", func() bool { return d.metric("syncd_change_apply_seconds_count") >= applied })
		calls = append(calls, len(emu.Requests()))
	}
	return latencies, calls
}

// reportWatch prints the figures beside the goals and reports them.
func reportWatch(b *testing.B, latencies []time.Duration, calls []int) {
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1)+0.5)] }
	total, most := 0, 0
	for _, c := range calls {
		total += c
		most = max(most, c)
	}
	mean := float64(total) / float64(len(calls))
	b.Logf("%d single changes, ldapmodify to visible in Teams: p50 %.2f s, p95 %.2f s (goal ≤ 10 s), max %.2f s",
		len(latencies), pct(0.50).Seconds(), pct(0.95).Seconds(), latencies[len(latencies)-1].Seconds())
	b.Logf("API calls per single-member change: mean %.2f, max %d (goal ≤ 3)", mean, most)
	b.ReportMetric(pct(0.50).Seconds(), "p50-s")
	b.ReportMetric(pct(0.95).Seconds(), "p95-s")
	b.ReportMetric(latencies[len(latencies)-1].Seconds(), "max-s")
	b.ReportMetric(mean, "calls/change")
	b.ReportMetric(float64(most), "max-calls/change")
}
