package deploytest

import (
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

// The shipped binaries link no test code: not the standard testing
// packages, and none of the module's *test helper packages (which may use
// them). The Teams emulator they embed lives in a package of its own for
// this reason.
func TestBinariesLinkNoTestPackages(t *testing.T) {
	for _, cmd := range []string{"./cmd/syncd", "./cmd/teams-emulator"} {
		c := exec.Command(goTool(), "list", "-deps", cmd)
		c.Dir = repoRoot(t)
		out, err := c.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", cmd, err, stderrOf(err))
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, "net/http") {
			t.Fatalf("go list -deps %s lists no net/http: %q", cmd, out)
		}
		for _, p := range deps {
			if testPackage(p) {
				t.Errorf("%s links %s", cmd, p)
			}
		}
	}
}

func testPackage(p string) bool {
	if p == "testing" || strings.HasPrefix(p, "testing/") || p == "net/http/httptest" {
		return true
	}
	return strings.HasPrefix(p, "github.com/syncd/syncd/") && strings.HasSuffix(path.Base(p), "test")
}

func TestTestPackage(t *testing.T) {
	for p, want := range map[string]bool{
		"testing": true, "testing/fstest": true, "net/http/httptest": true,
		"github.com/syncd/syncd/internal/teams/teamstest": true,
		"github.com/syncd/syncd/internal/teams/emulator":  false,
		"internal/synctest": false, "net/http": false, "github.com/syncd/syncd/internal/teams": false,
	} {
		if got := testPackage(p); got != want {
			t.Errorf("testPackage(%q) = %v, want %v", p, got, want)
		}
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
