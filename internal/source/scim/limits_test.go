package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hugeServer announces total resources, serving perPage of them per
// request; block, when set, holds every page after the first until the
// request is abandoned.
func hugeServer(t *testing.T, total, perPage int, block bool, requests *atomic.Int64) string {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		if block && start > 1 {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		prefix := "u"
		if strings.HasSuffix(r.URL.Path, "/Groups") {
			prefix = "g"
		}
		var res []map[string]any
		for i := start; i < start+perPage; i++ {
			res = append(res, map[string]any{"id": fmt.Sprintf("%s%d", prefix, i), "userName": "x", "displayName": "x"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": total, "itemsPerPage": perPage, "startIndex": start, "Resources": res})
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv.URL + "/scim/v2"
}

// peakGoroutines runs f while sampling runtime.NumGoroutine and returns
// the highest count seen above the count before f.
func peakGoroutines(f func()) int {
	base := runtime.NumGoroutine()
	var peak atomic.Int64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if n := int64(runtime.NumGoroutine()); n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	return int(peak.Load()) - base
}

// goroutineBound is generous: per endpoint parallelPages workers and a
// generator, plus client and server goroutines per connection in flight.
const goroutineBound = 100

func TestHugeTotalRefused(t *testing.T) {
	for _, tc := range []struct {
		name           string
		total, perPage int
		want           string
	}{
		{"2 million at 1 per page", 2_000_000, 1, "needs 1999999 more pages"},
		{"20 million at 200 per page", 20_000_000, 200, "totalResults 20000000 is over the limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var requests atomic.Int64
			r := newReader(t, hugeServer(t, tc.total, tc.perPage, false, &requests), "tok", false)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var err error
			peak := peakGoroutines(func() { _, err = r.Read(ctx) })
			t.Logf("peak %d goroutines above the start, %d requests", peak, requests.Load())
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read = %v, want ErrTooLarge saying %q", err, tc.want)
			}
			if peak > goroutineBound {
				t.Errorf("%d goroutines above the start, want at most %d", peak, goroutineBound)
			}
			// Refused on the first page of each endpoint, before fetching more.
			if n := requests.Load(); n > 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

// TestDeadlineHonoured: a listing within the limits whose pages never
// come must end at the caller's deadline with a bounded number of goroutines.
func TestDeadlineHonoured(t *testing.T) {
	var requests atomic.Int64
	r := newReader(t, hugeServer(t, 50_000, 1, true, &requests), "tok", false)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var err error
	var took time.Duration
	peak := peakGoroutines(func() {
		start := time.Now()
		_, err = r.Read(ctx)
		took = time.Since(start)
	})
	t.Logf("returned after %v, peak %d goroutines above the start, %d requests", took, peak, requests.Load())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read = %v, want the deadline", err)
	}
	// Generous: the point is not waiting on 50,000 pages or the 5 s client timeout.
	if took > 3*time.Second {
		t.Errorf("Read returned %v after start, deadline was 200ms", took)
	}
	if peak > goroutineBound {
		t.Errorf("%d goroutines above the start, want at most %d", peak, goroutineBound)
	}
	if n := requests.Load(); n > 2+2*parallelPages*(maxRetries+1) {
		t.Errorf("%d requests sent, want at most the first pages and one batch of workers", n)
	}
}

func TestResponseTooLarge(t *testing.T) {
	big := strings.Repeat("x", maxResponseBytes)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := []map[string]any{{"id": "a", "userName": "a", "displayName": big}}
		_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": 1, "Resources": res})
	}))
	defer srv.Close()
	r := newReader(t, srv.URL+"/scim/v2", "tok", false)
	if _, err := r.Read(context.Background()); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over 32 MiB") {
		t.Fatalf("Read = %v, want ErrTooLarge", err)
	}
}
