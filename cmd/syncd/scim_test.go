package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/scimserver"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// scimServer is a SCIM 2.0 endpoint of syncd's own receiver, served the
// way `syncd run` serves it, on a store under stateDir.
type scimServer struct {
	t     *testing.T
	srv   *httptest.Server
	base  string // .../scim/<name>/v2
	token string
}

func serveSCIM(t *testing.T, stateDir, name, token string) *scimServer {
	t.Helper()
	store, err := scimserver.OpenStore(scimserver.StorePath(stateDir, name))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/scim/"+name+"/v2/", scimserver.NewHandler(name, store, token, nil, zap.NewNop()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &scimServer{t: t, srv: srv, base: srv.URL + "/scim/" + name + "/v2", token: token}
}

// do sends one SCIM request and checks its status; it may run on any
// goroutine (it reports with Errorf).
func (s *scimServer) do(method, path, body string, want int) map[string]any {
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Error(err)
		return nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != want {
		s.t.Errorf("%s %s = %d, want %d: %v", method, path, resp.StatusCode, want, out)
	}
	return out
}

func (s *scimServer) user(email string) string {
	u := s.do("POST", "/Users", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": %q,
		"emails": [{"value": %q, "type": "work", "primary": true}], "active": true}`, email, email), http.StatusCreated)
	id, _ := u["id"].(string)
	return id
}

func (s *scimServer) group(name string, members ...string) string {
	var refs []string
	for _, m := range members {
		refs = append(refs, fmt.Sprintf(`{"value": %q}`, m))
	}
	g := s.do("POST", "/Groups", fmt.Sprintf(`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": %q, "members": [%s]}`,
		name, strings.Join(refs, ",")), http.StatusCreated)
	id, _ := g["id"].(string)
	return id
}

// writeConfig writes dir/config.yaml: the emulator at teamsURL with an
// admin token, then rest (sources, groups, sync).
func writeConfig(t *testing.T, dir, teamsURL, rest string) string {
	t.Helper()
	return writeTestFile(t, filepath.Join(dir, "config.yaml"), "teams:\n  url: "+teamsURL+"/v3/teams/acme\n  token: admin-token\n"+
		rest+"log: {level: warn, format: console}\n", 0o644)
}

const adaLDIF = `dn: uid=ada,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ada
cn: Ada
sn: A
mail: ada@example.com

dn: cn=platform,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: platform
member: uid=ada,ou=people,dc=example,dc=com
`

// TestSyncReadsSCIMReceiverWhileServing: `syncd sync` reads what the SCIM
// endpoint stored while that endpoint keeps receiving (as when `syncd run`
// serves it), and a Teams group fed by an LDIF group and a SCIM group gets
// the union of both.
func TestSyncReadsSCIMReceiverWhileServing(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	idp := serveSCIM(t, stateDir, "entra", "scim-secret-token")
	carl, rita := idp.user("Carl@Example.com"), idp.user("rita@example.com")
	eng := idp.group("Platform Engineers", carl, rita)
	noise := idp.group("Noise")

	emu, err := emulator.New(emulatorSeed(), emulator.Options{NoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	teamsSrv := httptest.NewServer(spectest.Wrap(t, emu))
	t.Cleanup(teamsSrv.Close)
	writeTestFile(t, filepath.Join(dir, "directory.ldif"), adaLDIF, 0o644)
	writeTestFile(t, filepath.Join(dir, "scim-token"), "scim-secret-token\n", 0o600)
	cfg := writeConfig(t, dir, teamsSrv.URL, `sources:
  - name: corp
    ldif: {path: directory.ldif, users: {base_dn: "ou=people,dc=example,dc=com"}}
  - name: entra
    scim_receiver: {token_file: scim-token}
groups:
  - {source: corp, from: platform, to: Platform}
  - {source: entra, from: Platform Engineers, to: Platform}
sync: {state_dir: state, max_removal_percent: 100}
`)

	// The identity provider keeps changing another group during the syncs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			op := []string{"Add", "Remove"}[i%2]
			idp.do("PATCH", "/Groups/"+noise, fmt.Sprintf(`{"Operations": [{"op": %q, "path": "members", "value": [{"value": %q}]}]}`, op, carl), http.StatusNoContent)
			writes.Add(1)
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--check"); code != exitcode.Pending || !strings.Contains(out, "rita@example.com") {
		t.Fatalf("sync --check: exit %d, want 3 with rita to add\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--apply")
	if code != exitcode.OK {
		t.Fatalf("sync --apply: exit %d\n%s\n%s", code, out, errOut)
	}
	if writes.Load() == 0 {
		t.Error("the receiver stored nothing while the syncs read it")
	}
	// Teams had ada (2) and carl (4); the union adds rita (3).
	if got := groupMembers(t, emu, "Platform"); !slices.Equal(got, []int{2, 3, 4}) {
		t.Fatalf("Platform = %v, want ada (LDIF), carl and rita (SCIM)", got)
	}

	// The provider removes carl; the next sync removes him from Teams.
	idp.do("PATCH", "/Groups/"+eng, fmt.Sprintf(`{"Operations": [{"op": "Remove", "path": "members[value eq \"%s\"]"}]}`, carl), http.StatusNoContent)
	if code, out, errOut := runCmd(t, nil, "sync", "--config", cfg, "--apply"); code != exitcode.OK {
		t.Fatalf("second sync: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := groupMembers(t, emu, "Platform"); !slices.Equal(got, []int{2, 3}) {
		t.Errorf("Platform = %v, want ada and rita", got)
	}
	if strings.Contains(out+errOut, "scim-secret-token") {
		t.Error("the receiver token was printed")
	}
}

func groupMembers(t *testing.T, emu *emulator.Emulator, name string) []int {
	t.Helper()
	g, ok := emu.GroupByName(name)
	if !ok {
		t.Fatalf("no group %q in Teams", name)
	}
	ids := slices.Clone(g.UserIDs)
	slices.Sort(ids)
	return ids
}

// TestValidateConnectSCIM: `validate --connect` reads a scim: source and
// says how many users and groups it found, or why it could not: a token
// the provider refuses, a URL that is not the SCIM base, a provider that
// is down. A scim_receiver source is read from its store.
func TestValidateConnectSCIM(t *testing.T) {
	teamsSrv := checkedEmulator(t, false)
	stateDir := filepath.Join(t.TempDir(), "state")
	idp := serveSCIM(t, stateDir, "idp", "idp-token")
	ids := []string{idp.user("ada@example.com"), idp.user("carl@example.com"), idp.user("nobody@example.com")}
	idp.group("Platform Engineers", ids[:2]...)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	for _, tc := range []struct {
		name, url, token string
		code             int
		out, errOut      string
	}{
		{"reachable, token accepted", idp.base, "idp-token", exitcode.OK, "source idp: 3 users, 1 group (0 unknown)", ""},
		{"token refused", idp.base, "wrong-token", exitcode.Failure, "", "HTTP 401: bearer token rejected"},
		{"not the SCIM base", idp.srv.URL + "/scim/v2", "idp-token", exitcode.Failure, "", "HTTP 404: not found"},
		{"provider down", down.URL + "/scim/v2", "idp-token", exitcode.Failure, "", "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestFile(t, filepath.Join(dir, "scim-token"), tc.token+"\n", 0o600)
			cfg := writeConfig(t, dir, teamsSrv.URL, `sources:
  - name: idp
    scim: {url: "`+tc.url+`", token_file: scim-token}
groups:
  - {source: idp, from: Platform Engineers, to: Platform}
`)
			code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", cfg)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.errOut) {
				t.Errorf("exit %d, want %d with %q / %q\nstdout: %s\nstderr: %s", code, tc.code, tc.out, tc.errOut, out, errOut)
			}
			if tc.errOut != "" && !strings.Contains(errOut, "source idp") {
				t.Errorf("the error does not name the source:\n%s", errOut)
			}
			if strings.Contains(out+errOut, tc.token) {
				t.Errorf("output shows the token %q", tc.token)
			}
		})
	}

	t.Run("scim_receiver", func(t *testing.T) {
		dir := filepath.Dir(stateDir)
		writeTestFile(t, filepath.Join(dir, "idp-token"), "idp-token\n", 0o600)
		cfg := writeConfig(t, dir, teamsSrv.URL, `sources:
  - name: idp
    scim_receiver: {token_file: idp-token}
groups:
  - {source: idp, from: Platform Engineers, to: Platform}
sync: {state_dir: state}
`)
		code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", cfg)
		if code != exitcode.OK || !strings.Contains(out, "source idp: 3 users, 1 group (0 unknown)") {
			t.Errorf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
		}
	})
}
