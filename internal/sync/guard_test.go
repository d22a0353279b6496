package sync

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/config"
	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/faultproxy"
)

// slowWrite takes `took` for the write, or until its context ends.
func slowWrite(took time.Duration, writes *int) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		*writes++
		select {
		case <-time.After(took):
			return 0, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// A stop (the run's context cancelled) lets the write under way finish,
// starts no other, and cuts a write only the grace after the stop: the
// same for `syncd sync --apply` and the daemon, which share the applier.
func TestStopLetsTheWriteUnderWayFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{store: state.Memory(), now: time.Now, grace: 3 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel) // SIGTERM during the write
		writes := 0
		start := time.Now()
		if err := rec.send(ctx, write{call: "POST /user-groups/1/members"}, slowWrite(time.Second, &writes)); err != nil {
			t.Errorf("write under way at the stop: %v, want it to finish", err)
		}
		if took := time.Since(start); took != time.Second {
			t.Errorf("write took %v, want its full 1s", took)
		}
		if err := rec.send(ctx, write{call: "DELETE /tags/1/subject-matter-experts/users/2"}, slowWrite(0, &writes)); !errors.Is(err, context.Canceled) {
			t.Errorf("write after the stop: %v, want context.Canceled", err)
		}
		if writes != 1 {
			t.Errorf("writes sent = %d, want 1: none may start after the stop", writes)
		}
	})
}

func TestStopCutsAWriteAfterTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{store: state.Memory(), now: time.Now, grace: 3 * time.Second}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		writes := 0
		start := time.Now()
		if err := rec.send(ctx, write{call: "PUT /user-groups/1"}, slowWrite(time.Minute, &writes)); !errors.Is(err, context.Canceled) {
			t.Errorf("endless write: %v, want it cut after the grace", err)
		}
		if took := time.Since(start); took != 4*time.Second {
			t.Errorf("write cut after %v, want 1s + 3s grace", took)
		}
		if err := rec.send(context.Background(), write{call: "PUT /user-groups/1"}, slowWrite(10*time.Second, &writes)); err != nil {
			t.Errorf("a long write without a stop: %v", err)
		}
	})
}

// TestWriteCutByTheGraceIsUnknown: a write the API is still answering
// when the grace ends may have landed: it is recorded as unknown and
// reported so, not as failed; the next run finishes it.
func TestWriteCutByTheGraceIsUnknown(t *testing.T) {
	seed := &emulator.Seed{Users: seedUsers("ann", "bob"), UserGroups: []emulator.SeedGroup{{ID: 100, Name: "Platform", UserIDs: []int{10}}},
		Tokens: []emulator.SeedToken{{Token: "tok", Admin: true, Write: true}}}
	emu, err := emulator.New(seed, emulator.Options{NoThrottle: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// The stop arrives as the write is received, and the API takes 2s to
	// apply it: longer than the grace.
	slowAfterStop := func(w http.ResponseWriter, req *http.Request, next http.Handler) {
		cancel()
		time.Sleep(2 * time.Second)
		next.ServeHTTP(w, req)
	}
	p := faultproxy.New(emu, faultproxy.Rule{Method: "POST", Path: "/user-groups/*/members", Fault: slowAfterStop})
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	r := rigFor(t, emu, srv, dirOf(map[string][]string{"platform": {"ann", "bob"}}))
	r.cfg.Groups = []config.Mapping{{Source: "corp", From: "platform", To: "Platform"}}
	client, _ := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client(), MaxRetries: -1})
	r.api = client
	dir := t.TempDir()
	if r.store, err = state.Open(dir); err != nil {
		t.Fatal(err)
	}
	e, err := New(Options{Config: r.cfg, Sources: []Source{r.src}, Reader: client, Writer: client, Store: r.store,
		Logger: zap.NewNop(), WriteGrace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := e.RunOnce(ctx)
	p.Wait()
	lines, _ := state.ReadAudit(dir, 1<<20)
	if len(lines) != 1 || lines[0].Result != state.ResultUnknown {
		t.Errorf("audit: %+v; want the cut write as unknown", lines)
	}
	if f := failedChanges(res); !strings.Contains(f, "outcome unknown") {
		t.Errorf("report: %q; want the change reported with an unknown outcome", f)
	}
	if got := members(t, emu, "Platform"); !slices.Equal(got, []int{10, 11}) {
		t.Errorf("Platform: %v; the write landed after all", got)
	}
}
