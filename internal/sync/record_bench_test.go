package sync

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/state"
	"github.com/syncd/syncd/internal/teams"
	"github.com/syncd/syncd/internal/teams/emulator"
	"github.com/syncd/syncd/internal/teams/teamstest"
)

// BenchmarkStoreOverhead runs the cold sync of BenchmarkSyncCalls (10,000
// users, 500 groups, 50 tags: 550 writes) once with the state in memory
// and once in a state dir, and reports what the state dir costs per write
// (each write is recorded before the next is sent: one bbolt commit and
// one fsynced audit line) and per run. Against the real API a write takes
// about 600 ms of pacing once the token's burst is spent.
func BenchmarkStoreOverhead(b *testing.B) {
	const nUsers, nGroups, per, nTags = 10_000, 500, 80, 50
	seed, dir, cfg := syncFixture(nUsers, nGroups, per, nTags)
	coldRun := func(store *state.Store) (time.Duration, int) {
		emu, srv := teamstest.NewServer(b, seed, emulator.Options{NoThrottle: true})
		client, err := teams.New(teams.Options{BaseURL: srv.URL + "/api/v3", Token: "tok", HTTPClient: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		e, err := New(Options{Config: cfg, Sources: []Source{&fakeSource{name: "corp", dir: dir}}, Reader: client, Writer: client,
			Store: store, Logger: zap.NewNop()})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := e.RunOnce(context.Background())
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("exit %d: %v %v", res.ExitCode, err, res.Report.Errors)
		}
		return time.Since(start), emu.WriteCount()
	}
	for b.Loop() {
		mem, writes := coldRun(state.Memory())
		store, err := state.Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		file, _ := coldRun(store)
		b.ReportMetric(float64(writes), "writes")
		b.ReportMetric(mem.Seconds(), "memory-s")
		b.ReportMetric(file.Seconds(), "state-dir-s")
		b.ReportMetric(float64((file-mem).Microseconds())/float64(writes), "store-µs/write")
	}
}
