package main

import (
	"bytes"
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest/spectest"
)

// runCmd runs syncd in-process with args and env, returning the exit code
// and what it printed.
func runCmd(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env{stdout: &out, stderr: &errOut, getenv: testGetenv(t, vars)})
	return code, out.String(), errOut.String()
}

// testGetenv serves vars, with writer locks in a directory of the test's
// own unless vars names one (not the machine's /run/syncd).
func testGetenv(t *testing.T, vars map[string]string) func(string) string {
	runtime := t.TempDir()
	return func(k string) string {
		if v, ok := vars[k]; ok || k != "XDG_RUNTIME_DIR" {
			return v
		}
		return runtime
	}
}

func writeTestFile(t *testing.T, path, content string, mode os.FileMode) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return path
}

const testLDIF = `dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: A
mail: alice@example.com

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B
mail: Bob@Example.com

dn: cn=platform,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: platform
member: uid=alice,ou=people,dc=example,dc=com
member: uid=bob,ou=people,dc=example,dc=com
`

// testConfig writes a config reading an LDIF export and talking to teamsURL
// with the token in a private file.
func testConfig(t *testing.T, teamsURL, token string) string {
	t.Helper()
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "directory.ldif"), testLDIF, 0o644)
	tokenLine := ""
	if token != "" {
		writeTestFile(t, filepath.Join(dir, "token"), token+"\n", 0o600)
		tokenLine = "  token_file: token\n"
	}
	return writeTestFile(t, filepath.Join(dir, "config.yaml"), `teams:
  url: `+teamsURL+`
`+tokenLine+`sources:
  - name: export
    ldif:
      path: directory.ldif
      users: {base_dn: "ou=people,dc=example,dc=com"}
groups:
  - {source: export, from: platform, to: Platform}
  - {source: export, match: "team-*", to: "Team {name}"}
smes:
  - {tag: kubernetes, users_from: [{source: export, group: platform}]}
log: {level: warn, format: console}
`, 0o644)
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, nil, "version")
	want := regexp.MustCompile(`^syncd \S+ \(go\S+, ` + runtime.GOOS + `/` + runtime.GOARCH + `\)\n$`)
	if code != exitcode.OK || !want.MatchString(out) {
		t.Errorf("version: code %d, output %q", code, out)
	}
	if code, _, errOut := runCmd(t, nil, "version", "extra"); code != exitcode.Usage || !strings.Contains(errOut, "usage") {
		t.Errorf("version extra: code %d, stderr %q", code, errOut)
	}
}

func TestValidate(t *testing.T) {
	good := testConfig(t, "https://api.stackoverflowteams.com/v3/teams/acme", "tok")
	bad := writeTestFile(t, filepath.Join(t.TempDir(), "bad.yaml"), "teams:\n  url: ftp://x\n  tokn: y\nsync: {schedule: nope}\n", 0o644)
	goodText, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	withState := writeTestFile(t, filepath.Join(filepath.Dir(good), "with-state.yaml"), string(goodText)+"sync: {state_dir: state}\n", 0o644)
	for _, tc := range []struct {
		name        string
		args        []string
		env         map[string]string
		code        int
		out, errOut string // regexps; "" matches anything
	}{
		{name: "valid", args: []string{"validate", "--config", good}, code: exitcode.OK,
			out: `^config OK: ` + regexp.QuoteMeta(good) + ` \(1 source, 2 group mappings, 1 SME rule\)\n` +
				`note: no sync.state_dir: each syncd sync starts without memory: .*about 206 calls a run instead of 55.*no audit log.*\n$`},
		{name: "valid with a state dir", args: []string{"validate", "--config", withState}, code: exitcode.OK,
			out: `^config OK: ` + regexp.QuoteMeta(withState) + ` \(1 source, 2 group mappings, 1 SME rule\)\n$`},
		{name: "valid from SYNCD_CONFIG", args: []string{"validate"}, env: map[string]string{"SYNCD_CONFIG": good}, code: exitcode.OK,
			out: `^config OK: `},
		{name: "single dash flag", args: []string{"validate", "-config=" + good}, code: exitcode.OK, out: `^config OK: `},
		{name: "invalid", args: []string{"validate", "--config", bad}, code: exitcode.Usage,
			errOut: `(?s)bad.yaml:3:3: unknown key "tokn" in teams; did you mean "token"\?.*\nsyncd validate: .*bad.yaml: 1 problem found\n$`},
		{name: "missing file", args: []string{"validate", "--config", filepath.Join(t.TempDir(), "nope.yaml")}, code: exitcode.Usage,
			errOut: `no such file or directory \(give --config FILE or set SYNCD_CONFIG`},
		{name: "unknown flag", args: []string{"validate", "--frobnicate"}, code: exitcode.Usage, errOut: `flag provided but not defined`},
		{name: "extra argument", args: []string{"validate", "--config", good, "more"}, code: exitcode.Usage, errOut: `unexpected argument "more"`},
		{name: "help", args: []string{"validate", "-h"}, code: exitcode.OK, out: `^usage: syncd validate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if tc.out != "" && !regexp.MustCompile(tc.out).MatchString(out) {
				t.Errorf("stdout %q does not match %q", out, tc.out)
			}
			if tc.errOut != "" && !regexp.MustCompile(tc.errOut).MatchString(errOut) {
				t.Errorf("stderr %q does not match %q", errOut, tc.errOut)
			}
		})
	}
}

// A configuration that turns TLS verification off, or sends the token over
// http:// to another host, is valid but gets one warning line each.
func TestValidateWarns(t *testing.T) {
	cfg := testConfig(t, "http://teams.internal:8080/api/v3", "tok")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, cfg, strings.Replace(string(data), "  token_file: token\n", "  token_file: token\n  insecure_skip_verify: true\n", 1), 0o644)
	code, out, errOut := runCmd(t, nil, "validate", "--config", cfg)
	if code != exitcode.OK || !strings.HasPrefix(out, "config OK") {
		t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	for _, want := range []string{
		"warning: " + cfg + ":2:8: teams.url is http:// to teams.internal, not this host",
		"warning: " + cfg + ":4:25: teams.insecure_skip_verify is on",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if n := strings.Count(errOut, "\n"); n != 2 {
		t.Errorf("stderr has %d lines, want 2:\n%s", n, errOut)
	}
	if _, _, errOut := runCmd(t, nil, "validate", "--config", testConfig(t, "https://acme.stackenterprise.co/api/v3", "tok")); errOut != "" {
		t.Errorf("a config without a weakened protection warns: %q", errOut)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	bad := writeTestFile(t, filepath.Join(t.TempDir(), "bad.yaml"), `teams:
  url: ftp://x
sources:
  - name: Bad Name
    ldif: {path: missing.ldif}
sync: {schedule: nope, max_removal_percent: 200}
`, 0o644)
	code, _, errOut := runCmd(t, nil, "validate", "--config", bad)
	if code != exitcode.Usage {
		t.Errorf("exit code %d, want 2", code)
	}
	for _, want := range []string{"bad.yaml:1:1: teams.token", "bad.yaml:2:8: teams.url", "bad.yaml:4:11: sources[0].name", "bad.yaml:6:18: sync.schedule", "bad.yaml:6:45: sync.max_removal_percent", "5 problems found"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func emulatorSeed() *emulator.Seed {
	return &emulator.Seed{
		SMEEnabled: true,
		Tokens: []emulator.SeedToken{
			{Token: "admin-token", Admin: true, Write: true, Team: "acme", UserID: 2},
			{Token: "reader-token", Admin: false, Write: false, Team: "acme", UserID: 3},
			{Token: "writer-token", Admin: false, Write: true, Team: "acme", UserID: 3},
			{Token: "other-team-token", Admin: true, Write: true, Team: "globex", UserID: 2},
		},
		Users: []emulator.SeedUser{
			{ID: 2, Name: "Ada Admin", Email: "ada@example.com", Role: "Admin", Reputation: 1},
			{ID: 3, Name: "Rita Reader", Email: "rita@example.com", Role: "Registered", Reputation: 1},
			{ID: 4, Name: "Carl", Email: "carl@example.com", Role: "Registered", Reputation: 1},
		},
		UserGroups: []emulator.SeedGroup{{ID: 1, Team: "acme", Name: "Platform", UserIDs: []int{2, 4}}},
	}
}

// checkedEmulator serves the emulator (over TLS when useTLS) behind the
// OpenAPI validator: every request syncd sends and every answer is checked.
func checkedEmulator(t *testing.T, useTLS bool) *httptest.Server {
	t.Helper()
	emu, err := emulator.New(emulatorSeed(), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(spectest.Wrap(t, emu))
	} else {
		srv = httptest.NewServer(spectest.Wrap(t, emu))
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestValidateConnect probes tokens against the emulator on a real HTTP
// server, every exchange checked against the OpenAPI document.
func TestValidateConnect(t *testing.T) {
	emu, err := emulator.New(emulatorSeed(), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(spectest.Wrap(t, emu))
	t.Cleanup(srv.Close)
	base := srv.URL + "/v3/teams/acme"
	for _, tc := range []struct {
		name, token string
		code        int
		out, errOut []string
	}{
		{name: "admin token with write access", token: "admin-token", code: exitcode.OK, out: []string{
			"token of Ada Admin (id 2, role Admin)",
			"e-mails visible: yes, admin token (checked on user 4)",
			`write access: yes (an empty add to group "Platform"`,
			"source export: 2 users, 1 group (0 unknown)",
		}},
		{name: "read-only token", token: "reader-token", code: exitcode.Failure,
			out:    []string{"token of Rita Reader (id 3, role Registered)", "e-mails visible: no, not an admin token (checked on user 2)", "source export: 2 users"},
			errOut: []string{`the token may not write (403 on an empty add to group "Platform")`, "the token's user must be an admin"}},
		{name: "write token of a non-admin", token: "writer-token", code: exitcode.Failure,
			errOut: []string{`the token may not write (403 on an empty add to group "Platform")`, "Only admins can manage user groups"}},
		{name: "invalid token", token: "no-such-token", code: exitcode.Failure,
			out:    []string{"source export: 2 users"},
			errOut: []string{"the token was refused (401): it is invalid or expired, or it belongs to another team or site than " + base}},
		{name: "token of another team", token: "other-team-token", code: exitcode.Failure,
			errOut: []string{"the token was refused (401)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu.ResetLog()
			before := emu.Snapshot()
			code, out, errOut := runCmd(t, nil, "validate", "--connect", "--probe-write", "--config", testConfig(t, base, tc.token))
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, want := range tc.out {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, want := range tc.errOut {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if strings.Contains(out+errOut, tc.token) {
				t.Errorf("output shows the token %q", tc.token)
			}
			if got := emu.Count("GET", "/users/me"); got != 1 {
				t.Errorf("GET /users/me called %d times, want 1", got)
			}
			if after := emu.Snapshot(); !sameGroups(before, after) {
				t.Errorf("the write probe changed the groups: %+v -> %+v", before.UserGroups, after.UserGroups)
			}
		})
	}
}

// TestValidateConnectIsReadOnly: without --probe-write, --connect makes no
// write call, even with a read-only token (which it then cannot detect).
func TestValidateConnectIsReadOnly(t *testing.T) {
	emu, err := emulator.New(emulatorSeed(), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(spectest.Wrap(t, emu))
	t.Cleanup(srv.Close)
	for _, token := range []string{"admin-token", "reader-token"} {
		emu.ResetLog()
		code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", testConfig(t, srv.URL+"/v3/teams/acme", token))
		if code != exitcode.OK || !strings.Contains(out, "write access: not checked") {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", token, code, out, errOut)
		}
		if n := emu.WriteCount(); n != 0 {
			t.Errorf("%s: --connect made %d write calls, want 0", token, n)
		}
	}
}

func sameGroups(a, b *emulator.Seed) bool {
	if len(a.UserGroups) != len(b.UserGroups) {
		return false
	}
	for i := range a.UserGroups {
		x, y := a.UserGroups[i], b.UserGroups[i]
		if x.Name != y.Name || x.Description != y.Description || len(x.UserIDs) != len(y.UserIDs) {
			return false
		}
	}
	return true
}

// TestValidateConnectFailures: a site that fails or cannot be reached is
// named as such, not blamed on the token.
func TestValidateConnectFailures(t *testing.T) {
	// 500 is not retried (it may be a bug, not a blip), so this is quick.
	faulty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(faulty.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, tc := range []struct{ name, url, want string }{
		{"server errors", faulty.URL + "/v3/teams/acme", "answered with a server error: try again later"},
		{"unreachable", gone.URL + "/v3/teams/acme", "could not be reached: check teams.url, the network and teams.ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", testConfig(t, tc.url, "admin-token"))
			if code != exitcode.Failure || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "token was refused") {
				t.Errorf("code %d, want %d and %q\nstdout: %s\nstderr: %s", code, exitcode.Failure, tc.want, out, errOut)
			}
		})
	}
}

// A token put in teams.url by mistake (as the team's name) is never shown:
// not in a refusal, not when the API cannot be reached.
func TestValidateConnectHidesTokenInURL(t *testing.T) {
	const tok = "secret-token-in-the-path"
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Invalid access token", http.StatusUnauthorized)
	}))
	t.Cleanup(refusing.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, base := range []string{refusing.URL, gone.URL} {
		code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", testConfig(t, base+"/v3/teams/"+tok, tok))
		if code != exitcode.Failure || strings.Contains(out+errOut, tok) || !strings.Contains(errOut, "/v3/teams/REDACTED") {
			t.Errorf("%s: code %d, want %d, the URL shown with the token taken out\nstdout: %s\nstderr: %s", base, code, exitcode.Failure, out, errOut)
		}
	}
}

// TestValidateConnectEmulatorURL: "emulator:SEED.json" runs in-process.
func TestValidateConnectEmulatorURL(t *testing.T) {
	dir := t.TempDir()
	emu, err := emulator.New(emulatorSeed(), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := emu.SaveState(filepath.Join(dir, "seed.json")); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, "emulator:"+filepath.Join(dir, "seed.json"), "")
	code, out, errOut := runCmd(t, nil, "validate", "--connect", "--probe-write", "--config", cfg)
	if code != exitcode.OK || !strings.Contains(out, "token of Ada Admin") || !strings.Contains(out, "write access: yes") {
		t.Errorf("code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestValidateConnectSourceFailure: a source that cannot be read fails the
// check (exit 1) with the reader's own reason.
func TestValidateConnectSourceFailure(t *testing.T) {
	srv := checkedEmulator(t, false)
	cfg := testConfig(t, srv.URL+"/v3/teams/acme", "admin-token")
	writeTestFile(t, filepath.Join(filepath.Dir(cfg), "directory.ldif"), "dn: uid=a,dc=x\nnot a line\n", 0o644)
	code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", cfg)
	if code != exitcode.Failure || !strings.Contains(errOut, "syncd validate: source export: ") || !strings.Contains(out, "write access: not checked") {
		t.Errorf("code %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// TestValidateConnectTLS: the token probe verifies the server certificate
// against the system pool plus teams.ca_file, and skips verification only
// when teams.insecure_skip_verify says so.
func TestValidateConnectTLS(t *testing.T) {
	srv := checkedEmulator(t, true)
	base := srv.URL + "/v3/teams/acme"
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for _, tc := range []struct {
		name, extra string
		code        int
		errOut      string
	}{
		{name: "unknown CA", code: exitcode.Failure, errOut: "certificate"},
		{name: "ca_file", extra: "  ca_file: ca.pem\n", code: exitcode.OK},
		{name: "insecure_skip_verify", extra: "  insecure_skip_verify: true\n", code: exitcode.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, base, "admin-token")
			writeTestFile(t, filepath.Join(filepath.Dir(cfg), "ca.pem"), string(caPEM), 0o644)
			data, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Replace(string(data), "  token_file: token\n", "  token_file: token\n"+tc.extra, 1)
			writeTestFile(t, cfg, text, 0o644)
			code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", cfg)
			if code != tc.code || !strings.Contains(errOut, tc.errOut) {
				t.Errorf("code %d, want %d (stderr should mention %q)\nstdout: %s\nstderr: %s", code, tc.code, tc.errOut, out, errOut)
			}
		})
	}
}

// TestRunsLogConfigWarnings: a sync run logs what validate warns about.
func TestRunsLogConfigWarnings(t *testing.T) {
	srv := checkedEmulator(t, true)
	cfg := testConfig(t, srv.URL+"/v3/teams/acme", "admin-token")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, cfg, strings.Replace(string(data), "  token_file: token\n", "  token_file: token\n  insecure_skip_verify: true\n", 1), 0o644)
	_, out, errOut := runCmd(t, nil, "sync", "--config", cfg)
	if !strings.Contains(errOut, "configuration: "+cfg+":4:25: teams.insecure_skip_verify is on") {
		t.Errorf("sync did not log the warning\nstdout: %s\nstderr: %s", out, errOut)
	}
}
