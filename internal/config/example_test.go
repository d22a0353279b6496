package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// repoRoot walks up from the package directory to go.mod.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			tb.Fatal("go.mod not found above the package directory")
		}
		dir = up
	}
}

// writeSecret writes a private secret file.
func writeSecret(tb testing.TB, path, value string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(value+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// loadExample loads config.example.yaml from a copy in a temporary directory
// that also holds the files it refers to (credentials, the LDIF export).
func loadExample(t *testing.T) *Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.Mkdir(creds, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"teams-token", "ldap-password", "ad-password", "scim-token", "scim-receiver-token", "sync-token", "slack-webhook"} {
		value := "secret-" + name
		if name == "slack-webhook" {
			value = "https://hooks.slack.com/services/T0/B0/" + value
		}
		writeSecret(t, filepath.Join(creds, name), value)
	}
	if err := os.WriteFile(filepath.Join(dir, "directory.ldif"), []byte("version: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CREDENTIALS_DIRECTORY": creds, "SYNCD_TEAMS_WEBHOOK": "https://teams.example.com/workflows/x?sig=y"}
	cfg, err := Load(path, func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config.example.yaml does not load:\n%v", err)
	}
	return cfg
}

func TestExampleLoads(t *testing.T) {
	cfg := loadExample(t)
	if got := cfg.Teams.Token.Reveal(); got != "secret-teams-token" {
		t.Errorf("teams token from file = %q", got)
	}
	if got, want := len(cfg.Sources), 5; got != want {
		t.Errorf("sources = %d, want %d", got, want)
	}
	ad := cfg.Source("ad").LDAP
	if ad == nil || ad.Users.IDAttribute != "objectGUID" || ad.Groups.Filter != DefaultADGroupFilter {
		t.Errorf("active directory defaults not applied: %+v", ad)
	}
	if got := cfg.Source("export").LDIF.Path; !filepath.IsAbs(got) || filepath.Base(got) != "directory.ldif" {
		t.Errorf("ldif path = %q, want absolute path to directory.ldif", got)
	}
	if got := cfg.Source("entra").SCIMReceiver.Token.Reveal(); got != "secret-scim-receiver-token" {
		t.Errorf("receiver token = %q", got)
	}
	if got := cfg.Server.SyncToken.Reveal(); got != "secret-sync-token" {
		t.Errorf("sync token = %q", got)
	}
	if hooks := cfg.Notify.Webhooks; len(hooks) != 2 || !strings.HasSuffix(hooks[0].URL.Reveal(), "/secret-slack-webhook") {
		t.Errorf("notify.webhooks = %+v", hooks)
	}
}

// TestExampleDocumentsEveryKey: each key syncd understands is written in the
// example, as a key or as a commented-out alternative, and has a comment.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "config.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, key := range allKeys(reflect.TypeOf(Config{})) {
		re := regexp.MustCompile(`(?m)^[ \t]*(#[ \t]*)?(- )?` + regexp.QuoteMeta(key) + `:`)
		if !re.MatchString(text) {
			t.Errorf("config.example.yaml does not document key %q", key)
		}
	}
	if n := strings.Count(text, "#"); n < 100 {
		t.Errorf("config.example.yaml has only %d comments", n)
	}
}

// allKeys lists every yaml key reachable from t.
func allKeys(t reflect.Type) []string {
	seen := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == durationType {
			return
		}
		idx, names := yamlFields(t)
		for _, n := range names {
			seen[n] = true
			walk(t.Field(idx[n]).Type)
		}
	}
	walk(t)
	var keys []string
	for k := range seen {
		keys = append(keys, k)
	}
	return keys
}
