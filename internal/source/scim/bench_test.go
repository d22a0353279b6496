package scim

import (
	"context"
	"fmt"
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
			var calls int
			var wall time.Duration
			b.ResetTimer()
			for range b.N {
				r := newReader(b, p.URL, peerToken, true)
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
		})
	}
}
