package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/dump"
	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/scimserver"
	"github.com/syncd/syncd/internal/source/ldap"
	"github.com/syncd/syncd/internal/source/ldap/adtest"
	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// ldapDumpConfig writes a config whose source "corp" is the slapd server.
func ldapDumpConfig(t *testing.T, url string) string {
	t.Helper()
	return ldapConfig(t, url, "https://api.stackoverflowteams.com/v3/teams/acme", "tok", slapdtest.ReaderPW)
}

func ldapConfig(t *testing.T, url, teamsURL, token, password string) string {
	t.Helper()
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "ldap-password"), password+"\n", 0o600)
	writeTestFile(t, filepath.Join(dir, "token"), token+"\n", 0o600)
	return writeTestFile(t, filepath.Join(dir, "config.yaml"), `teams:
  url: `+teamsURL+`
  token_file: token
sources:
  - name: corp
    ldap:
      url: `+url+`
      bind_dn: `+slapdtest.ReaderDN+`
      bind_password_file: ldap-password
      users:
        base_dn: ou=people,dc=example,dc=com
      groups:
        base_dn: ou=groups,dc=example,dc=com
        nested: true
groups:
  - {source: corp, from: platform, to: Platform}
log: {level: warn, format: console}
`, 0o644)
}

func TestSourceDumpAgainstSlapd(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := ldapDumpConfig(t, srv.URL)

	code, out, errOut := runCmd(t, nil, "source", "dump", "--config", cfg, "--format", "json")
	if code != exitcode.OK {
		t.Fatalf("json dump: exit %d, stderr %s", code, errOut)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if keys := slices.Sorted(maps.Keys(raw)); !slices.Equal(keys, []string{"groups", "users"}) {
		t.Errorf("top-level keys %v, want [groups users]", keys)
	}
	for _, g := range raw["groups"].([]any) {
		gm := g.(map[string]any)
		if keys := slices.Sorted(maps.Keys(gm)); !slices.Equal(keys, []string{"dn", "members", "name"}) {
			t.Errorf("group keys %v, want [dn members name]", keys)
		}
		for _, m := range gm["members"].([]any) {
			if keys := slices.Sorted(maps.Keys(m.(map[string]any))); !slices.Equal(keys, []string{"email", "id", "name"}) {
				t.Errorf("member keys %v, want [email id name]", keys)
			}
		}
	}
	var d dump.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.Users != 6 || len(d.Groups) != 7 {
		t.Errorf("users %d groups %d, want 6 and 7", d.Users, len(d.Groups))
	}
	emails := func(name string) []string {
		for _, g := range d.Groups {
			if g.Name == name {
				var es []string
				for _, m := range g.Members {
					es = append(es, m.Email)
				}
				return es
			}
		}
		t.Fatalf("group %s missing from the dump", name)
		return nil
	}
	if got, want := emails("platform"), []string{"", "alice@example.com", "jsmith@example.com", "multi@example.com"}; !slices.Equal(got, want) {
		t.Errorf("platform = %q, want %q", got, want)
	}
	if got, want := emails("level1"), []string{"alice@example.com", "bob@example.com", "zoe@example.com"}; !slices.Equal(got, want) {
		t.Errorf("level1 (nested, with a cycle) = %q, want %q", got, want)
	}

	code, out, errOut = runCmd(t, map[string]string{"SYNCD_CONFIG": cfg}, "source", "dump", "--source", "corp")
	if code != exitcode.OK {
		t.Fatalf("text dump: exit %d, stderr %s", code, errOut)
	}
	for _, want := range []string{
		"source corp: 6 users (1 without e-mail), 7 groups (0 unknown)",
		"platform  (cn=platform,ou=groups,dc=example,dc=com)",
		"4 members, 1 member reference ignored",
		"level1  (cn=level1,ou=groups,dc=example,dc=com)\n  3 members, nested groups: level2",
		"Zoë Ångström",
		"users without e-mail",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text dump lacks %q:\n%s", want, out)
		}
	}
}

func TestSourceDumpFailures(t *testing.T) {
	cfg := ldapDumpConfig(t, "ldap://127.0.0.1:1")
	code, out, errOut := runCmd(t, nil, "source", "dump", "--config", cfg, "--format", "json")
	if code != exitcode.Failure || out != "" || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("unreachable server: exit %d, stdout %q, stderr %q; want 1, nothing printed, the server named", code, out, errOut)
	}
	for _, args := range [][]string{
		{"source"},
		{"source", "list"},
		{"source", "dump", "--config", cfg, "--format", "yaml"},
		{"source", "dump", "--config", cfg, "--source", "nope"},
	} {
		if code, _, errOut := runCmd(t, nil, args...); code != exitcode.Usage || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 with a message", args, code, errOut)
		}
	}
}

// TestValidateConnectLDAP: validate --connect binds to the LDAP source and
// reports its counts, or the exact reason it could not.
func TestValidateConnectLDAP(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	_, teamsSrv := teamstest.NewServer(t, emulatorSeed(), emulator.Options{})
	teamsURL := teamsSrv.URL + "/v3/teams/acme"

	code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", ldapConfig(t, srv.URL, teamsURL, "admin-token", slapdtest.ReaderPW))
	if code != exitcode.OK || !strings.Contains(out, "source corp: 6 users, 7 groups (0 unknown)") {
		t.Errorf("good password: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "validate", "--connect", "--config", ldapConfig(t, srv.URL, teamsURL, "admin-token", "wrong-secret"))
	if code != exitcode.Failure || !strings.Contains(errOut, "Invalid Credentials") || !strings.Contains(errOut, slapdtest.ReaderDN) || strings.Contains(errOut+out, "wrong-secret") {
		t.Errorf("wrong password: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "validate", "--connect", "--config", ldapConfig(t, "ldap://127.0.0.1:1", teamsURL, "admin-token", slapdtest.ReaderPW))
	if code != exitcode.Failure || !strings.Contains(errOut, "ldap://127.0.0.1:1") {
		t.Errorf("unreachable: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// With sync.watch, the change feed the daemon would follow; one asked
	// for by name that this slapd (no syncprov) does not offer is refused.
	watching := func(feed string) string {
		path := ldapConfig(t, srv.URL, teamsURL, "admin-token", slapdtest.ReaderPW)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Replace(string(data), "        nested: true\n", "        nested: true\n      watch: {feed: "+feed+"}\n", 1) + "sync: {watch: true}\n"
		return writeTestFile(t, path, text, 0o600)
	}
	code, out, errOut = runCmd(t, nil, "validate", "--connect", "--config", watching("auto"))
	if code != exitcode.OK || !strings.Contains(out, "source corp: change feed: modify_timestamp (auto)") {
		t.Errorf("watch, feed auto: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = runCmd(t, nil, "validate", "--connect", "--config", watching("persistent_search"))
	if code != exitcode.Failure || !strings.Contains(errOut, "change feed persistent_search: the server does not offer it") {
		t.Errorf("watch, feed persistent_search on slapd: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// A scim_receiver source is dumped from what its endpoint stored, so an
// admin can see what Entra ID or Okta pushed without the daemon's help.
func TestSourceDumpReadsSCIMReceiverStore(t *testing.T) {
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	store, err := scimserver.OpenStore(scimserver.StorePath(stateDir, "entra"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(scimserver.NewHandler("entra", store, "scim-secret-token", func() {}, zap.NewNop()))
	t.Cleanup(srv.Close)
	post := func(path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/scim/entra/v2/"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer scim-secret-token")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, err)
		}
		return out
	}
	user := post("Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","displayName":"Ada","emails":[{"value":"Ada@Example.com","primary":true}],"active":true}`)
	post("Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"platform","members":[{"value":"`+user["id"].(string)+`"}]}`)

	writeTestFile(t, filepath.Join(dir, "scim-token"), "scim-secret-token\n", 0o600)
	cfg := writeTestFile(t, filepath.Join(dir, "config.yaml"), `teams:
  url: https://api.stackoverflowteams.com/v3/teams/acme
  token: tok
sources:
  - name: entra
    scim_receiver: {token_file: scim-token}
groups:
  - {source: entra, from: platform, to: Platform}
sync: {state_dir: state}
log: {level: warn, format: console}
`, 0o644)
	code, out, errOut := runCmd(t, nil, "source", "dump", "--config", cfg, "--format", "json")
	if code != exitcode.OK {
		t.Fatalf("dump: exit %d, stderr %s", code, errOut)
	}
	var got struct {
		Groups []struct {
			Name    string
			Members []struct{ Email string }
		}
		Users int
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if got.Users != 1 || len(got.Groups) != 1 || got.Groups[0].Name != "platform" ||
		len(got.Groups[0].Members) != 1 || got.Groups[0].Members[0].Email != "ada@example.com" {
		t.Errorf("dump = %+v, want platform with ada@example.com", got)
	}
	if strings.Contains(out+errOut, "scim-secret-token") {
		t.Error("the receiver token was printed")
	}
}

// At log level debug, source dump shows each search as an ldapsearch
// command line, with -W where the password would go and never the password.
func TestSourceDumpDebugLogsLdapsearch(t *testing.T) {
	srv := slapdtest.Start(t, slapdtest.Options{LDIF: slapdtest.Fixture})
	cfg := ldapDumpConfig(t, srv.URL)
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, cfg, strings.Replace(string(data), "level: warn", "level: debug", 1), 0o644)
	code, out, errOut := runCmd(t, nil, "source", "dump", "--config", cfg, "--format", "json")
	if code != exitcode.OK || !json.Valid([]byte(out)) {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	for _, want := range []string{"ldapsearch -LLL -x -H " + srv.URL, "-D cn=reader,dc=example,dc=com -W", "-b ou=groups,dc=example,dc=com"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("debug log lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(out+errOut, slapdtest.ReaderPW) {
		t.Error("the bind password was printed")
	}
}

// A group whose member ranges cannot be finished is dumped as unknown
// (its error, no members) beside the groups that were read, and the
// command exits 1.
func TestSourceDumpUnknownGroupFromAD(t *testing.T) {
	var entries []*ldap.Entry
	var all []string
	for i := range 1600 { // past AD's 1,500 values per answer: range retrieval
		dn := fmt.Sprintf("CN=User %d,OU=Users,DC=corp,DC=example", i)
		entries = append(entries, &ldap.Entry{DN: dn, Attrs: map[string][]string{
			"objectclass": {"user"}, "objectguid": {fmt.Sprintf("guid-%012d", i)},
			"displayname": {fmt.Sprintf("User %d", i)}, "mail": {fmt.Sprintf("u%d@corp.example", i)}}})
		all = append(all, dn)
	}
	group := func(name string, members ...string) *ldap.Entry {
		return &ldap.Entry{DN: "CN=" + name + ",OU=Groups,DC=corp,DC=example", Attrs: map[string][]string{
			"objectclass": {"group"}, "cn": {name}, "member": members}}
	}
	entries = append(entries, group("All", all...), group("Small", all[:2]...))
	srv := adtest.Start(t, entries)
	srv.SetFault(func(_, _ string, attrs []string) adtest.Fault {
		if slices.Contains(attrs, "member;range=1500-*") {
			return adtest.Fault{Code: 51} // busy
		}
		return adtest.Fault{}
	})
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "ldap-password"), srv.BindPW+"\n", 0o600)
	cfg := writeTestFile(t, filepath.Join(dir, "config.yaml"), `teams:
  url: https://api.stackoverflowteams.com/v3/teams/acme
  token: tok
sources:
  - name: ad
    ldap:
      url: `+srv.URL+`
      bind_dn: `+srv.BindDN+`
      bind_password_file: ldap-password
      users: {base_dn: "OU=Users,DC=corp,DC=example", filter: "(objectClass=user)", id_attribute: objectGUID, name_attribute: displayName}
      groups: {base_dn: "OU=Groups,DC=corp,DC=example", filter: "(objectClass=group)", member_attributes: [member], nested: true}
      active_directory: {}
groups:
  - {source: ad, from: Small, to: Small}
log: {level: warn, format: console}
`, 0o644)
	code, out, errOut := runCmd(t, nil, "source", "dump", "--config", cfg, "--format", "json")
	if code != exitcode.Failure || !strings.Contains(errOut, "1 group could not be read completely") {
		t.Errorf("exit %d, stderr %q; want 1 and the unknown group counted", code, errOut)
	}
	var d dump.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("stdout is not the JSON dump: %v\n%s", err, out)
	}
	if d.Users != 1600 || len(d.Groups) != 2 {
		t.Fatalf("users %d, groups %d; want 1600 and 2", d.Users, len(d.Groups))
	}
	if g := d.Groups[0]; g.Name != "All" || g.Members != nil || !strings.Contains(g.Error, "Busy") {
		t.Errorf("All = %s, %d members, error %q; want unknown with the server's answer", g.Name, len(g.Members), g.Error)
	}
	if g := d.Groups[1]; g.Name != "Small" || len(g.Members) != 2 || g.Error != "" {
		t.Errorf("Small = %+v", g)
	}
}
