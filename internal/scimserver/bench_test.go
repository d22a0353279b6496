package scimserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkGroupMembershipPatch sends 1,000 group-membership PATCH
// requests (Entra ID's Add / Remove members forms, alternating) per
// iteration over real HTTP to a receiver holding 10,000 users and 100
// groups of 50 (or 10 groups of 5,000), and reports the latency percentiles. Each request is a durable
// bbolt commit. Run with -bench GroupMembershipPatch.
func BenchmarkGroupMembershipPatch(b *testing.B) {
	for _, tc := range []struct{ clients, groups, members int }{{1, 100, 50}, {4, 100, 50}, {1, 10, 5000}} {
		b.Run(fmt.Sprintf("clients=%d/group_size=%d", tc.clients, tc.members), func(b *testing.B) {
			benchPatch(b, tc.clients, tc.groups, tc.members)
		})
	}
}

func benchPatch(b *testing.B, clients, groups, members int) {
	store, err := OpenStore(StorePath(b.TempDir(), "bench"))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler("bench", store, testToken, func() {}, zap.NewNop()))
	defer srv.Close()
	base := srv.URL + "/scim/bench/v2"
	uids, gids := seedBench(b, store, 10000, groups, members)
	const requests = 1000
	var all []time.Duration
	b.ResetTimer()
	for range b.N {
		lat := make([]time.Duration, requests)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// An identity provider keeps its connections: open this
				// client's before timing.
				benchDo(b, "GET", base+"/ServiceProviderConfig", "", 200)
				for i := c; i < requests; i += clients {
					op := []string{"Add", "Remove"}[i/len(gids)%2]
					body := fmt.Sprintf(`{"schemas": [%q], "Operations": [{"op": %q, "path": "members", "value": [{"value": %q}]}]}`,
						patchSchema, op, uids[(i*7)%len(uids)])
					start := time.Now()
					benchDo(b, "PATCH", base+"/Groups/"+gids[i%len(gids)], body, 204)
					lat[i] = time.Since(start)
				}
			}()
		}
		wg.Wait()
		all = append(all, lat...)
	}
	b.StopTimer()
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(pct(0.50), "p50_ms")
	b.ReportMetric(pct(0.99), "p99_ms")
	b.ReportMetric(float64(all[len(all)-1])/float64(time.Millisecond), "max_ms")
	b.ReportMetric(0, "ns/op")
}

// benchClient keeps a connection per client goroutine (the default keeps
// two idle connections per host, and the others would reconnect each time).
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func benchDo(b *testing.B, method, url, body string, want int) object {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", contentTypeSCIM)
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Error(err)
		return nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		b.Errorf("%s %s: %d: %s", method, url, resp.StatusCode, data)
		return nil
	}
	var o object
	if len(data) > 0 {
		_ = json.Unmarshal(data, &o)
	}
	return o
}

// seedBench stores users and groups of members each directly, in one commit.
func seedBench(b *testing.B, store *Store, users, groups, members int) (uids, gids []string) {
	_, err := store.update(func(t *txn) error {
		for i := range users {
			r := &record{ID: newID(), Seq: t.nextSeq(), Created: t.now, Modified: t.now,
				Attrs: object{"userName": fmt.Sprintf("user%d@example.com", i), "active": true}}
			t.put(Users, r)
			uids = append(uids, r.ID)
		}
		for i := range groups {
			var m []any
			for j := range members {
				m = append(m, object{"value": uids[(i*members+j)%len(uids)], "type": "User"})
			}
			r := &record{ID: newID(), Seq: t.nextSeq(), Created: t.now, Modified: t.now,
				Attrs: object{"displayName": fmt.Sprintf("group-%d", i), "members": m}}
			t.put(Groups, r)
			gids = append(gids, r.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return uids, gids
}

// BenchmarkSourceRead reads a store of 10,000 users and 500 groups of 20
// as a sync does (another bbolt handle, read-only) and reports how long
// the file stays locked against the receiver's writes (the copy) apart
// from the whole read.
func BenchmarkSourceRead(b *testing.B) {
	dir := b.TempDir()
	store, err := OpenStore(StorePath(dir, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	seedBench(b, store, 10000, 500, 20)
	src, err := NewSource("bench", dir)
	if err != nil {
		b.Fatal(err)
	}
	var locked time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := copyFile(src.path); err != nil {
			b.Fatal(err)
		}
		locked += time.Since(start)
		d, err := src.Read(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Users) != 10000 || len(d.Groups) != 500 {
			b.Fatalf("read %d users, %d groups", len(d.Users), len(d.Groups))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(locked)/float64(b.N)/float64(time.Millisecond), "locked_ms/read")
	b.ReportMetric(float64(b.Elapsed()-locked)/float64(b.N)/float64(time.Millisecond), "ms/read")
	b.ReportMetric(0, "ns/op")
}
