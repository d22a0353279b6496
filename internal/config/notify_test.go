package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const notifyBase = `teams: {url: "https://acme.stackenterprise.co/api/v3", token: t}
sources:
  - name: corp
    ldif: {path: ../testdata/directory.ldif}
groups:
  - {source: corp, from: platform, to: Platform}
`

// loadNotify loads notifyBase plus extra from a file in a temporary
// directory, beside a private file "slack-webhook" holding slackURL.
func loadNotify(t *testing.T, extra, slackURL string, env map[string]string) (*Config, error) {
	t.Helper()
	dir := t.TempDir()
	writeSecret(t, filepath.Join(dir, "slack-webhook"), slackURL)
	abs, err := filepath.Abs("testdata/directory.ldif")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(notifyBase, "../testdata/directory.ldif", abs, 1) + extra
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path, func(k string) string { return env[k] })
}

func TestNotifyWebhooks(t *testing.T) {
	const slack = "https://hooks.slack.com/services/T000/B000/slack-secret-XYZ"
	const teams = "https://prod-27.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=teams-secret-XYZ"
	cfg, err := loadNotify(t, `server: {public_url: "https://syncd.example.com/ops/"}
notify:
  webhooks:
    - url_file: slack-webhook
      format: slack
    - url: ${TEAMS_WEBHOOK}
      format: msteams
      events: [applied, drift, failed]
`, slack, map[string]string{"TEAMS_WEBHOOK": teams})
	if err != nil {
		t.Fatal(err)
	}
	hooks := cfg.Notify.Webhooks
	check(t, "webhooks", len(hooks), 2)
	check(t, "url from url_file", hooks[0].URL.Reveal(), slack)
	check(t, "url from ${VAR}", hooks[1].URL.Reveal(), teams)
	check(t, "default events", fmt.Sprint(hooks[0].Events), "[held failed recovered]")
	check(t, "events as written", fmt.Sprint(hooks[1].Events), "[applied drift failed]")
	check(t, "Wants(held) by default", hooks[0].Wants(EventHeld), true)
	check(t, "Wants(held) when not listed", hooks[1].Wants(EventHeld), false)
	check(t, "public_url", cfg.Server.PublicURL, "https://syncd.example.com/ops/")
	out, err := json.Marshal(cfg.Notify)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{string(out), fmt.Sprintf("%+v", cfg.Notify), fmt.Sprintf("%#v", cfg.Notify)} {
		if strings.Contains(s, "secret-XYZ") {
			t.Errorf("a printed webhook shows its URL: %s", s)
		}
	}
	if len(Warnings(cfg)) != 0 {
		t.Errorf("warnings for https webhooks: %q", Warnings(cfg))
	}
}

// TestNotifyDefaultsDoNotAlias: each webhook gets its own copy of the
// default events.
func TestNotifyDefaultsDoNotAlias(t *testing.T) {
	cfg, err := loadNotify(t, `notify:
  webhooks:
    - {url_file: slack-webhook, format: slack}
    - {url_file: slack-webhook, format: json}
`, "https://hooks.slack.com/services/T/B/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Notify.Webhooks[0].Events[0] = "changed"
	if !slices.Equal(cfg.Notify.Webhooks[1].Events, DefaultEvents) || DefaultEvents[0] != EventHeld {
		t.Errorf("default events shared: %v, %v", cfg.Notify.Webhooks[1].Events, DefaultEvents)
	}
}

func TestNotifyPlainHTTPWarns(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want string // "" for no warning
	}{
		{"https://hooks.example.com/x", ""},
		{"http://127.0.0.1:8080/hook?sig=x", ""},
		{"http://localhost/hook", ""},
		{"http://hooks.internal/hook?sig=plain-secret", ":9:17: notify.webhooks[0].url_file is http:// to hooks.internal, not this host"},
	} {
		cfg, err := loadNotify(t, "notify:\n  webhooks:\n    - url_file: slack-webhook\n      format: json\n", tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := Warnings(cfg)
		switch {
		case tc.want == "" && len(w) > 0:
			t.Errorf("%s: unexpected warnings %q", tc.url, w)
		case tc.want != "" && (len(w) != 1 || !strings.Contains(w[0], tc.want)):
			t.Errorf("%s: warnings %q, want one containing %q", tc.url, w, tc.want)
		case len(w) > 0 && strings.Contains(w[0], "plain-secret"):
			t.Errorf("the warning shows the URL's secret: %s", w[0])
		}
	}
}

// TestPublicURL: server.public_url must be an http(s) URL with a host.
func TestPublicURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://syncd.example.com":         "",
		"http://10.0.0.5:9184/syncd":        "",
		"syncd.example.com":                 `server.public_url "syncd.example.com": the scheme must be https://`,
		"https://":                          `server.public_url "https:" has no host`,
		"https://u:pw@syncd.example.com/":   "server.public_url is not a valid URL without credentials",
		"https://syncd.example.com/#report": "remove the ?query or #fragment",
	} {
		_, err := loadNotify(t, fmt.Sprintf("server: {public_url: %q}\n", raw), "x", nil)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", raw, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want %q", raw, err, want)
		case err != nil && strings.Contains(err.Error(), "pw@"):
			t.Errorf("%s: the error shows the credentials: %v", raw, err)
		}
	}
}
