package teams_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/faultproxy"
)

const (
	memChildEnv = "SYNCD_TEAMS_MEMLIMIT_CHILD"
	memLimit    = 128 << 20
	hugeAnswer  = 400 << 20
)

// A 400 MB answer under a 128 MiB GOMEMLIMIT is refused with an error
// naming the limit, and the heap stays under the memory limit. It runs in
// a child process, so that GOMEMLIMIT is the runtime's own and the heap
// measured is this test's alone.
func TestHugeAnswerUnderMemoryLimit(t *testing.T) {
	if os.Getenv(memChildEnv) == "1" {
		hugeAnswerChild(t)
		return
	}
	if testing.Short() {
		t.Skip("reads 32 MiB or more through a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHugeAnswerUnderMemoryLimit$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), memChildEnv+"=1", fmt.Sprintf("GOMEMLIMIT=%dMiB", memLimit>>20))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestHugeAnswerUnderMemoryLimit") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "heap") {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func hugeAnswerChild(t *testing.T) {
	if got := debug.SetMemoryLimit(-1); got != memLimit {
		t.Fatalf("GOMEMLIMIT in the child is %d, want %d", got, memLimit)
	}
	e, err := emulator.New(baseSeed(), emulator.Options{NoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.New(e, faultproxy.Rule{Method: "GET", Path: "/user-groups", Fault: faultproxy.Huge(hugeAnswer)})
	srv := httptest.NewServer(p)
	defer srv.Close()
	c := client(t, srv.URL+"/api/v3", adminToken)

	_, err = c.ListUserGroups(context.Background())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)

	var tl *teams.TooLargeError
	if !errors.As(err, &tl) || !errors.Is(err, teams.ErrTooLarge) {
		t.Fatalf("err = %v, want a TooLargeError", err)
	}
	if tl.Limit > memLimit/8 || !strings.Contains(err.Error(), "MiB") || !strings.Contains(err.Error(), "raise") {
		t.Errorf("limit %d, message %q; want at most an eighth of %d and how to raise it", tl.Limit, err, memLimit)
	}
	// HeapSys is the most heap the process ever held from the OS (it is
	// not given back, only marked released): a bound on the peak.
	t.Logf("heap: peak %d MiB (HeapSys), in use %d MiB, limit %d MiB, answer limit %d MiB",
		ms.HeapSys>>20, ms.HeapInuse>>20, memLimit>>20, tl.Limit>>20)
	if ms.HeapSys >= memLimit {
		t.Errorf("the heap grew to %d MiB under a %d MiB memory limit", ms.HeapSys>>20, memLimit>>20)
	}
}
