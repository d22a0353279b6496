package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRead10k reads 10,000 users and 500 groups (20 direct members
// each, nested in chains) from the scimmy test server and reports the
// HTTP calls made and the wall time of one whole read. The server either
// honours the reader's count (200) or caps pages at 100.
// Run with -bench Read10k.
func BenchmarkRead10k(b *testing.B) {
	s := genSeed(10000, 500)
	for _, maxPage := range []int{0, 100} {
		b.Run(fmt.Sprintf("server_max_page=%d", maxPage), func(b *testing.B) {
			p := startPeer(b, s, fmt.Sprintf("SCIM_MAX_PAGE=%d", maxPage))
			benchReads(b, p.URL, peerToken)
		})
	}
}

// BenchmarkRead10kGoServer reads the same directory from a minimal
// in-process SCIM server, to show the reader's own cost apart from
// scimmy's, and with 50 ms added to every response, like a distant
// identity provider (where fetching pages in parallel pays).
func BenchmarkRead10kGoServer(b *testing.B) {
	for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%v", latency), func(b *testing.B) {
			benchGoServer(b, latency)
		})
	}
}

func benchGoServer(b *testing.B, latency time.Duration) {
	s := genSeed(10000, 500)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(latency)
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		count, _ := strconv.Atoi(r.URL.Query().Get("count"))
		var items []any
		var total int
		switch {
		case strings.HasSuffix(r.URL.Path, "/Users"):
			total = len(s.Users)
			for i := start - 1; i < min(start-1+count, total); i++ {
				items = append(items, s.Users[i])
			}
		case strings.HasSuffix(r.URL.Path, "/Groups"):
			total = len(s.Groups)
			for i := start - 1; i < min(start-1+count, total); i++ {
				items = append(items, s.Groups[i])
			}
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": total, "startIndex": start, "itemsPerPage": len(items), "Resources": items})
	}))
	defer srv.Close()
	benchReads(b, srv.URL+"/scim/v2", "tok")
}

// benchReads reads the 500-group directory at url b.N times and reports
// the calls and wall time of one read.
func benchReads(b *testing.B, url, token string) {
	var calls int
	var wall time.Duration
	b.ResetTimer()
	for range b.N {
		r := newReader(b, url, token, true)
		start := time.Now()
		dir, err := r.Read(context.Background())
		wall += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(dir.Groups) != 500 {
			b.Fatalf("%d groups", len(dir.Groups))
		}
		calls = r.Calls()
	}
	b.ReportMetric(float64(calls), "calls/read")
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/read")
}
