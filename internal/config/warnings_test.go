package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const warnBase = `teams:
  url: TEAMS_URL
  token: tok
TEAMS_EXTRA
sources:
  - name: corp
    ldap:
      url: ldaps://ldap.example.com
      users: {base_dn: "ou=people,dc=example,dc=com"}
      groups: {base_dn: "ou=groups,dc=example,dc=com"}
LDAP_EXTRA
  - name: idp
    scim:
      url: SCIM_URL
      token: tok
SCIM_EXTRA
groups:
  - {source: corp, from: platform, to: Platform}
`

// TestWarnings: what turns off protection of the token or the data in
// transit is named, with its position; what does not is not.
func TestWarnings(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		teams, scim              string
		teamsExtra, ldapX, scimX string
		want                     []string // one substring per expected warning, in order
	}{
		{name: "https everywhere", teams: "https://acme.stackenterprise.co/api/v3", scim: "https://idp.example.com/scim/v2"},
		{name: "loopback http", teams: "http://127.0.0.1:8080/api/v3", scim: "http://localhost:3000/scim/v2"},
		{name: "IPv6 loopback http", teams: "http://[::1]:8080/api/v3", scim: "http://127.8.9.10/scim"},
		{name: "remote http", teams: "http://teams.internal:8080/api/v3", scim: "http://idp.example.com/scim/v2",
			want: []string{"c.yaml:2:8: teams.url is http:// to teams.internal, not this host", "c.yaml:14:12: sources[1].scim.url is http:// to idp.example.com"}},
		{name: "Teams TLS off", teams: "https://acme.stackenterprise.co/api/v3", scim: "https://idp.example.com/scim/v2",
			teamsExtra: "  insecure_skip_verify: true",
			want:       []string{"c.yaml:4:25: teams.insecure_skip_verify is on: the API's TLS certificate is not checked"}},
		{name: "LDAP and SCIM TLS off", teams: "https://acme.stackenterprise.co/api/v3", scim: "https://idp.example.com/scim/v2",
			ldapX: "      insecure_skip_verify: true", scimX: "      insecure_skip_verify: true",
			want: []string{"sources[0].ldap.insecure_skip_verify is on (source corp)", "sources[1].scim.insecure_skip_verify is on (source idp)"}},
		{name: "TLS off, said false", teams: "https://acme.stackenterprise.co/api/v3", scim: "https://idp.example.com/scim/v2",
			teamsExtra: "  insecure_skip_verify: false", ldapX: "      insecure_skip_verify: false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.NewReplacer("TEAMS_URL", tc.teams, "SCIM_URL", tc.scim, "TEAMS_EXTRA", tc.teamsExtra,
				"LDAP_EXTRA", tc.ldapX, "SCIM_EXTRA", tc.scimX).Replace(warnBase)
			cfg, err := Parse("c.yaml", []byte(text), nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			got := Warnings(cfg)
			if len(got) != len(tc.want) {
				t.Fatalf("warnings %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestEmulatorHasNoWarnings(t *testing.T) {
	cfg, err := Load("testdata/valid/emulator.yaml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Teams.InsecureSkipVerify = true // ignored by the in-process emulator
	if w := Warnings(cfg); len(w) != 0 {
		t.Errorf("emulator config warns: %q", w)
	}
}

// An LDIF file not there (yet) is a warning, not a configuration error:
// the export failed, and each run fails with exit 1 until it arrives.
func TestWarningsLDIFMissing(t *testing.T) {
	dir := t.TempDir()
	text := "teams:\n  url: https://acme.stackenterprise.co/api/v3\n  token: t\nsources:\n  - name: export\n    ldif: {path: " +
		filepath.Join(dir, "no-such.ldif") + "}\n"
	cfg, err := Parse(filepath.Join(dir, "c.yaml"), []byte(text), nil)
	if err != nil {
		t.Fatalf("a missing LDIF file is not a configuration error: %v", err)
	}
	got := Warnings(cfg)
	if len(got) != 1 || !strings.Contains(got[0], "c.yaml:6:18: sources[0].ldif.path: cannot read") || !strings.Contains(got[0], "exit 1") {
		t.Errorf("warnings %q, want one naming sources[0].ldif.path", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "no-such.ldif"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := Warnings(cfg); len(got) != 0 {
		t.Errorf("file there: warnings %q", got)
	}
}

// A secret written in a file others may read is named, with the file's
// mode; a private file, a secret from ${VAR} and the emulator's token are
// not.
func TestWarningsReadableSecret(t *testing.T) {
	const body = `teams:
  url: TEAMS_URL
  token: TOKEN
sources:
  - name: corp
    ldap:
      url: ldaps://ldap.example.com
      bind_dn: cn=syncd,dc=example,dc=com
      bind_password: PASSWORD
      users: {base_dn: "ou=people,dc=example,dc=com"}
      groups: {base_dn: "ou=groups,dc=example,dc=com"}
groups:
  - {source: corp, from: platform, to: Platform}
`
	env := map[string]string{"TOKEN": "from-the-environment", "PW": "pw-from-env"}
	for _, tc := range []struct {
		name, url, token, password string
		mode                       os.FileMode
		want                       string
	}{
		{"both inline, world-readable", "https://acme.stackenterprise.co/api/v3", "s3cret-token", "s3cret-pw", 0o644,
			":3:10: teams.token, sources[0].ldap.bind_password written in "},
		{"password inline", "https://acme.stackenterprise.co/api/v3", "${TOKEN}", "s3cret-pw", 0o604, "sources[0].ldap.bind_password written in"},
		{"private file", "https://acme.stackenterprise.co/api/v3", "s3cret-token", "s3cret-pw", 0o640, ""},
		{"from the environment", "https://acme.stackenterprise.co/api/v3", "${TOKEN}", "${PW}", 0o644, ""},
		{"the emulator's token", "emulator:seed.json", "quickstart-token", "${PW}", 0o644, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			text := strings.NewReplacer("TEAMS_URL", tc.url, "TOKEN", tc.token, "PASSWORD", tc.password).Replace(body)
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(filepath.Dir(path), "seed.json"), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, w := range Warnings(cfg) {
				if strings.Contains(w, "every account on this machine may read") {
					found = append(found, w)
				}
			}
			switch {
			case tc.want == "" && len(found) > 0:
				t.Errorf("warned: %v", found)
			case tc.want != "" && (len(found) != 1 || !strings.Contains(found[0], tc.want) || !strings.Contains(found[0], "chmod o-r")):
				t.Errorf("warnings %v, want one saying %q", found, tc.want)
			}
			for _, w := range found {
				if strings.Contains(w, "s3cret") {
					t.Errorf("the warning shows the secret: %s", w)
				}
			}
		})
	}
}

// A short sync token is warned about, naming its length, never the token.
func TestWarningsShortSyncToken(t *testing.T) {
	for token, warned := range map[string]bool{"ab": true, "fifteen-chars-x": true, "0123456789abcdef": false} {
		text := strings.NewReplacer("TEAMS_URL", "https://acme.stackenterprise.co/api/v3", "SCIM_URL", "https://idp.example.com/scim/v2",
			"TEAMS_EXTRA", "", "LDAP_EXTRA", "", "SCIM_EXTRA", "").Replace(warnBase) + "server:\n  sync_token: " + token + "\n"
		cfg, err := Parse("c.yaml", []byte(text), nil)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(Warnings(cfg), "\n")
		if strings.Contains(got, "sync token is") != warned || strings.Contains(got, token) {
			t.Errorf("token of %d characters: warnings %q", len(token), got)
		}
	}
}
