package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func mustLoad(t *testing.T, path string, env map[string]string) *Config {
	t.Helper()
	prepareSecrets(t)
	cfg, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("Load(%s):\n%v", path, err)
	}
	return cfg
}

func check[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, "testdata/valid/minimal-ldap.yaml", map[string]string{"TEAMS_TOKEN": "tok"})
	check(t, "teams.token", cfg.Teams.Token.Reveal(), "tok")
	check(t, "teams.timeout", cfg.Teams.Timeout.Std(), 30*time.Second)
	check(t, "teams.user_agent prefix", strings.HasPrefix(cfg.Teams.UserAgent, "syncd/"), true)
	l := cfg.Source("corp").LDAP
	check(t, "page_size", l.PageSize, 500)
	check(t, "ldap.timeout", l.Timeout.Std(), 30*time.Second)
	check(t, "users.filter", l.Users.Filter, "(objectClass=inetOrgPerson)")
	check(t, "users.scope", l.Users.Scope, "sub")
	check(t, "users.id_attribute", l.Users.IDAttribute, "entryUUID")
	check(t, "users.email_attribute", l.Users.EmailAttribute, "mail")
	check(t, "users.name_attribute", l.Users.NameAttribute, "cn")
	check(t, "users.login_attribute", l.Users.LoginAttribute, "uid")
	check(t, "groups.filter", l.Groups.Filter, DefaultGroupFilter)
	check(t, "groups.name_attribute", l.Groups.NameAttribute, "cn")
	check(t, "groups.member_attributes", fmt.Sprint(l.Groups.MemberAttributes), "[member uniqueMember memberUid]")
	check(t, "groups.nested", l.Groups.Nested, true)
	check(t, "sync.apply", cfg.Sync.Apply, false)
	check(t, "sync.membership", cfg.Sync.Membership, "exact")
	check(t, "sync.max_removals", cfg.Sync.MaxRemovals, 100)
	check(t, "sync.max_removal_percent", cfg.Sync.MaxRemovalPercent, 25.0)
	check(t, "sync.schedule", cfg.Sync.Schedule, "@every 30m")
	check(t, "sync.run_at_start", *cfg.Sync.RunAtStart, true)
	check(t, "sync.state_dir", cfg.Sync.StateDir, "")
	check(t, "sync.pending_recheck", cfg.Sync.PendingRecheck, DefaultPendingRecheck)
	check(t, "sync.max_removal_percent_floor", cfg.Sync.MaxRemovalPercentFloor, 3)
	check(t, "sync.audit_retention", cfg.Sync.AuditRetention.Std(), 400*24*time.Hour)
	check(t, "sync.watch", cfg.Sync.Watch, false)
	check(t, "sync.watch_delay", cfg.Sync.WatchDelay.Std(), 2*time.Second)
	check(t, "ldap.watch.feed", l.Watch.Feed, FeedAuto)
	check(t, "ldap.watch.poll_interval", l.Watch.PollInterval.Std(), 5*time.Second)
	check(t, "server.listen", cfg.Server.Listen, "127.0.0.1:9184")
	check(t, "log.level", cfg.Log.Level, "info")
	check(t, "log.format", cfg.Log.Format, "json")
	check(t, "groups[0] mode", cfg.Groups[0].MembershipMode(cfg.Sync.Membership), "exact")
	check(t, "groups[0] line", cfg.Groups[0].Line(), 12)
	check(t, "Where", cfg.Where("groups[0].to"), "testdata/valid/minimal-ldap.yaml:12:40")
	check(t, "Where (absent key)", cfg.Where("sync.schedule"), "testdata/valid/minimal-ldap.yaml:1:1")
}

func TestEmulatorNeedsNoToken(t *testing.T) {
	cfg := mustLoad(t, "testdata/valid/emulator.yaml", nil)
	seed, ok := cfg.Teams.EmulatorSeed()
	abs, _ := filepath.Abs("testdata/seed.json")
	check(t, "emulator", ok, true)
	check(t, "seed path", seed, abs)
	check(t, "source kind", cfg.Sources[0].Kind(), KindLDIF)
}

func TestEverything(t *testing.T) {
	env := map[string]string{"TEAMS_TOKEN": "tok", "LDAP_PASSWORD": "pw", "HOME": "/root"}
	cfg := mustLoad(t, "testdata/valid/everything.yaml", env)
	check(t, "teams.url (default of ${TEAMS_URL:-...})", cfg.Teams.URL, "https://api.stackoverflowteams.com/v3/teams/acme/")
	check(t, "teams.token from file", cfg.Teams.Token.Reveal(), "file-token")
	check(t, "teams.timeout", cfg.Teams.Timeout.Std(), 90*time.Second)
	check(t, "user_agent escapes", cfg.Teams.UserAgent, "acme-syncd ${NOT_EXPANDED} $HOME")
	l := cfg.Source("corp").LDAP
	check(t, "urls", fmt.Sprint(l.URLs), "[ldap://ldap1.example.com ldap://ldap2.example.com:1389]")
	check(t, "bind_password", l.BindPassword.Reveal(), "pw")
	check(t, "ldap.timeout", l.Timeout.Std(), 10*time.Second)
	check(t, "nested false kept", l.Groups.Nested, false)
	check(t, "member_attributes", fmt.Sprint(l.Groups.MemberAttributes), "[uniqueMember]")
	check(t, "scim block token", cfg.Source("idp-2").SCIM.Token.Reveal(), "block-token")
	check(t, "scim nested default", cfg.Source("idp-2").SCIM.Nested, true)
	check(t, "receiver token", cfg.Source("entra_push").SCIMReceiver.Token.Reveal(), "tok-receiver")
	check(t, "receiver delay", cfg.Source("entra_push").SCIMReceiver.SyncDelay.Std(), time.Duration(0))
	check(t, "ldif users via alias", cfg.Source("export").LDIF.Users.Scope, "one")
	check(t, "ldif groups default filter", cfg.Source("export").LDIF.Groups.Filter, DefaultGroupFilter)
	check(t, "max_removals 0 kept", cfg.Sync.MaxRemovals, 0)
	check(t, "max_removal_percent 0 kept", cfg.Sync.MaxRemovalPercent, 0.0)
	check(t, "run_at_start", *cfg.Sync.RunAtStart, false)
	abs, _ := filepath.Abs("testdata/valid/state")
	check(t, "state_dir", cfg.Sync.StateDir, abs)
	check(t, "groups[2] mode", cfg.Groups[2].MembershipMode(cfg.Sync.Membership), "add-only")
	check(t, "groups[1] mode", cfg.Groups[1].MembershipMode(cfg.Sync.Membership), "managed")
	check(t, "smes[1] mode", cfg.SMEs[1].MembershipMode(cfg.Sync.Membership), "managed")
	check(t, "log", cfg.Log, Log{Level: "debug", Format: "console"})
	check(t, "server.listen", cfg.Server.Listen, ":9184")
	check(t, "Source(missing)", cfg.Source("nope") == nil, true)
}

// TestSecretsNeverPrinted: neither fmt nor any message of Load shows a
// secret, whatever else is wrong with the file.
func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "s3cr3t-Value-123"
	env := map[string]string{"TEAMS_TOKEN": secret, "LDAP_PASSWORD": secret}
	cfg := mustLoad(t, "testdata/valid/everything.yaml", env)
	asJSON, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	asYAML, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", *cfg.Source("corp").LDAP),
		string(asJSON), string(asYAML)} {
		if strings.Contains(s, secret) {
			t.Errorf("printed config reveals the secret: %s", s)
		}
	}
	if !strings.Contains(string(asJSON), `"Token":"REDACTED"`) {
		t.Errorf("JSON of the config: %s", asJSON)
	}
	decodeErrs := `teams:
  url: https://api.stackoverflowteams.com/v3/teams/acme
  token: "` + secret + ` x"
  timeout: nope
sources:
  - name: corp
    scim: {url: "https://idp/scim", token: ["` + secret + `"]}
server: {sync_token: "${` + secret + ` }"}
`
	validateErrs := `teams:
  url: https://` + secret + `:` + secret + `@acme.example.com/api/v3
  token: "` + secret + ` x"
sources:
  - name: corp
    scim: {url: "https://u:` + secret + `@idp/scim", token: "` + secret + `"}
  - name: rx
    scim_receiver: {token: "` + secret + `\n"}
  - name: dir
    ldap:
      url: "ldap://u:` + secret + `@ldap"
      bind_password: "` + secret + `"
      users: {base_dn: "dc=x"}
      groups: {base_dn: "dc=x"}
server: {sync_token: "` + secret + ` "}
`
	for name, text := range map[string]string{"decode": decodeErrs, "validate": validateErrs} {
		_, err := Parse(name+".yaml", []byte(text), func(k string) string { return env[k] })
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		t.Logf("%s messages:\n%v", name, err)
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: an error reveals the secret:\n%v", name, err)
		}
		if n := len(Errors(err)); n < 3 {
			t.Errorf("%s: got %d errors, want every problem reported:\n%v", name, n, err)
		}
	}
}

// TestEmptyExpansionMeansDefault: ${VAR:-} with VAR unset leaves a number,
// boolean or duration out, so its default applies.
func TestEmptyExpansionMeansDefault(t *testing.T) {
	text := `teams: {url: "https://h/api/v3", token: t, timeout: "${T:-}"}
sources:
  - name: s
    ldap:
      url: ldap://h
      page_size: ${PAGE:-}
      start_tls: ${TLS:-}
      users: {base_dn: "dc=x"}
      groups: {base_dn: "dc=x", nested: "${NESTED:-}"}
sync: {max_removals: "${MAX:-}"}
`
	cfg, err := Parse("c.yaml", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Sources[0].LDAP
	check(t, "teams.timeout", cfg.Teams.Timeout.Std(), DefaultTeamsTimeout)
	check(t, "page_size", l.PageSize, DefaultLDAPPageSize)
	check(t, "start_tls", l.StartTLS, false)
	check(t, "nested", l.Groups.Nested, true)
	check(t, "max_removals", cfg.Sync.MaxRemovals, DefaultMaxRemovals)
}

func TestSecretFormatting(t *testing.T) {
	s := Secret("hunter2")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %#v", s, s, s, s)} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("formatted secret shows its value: %s", out)
		}
	}
	check(t, "empty secret", Secret("").String(), "")
	check(t, "Reveal", s.Reveal(), "hunter2")
}

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"A": "1", "B_2": "two"}
	getenv := func(k string) string { return env[k] }
	for in, want := range map[string]string{
		"plain":            "plain",
		"${A}":             "1",
		"x${A}y${B_2}z":    "x1ytwoz",
		"${MISSING:-def}":  "def",
		"${MISSING:-}":     "",
		"${A:-def}":        "1",
		"$${A}":            "${A}",
		"pa$$word $A":      "pa$$word $A",
		"${MISSING:-a:-b}": "a:-b",
	} {
		got, err := expandEnv(in, getenv)
		if err != nil || got != want {
			t.Errorf("expandEnv(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"${MISSING}": "environment variable MISSING is not set",
		"${A":        "unterminated ${",
		"${1A}":      "invalid ${...}",
		"${}":        "invalid ${...}",
	} {
		_, err := expandEnv(in, getenv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("expandEnv(%q) error = %v, want it to mention %q", in, err, want)
		}
	}
}

func TestDefaultPath(t *testing.T) {
	check(t, "from env", DefaultPath(func(k string) string {
		return map[string]string{"SYNCD_CONFIG": "/x/y.yaml"}[k]
	}), "/x/y.yaml")
	none := func(string) string { return "" }
	wd, _ := os.Getwd()
	dir := t.TempDir()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chdir(wd) })
	check(t, "no local file", DefaultPath(none), "/etc/syncd/config.yaml")
	if err := os.WriteFile("config.yaml", []byte("x: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	check(t, "local file", DefaultPath(none), "config.yaml")
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such.yaml", func(string) string { return "" })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a not-exist error", err)
	}
}

func TestErrorFormat(t *testing.T) {
	check(t, "with column", (&Error{File: "c.yaml", Line: 3, Column: 7, Msg: "bad"}).Error(), "c.yaml:3:7: bad")
	check(t, "without column", (&Error{File: "c.yaml", Line: 3, Msg: "bad"}).Error(), "c.yaml:3: bad")
	var e *Error
	_, err := Parse("x.yaml", []byte("teams: {url: 1}\nfoo: 2\n"), func(string) string { return "" })
	if !errors.As(err, &e) || e.Line != 2 || e.Column != 1 {
		t.Errorf("errors.As(*Error) = %+v from %v", e, err)
	}
	check(t, "Errors(nil)", len(Errors(nil)), 0)
	check(t, "DeepEqual guard", reflect.DeepEqual(Errors(e), []error{e}), true)
}
