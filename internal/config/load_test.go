package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadRefusesLargeFile: a path that names something other than a
// configuration is refused by its size, before it is read whole.
func TestLoadRefusesLargeFile(t *testing.T) {
	good, err := os.ReadFile("testdata/valid/minimal-ldap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pad := func(n int) []byte { // a valid config padded with comments to n bytes
		out := append([]byte{}, good...)
		for len(out) < n {
			line := "# " + strings.Repeat("x", min(76, n-len(out)-3)) + "\n"
			out = append(out, line[:min(len(line), n-len(out))]...)
		}
		return out
	}
	atLimit := filepath.Join(dir, "at-limit.yaml")
	if err := os.WriteFile(atLimit, pad(MaxFileSize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(atLimit, testEnv); err != nil {
		t.Errorf("a %d-byte config: %v", MaxFileSize, err)
	}
	over := filepath.Join(dir, "over.yaml")
	if err := os.WriteFile(over, pad(MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(over, testEnv)
	if err == nil || !strings.Contains(err.Error(), over+":1:") || !strings.Contains(err.Error(), "at most 1 MiB") {
		t.Errorf("a config of 1 MiB + 1 byte: %v, want an error naming the file and the limit", err)
	}
	// A device has no size: the read stops after the limit.
	if _, statErr := os.Stat("/dev/zero"); statErr == nil {
		_, err = Load("/dev/zero", testEnv)
		if err == nil || !strings.Contains(err.Error(), "/dev/zero:1: the file is larger than 1 MiB") {
			t.Errorf("/dev/zero: %v", err)
		}
	}
}

// A down-level name in double quotes is a YAML escape error: the message
// says how to write it.
func TestDoubleQuotedBackslashHint(t *testing.T) {
	_, err := Parse("c.yaml", []byte("teams:\n  url: https://x.example/api/v3\n  token: t\nsources:\n  - name: corp\n    ldap:\n      url: ldaps://dc\n      bind_dn: \"CORP\\svc-syncd\"\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "c.yaml:8") || !strings.Contains(err.Error(), "single quotes ('CORP\\svc-syncd')") {
		t.Errorf("err = %v, want the line and the single-quote hint", err)
	}
}
