package daemon

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/source/ldap/slapdtest"
	"github.com/syncd/syncd/internal/teams/emulator"
)

// slowWrites holds every write request for delay before the emulator
// serves it (and applies it, whether or not the client is still waiting,
// like a real server), and says when the first one arrives.
type slowWrites struct {
	h       http.Handler
	delay   time.Duration
	arrived chan struct{}
	done    chan struct{}
}

func (s *slowWrites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		select {
		case <-time.After(s.delay):
		case <-s.done:
		}
	}
	s.h.ServeHTTP(w, r)
}

// stopWorld starts slapd, the emulator behind slowWrites and `syncd run
// --apply`, and returns once the first write is under way.
func stopWorld(t *testing.T, delay time.Duration) (*daemon, *emulator.Emulator) {
	t.Helper()
	requireBinary(t)
	ldapSrv := slapdtest.Start(t, slapdtest.Options{LDIF: companyLDIF()})
	emu, err := emulator.New(companySeed(), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	slow := &slowWrites{h: emu, delay: delay, arrived: make(chan struct{}, 1), done: make(chan struct{})}
	hs := httptest.NewServer(slow)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { close(slow.done) }) // runs first: frees held handlers
	dir := t.TempDir()
	listen := freeAddr(t)
	path := filepath.Join(dir, "config.yaml")
	cfg := daemonConfig(hs.URL+"/v3/teams/"+team, ldapSrv.URL, listen, filepath.Join(dir, "state"), "")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, path, listen, "--apply")
	select {
	case <-slow.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("no write reached the API")
	}
	return d, emu
}

// exitWithin waits for the daemon to exit and returns its code and how long it took.
func (d *daemon) exitWithin(limit time.Duration) (int, time.Duration) {
	d.t.Helper()
	start := time.Now()
	select {
	case <-d.exited:
	case <-time.After(limit):
		d.t.Fatalf("syncd run did not exit within %v", limit)
	}
	code := 0
	if d.exitErr != nil {
		ee, ok := d.exitErr.(interface{ ExitCode() int })
		if !ok {
			d.t.Fatalf("wait: %v", d.exitErr)
		}
		code = ee.ExitCode()
	}
	return code, time.Since(start)
}

// A write under way when SIGTERM comes is finished, no other starts, and
// syncd exits 0.
func TestStopLetsTheWriteUnderWayFinish(t *testing.T) {
	d, emu := stopWorld(t, time.Second)
	d.signal(syscall.SIGTERM)
	code, took := d.exitWithin(15 * time.Second) // the daemon's grace, 10 s, and some
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	t.Logf("exited %v after SIGTERM", took.Round(time.Millisecond))
	var writes []emulator.Request
	for _, r := range emu.Requests() {
		if r.Method != http.MethodGet {
			writes = append(writes, r)
		}
	}
	if len(writes) != 1 || writes[0].Status >= 300 {
		t.Fatalf("writes served after the stop: %+v, want exactly the one under way, succeeded", writes)
	}
	if out := d.out.String(); !strings.Contains(out, `"msg":"Added`) && !strings.Contains(out, `"msg":"Removed`) && !strings.Contains(out, `"msg":"Created`) {
		t.Error("the finished write is not logged as applied")
	}
}

// A write that outlasts the grace is cut; syncd still exits 0, soon after.
func TestStopBoundsAWriteThatHangs(t *testing.T) {
	d, _ := stopWorld(t, time.Minute)
	d.signal(syscall.SIGTERM)
	code, took := d.exitWithin(15 * time.Second)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if took < 2*time.Second {
		t.Errorf("exited %v after SIGTERM: the write under way was not given its grace", took)
	}
}

// A second signal exits at once.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	d, _ := stopWorld(t, time.Minute)
	d.signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	d.signal(syscall.SIGINT)
	code, took := d.exitWithin(2 * time.Second)
	if code == 0 {
		t.Error("exit code 0 after a forced stop, want non-zero")
	}
	if took > time.Second {
		t.Errorf("second signal: exited after %v, want at once", took)
	}
}
