package main

import (
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/exitcode"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// hostile are values a directory may hold that a terminal would act on:
// a clear-screen, a window title, a C1 CSI, and a right-to-left override.
const hostile = "Eve \x1b[2J\x1b]0;pwned\x07 \u009b31m \u202eexe.txt"

// noRawControls fails when out holds a character a terminal acts on.
func noRawControls(t *testing.T, what, out string) {
	t.Helper()
	if i := strings.IndexAny(out, "\x1b\x07\u009b\u202e"); i >= 0 {
		t.Errorf("%s prints a terminal control raw at byte %d:\n%q", what, i, out)
	}
	if !strings.Contains(out, `\x1b[2J`) || !strings.Contains(out, `\u202eexe.txt`) {
		t.Errorf("%s does not show the controls escaped:\n%q", what, out)
	}
}

// explain prints names and group names read from the directory.
func TestExplainEscapesControls(t *testing.T) {
	cfg := quickstart(t)
	ldif := strings.Replace(strings.Replace(readTestFile(t, "examples/quickstart/company.ldif"),
		"cn: Carol Jones\n", "cn:: "+base64.StdEncoding.EncodeToString([]byte("Carol "+hostile))+"\n", 1),
		"cn: platform-core\n", "cn:: "+base64.StdEncoding.EncodeToString([]byte("platform-core "+hostile))+"\n", 1)
	writeTestFile(t, strings.TrimSuffix(cfg, "config.yaml")+"company.ldif", ldif, 0o644)
	code, out, errOut := runCmd(t, nil, "explain", "carol@example.com", "--config", cfg)
	if code != exitcode.OK {
		t.Fatalf("explain: exit %d\n%s\n%s", code, out, errOut)
	}
	noRawControls(t, "explain", out)
	if !strings.Contains(out, "platform-core Eve") || !strings.Contains(out, "Carol Eve") {
		t.Errorf("explain does not name the person and the nested group:\n%s", out)
	}
}

// validate --connect names the token's user as Teams has it.
func TestValidateConnectEscapesControls(t *testing.T) {
	seed := emulatorSeed()
	seed.Users[0].Name = "Ada " + hostile
	_, srv := teamstest.NewServer(t, seed, emulator.Options{})
	code, out, errOut := runCmd(t, nil, "validate", "--connect", "--config", testConfig(t, srv.URL+"/v3/teams/acme", "admin-token"))
	if code != exitcode.OK {
		t.Fatalf("validate --connect: exit %d\n%s\n%s", code, out, errOut)
	}
	noRawControls(t, "validate --connect", out)
}

func readTestFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile("../../" + rel)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
