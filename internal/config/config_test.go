package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/invalid/*.want from the current messages")

// testEnv is the environment the testdata files expand from.
func testEnv(k string) string {
	return map[string]string{"TEAMS_TOKEN": "env-token-value", "LDAP_PASSWORD": "env-ldap-password"}[k]
}

// prepareSecrets gives the secret fixtures the modes their names promise
// (git keeps no permissions but the executable bit).
func prepareSecrets(t *testing.T) {
	t.Helper()
	for name, mode := range map[string]os.FileMode{"private": 0o600, "token": 0o600, "empty": 0o600, "world-readable": 0o644} {
		if err := os.Chmod(filepath.Join("testdata", "secrets", name), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInvalid loads each testdata/invalid/NAME.yaml and compares every
// message with NAME.want (absolute paths of testdata written as $TESTDATA).
func TestInvalid(t *testing.T) {
	prepareSecrets(t)
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("only %d invalid cases", len(files))
	}
	abs, _ := filepath.Abs("testdata")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(file, testEnv)
			if err == nil {
				t.Fatalf("loaded without error: %+v", cfg)
			}
			var lines []string
			for _, e := range Errors(err) {
				if _, ok := e.(*Error); !ok {
					t.Errorf("error %q is a %T, not a *config.Error", e, e)
				}
				lines = append(lines, strings.ReplaceAll(e.Error(), abs, "$TESTDATA"))
			}
			got := strings.Join(lines, "\n") + "\n"
			wantFile := strings.TrimSuffix(file, ".yaml") + ".want"
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("messages differ\n got: %s\nwant: %s", got, want)
			}
			for _, secret := range []string{"env-token-value", "t0ken", "hunter2"} {
				if strings.Contains(got, secret) {
					t.Errorf("a message reveals the secret %q", secret)
				}
			}
		})
	}
}
