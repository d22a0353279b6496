package scim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The test SCIM peer: scimmy + scimmy-routers with an in-memory store
// (testdata/scimpeer/server.js), a real SCIM 2.0 service provider.

const peerToken = "peer-token-0123456789"

type seedUser struct {
	ID          string      `json:"id"`
	UserName    string      `json:"userName"`
	ExternalID  string      `json:"externalId,omitempty"`
	DisplayName string      `json:"displayName,omitempty"`
	Active      bool        `json:"active"`
	Emails      []seedEmail `json:"emails,omitempty"`
}

type seedEmail struct {
	Value   string `json:"value"`
	Type    string `json:"type,omitempty"`
	Primary bool   `json:"primary,omitempty"`
}

type seedGroup struct {
	ID          string       `json:"id"`
	DisplayName string       `json:"displayName"`
	Members     []seedMember `json:"members,omitempty"`
}

type seedMember struct {
	Value string `json:"value"`
	Type  string `json:"type,omitempty"`
}

type seed struct {
	Users  []seedUser  `json:"users"`
	Groups []seedGroup `json:"groups"`
}

type peer struct {
	URL string // SCIM base, .../scim/v2
	cmd *exec.Cmd
}

// Kill stops the server at once (a crash, as far as clients can tell).
func (p *peer) Kill() {
	_ = p.cmd.Process.Kill()
	_, _ = p.cmd.Process.Wait()
}

var npmOnce sync.Once
var npmErr error

// peerDir returns testdata/scimpeer with its node_modules installed.
func peerDir(tb testing.TB) string {
	tb.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "scimpeer"))
	if err != nil {
		tb.Fatal(err)
	}
	need := []string{"node"}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "scimmy-routers")); err != nil {
		need = append(need, "npm")
	}
	for _, bin := range need {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("SYNCD_REQUIRE_SERVERS") == "" {
				tb.Skipf("%s not on PATH: SCIM peer tests skipped (set SYNCD_REQUIRE_SERVERS to make this a failure)", bin)
			}
			tb.Fatalf("%s not on PATH and SYNCD_REQUIRE_SERVERS is set: %v", bin, err)
		}
	}
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "scimmy-routers")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			npmErr = fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
		}
	})
	if npmErr != nil {
		tb.Fatal(npmErr)
	}
	return dir
}

// startPeer runs server.js on a free loopback port with s preloaded and
// the given extra environment (SCIM_MAX_PAGE, SCIM_LIE_TOTAL).
func startPeer(tb testing.TB, s *seed, env ...string) *peer {
	tb.Helper()
	dir := peerDir(tb)
	seedPath := filepath.Join(tb.TempDir(), "seed.json")
	data, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(seedPath, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("node", "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"SCIM_PORT=0", "SCIM_TOKEN=" + peerToken, "SCIM_SEED=" + seedPath}, env...)...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start SCIM peer: %v", err)
	}
	p := &peer{cmd: cmd}
	tb.Cleanup(p.Kill)
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- rest
			}
		}
	}()
	select {
	case pt := <-port:
		p.URL = "http://127.0.0.1:" + pt + "/scim/v2"
	case <-time.After(20 * time.Second):
		tb.Fatal("SCIM peer did not start within 20s")
	}
	return p
}

// genSeed builds users and groups: every 7th user inactive, users with
// several e-mails (primary not first), groups nesting in chains with one
// cycle, some members that do not exist.
func genSeed(nUsers, nGroups int) *seed {
	s := &seed{}
	for i := range nUsers {
		u := seedUser{
			ID:          fmt.Sprintf("u%05d", i),
			UserName:    fmt.Sprintf("user%d@corp.example", i),
			ExternalID:  fmt.Sprintf("ext-%d", i),
			DisplayName: fmt.Sprintf("User %d", i),
			Active:      i%7 != 3,
		}
		switch i % 3 {
		case 0:
			u.Emails = []seedEmail{{Value: fmt.Sprintf("U%d.alias@Corp.example", i), Type: "other"}, {Value: fmt.Sprintf("User%d@Corp.example", i), Type: "work", Primary: true}}
		case 1:
			u.Emails = []seedEmail{{Value: fmt.Sprintf("user%d@corp.example", i), Type: "work"}}
		}
		s.Users = append(s.Users, u)
	}
	for j := range nGroups {
		g := seedGroup{ID: fmt.Sprintf("g%04d", j), DisplayName: fmt.Sprintf("group-%d", j)}
		for k := range 12 {
			g.Members = append(g.Members, seedMember{Value: s.Users[(j*11+k*5)%nUsers].ID, Type: "User"})
		}
		if j%10 != 9 && j+1 < nGroups { // chains of ten groups
			g.Members = append(g.Members, seedMember{Value: fmt.Sprintf("g%04d", j+1), Type: "Group"})
		}
		if j == 9 { // closes a cycle g0000 -> ... -> g0009 -> g0000
			g.Members = append(g.Members, seedMember{Value: "g0000", Type: "Group"})
		}
		if j%25 == 0 {
			g.Members = append(g.Members, seedMember{Value: "deleted-user", Type: "User"})
		}
		s.Groups = append(s.Groups, g)
	}
	return s
}

// wantMembers computes the expected expanded membership of every group
// straight from the seed (independently of directory.Expand).
func wantMembers(s *seed, nested bool) map[string][]string {
	active := map[string]bool{}
	for _, u := range s.Users {
		active[u.ID] = u.Active
	}
	byID := map[string]seedGroup{}
	for _, g := range s.Groups {
		byID[g.ID] = g
	}
	out := map[string][]string{}
	for _, g := range s.Groups {
		set := map[string]bool{}
		var walk func(id string, seen map[string]bool)
		walk = func(id string, seen map[string]bool) {
			if seen[id] {
				return
			}
			seen[id] = true
			for _, m := range byID[id].Members {
				if m.Type == "Group" && nested {
					walk(m.Value, seen)
				} else if m.Type == "User" && active[m.Value] {
					set[m.Value] = true
				}
			}
		}
		walk(g.ID, map[string]bool{})
		var ids []string
		for id := range set {
			ids = append(ids, id)
		}
		out[g.DisplayName] = ids
	}
	return out
}
