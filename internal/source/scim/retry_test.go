package scim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// throttling answers the first n user-list requests with status and
// Retry-After, then serves an empty directory.
func throttling(t *testing.T, n int32, status int, retryAfter string) (string, *atomic.Int32) {
	var users atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/Users") && users.Add(1) <= n {
			w.Header().Set("Retry-After", retryAfter)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"detail": "slow down"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": 0, "Resources": []any{}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/scim/v2", &users
}

// TestRetryAfterBeyondCap: a provider asking to wait longer than the
// reader waits within a run is not retried early; the source is unknown
// this run, and the error says how long the provider asked for.
func TestRetryAfterBeyondCap(t *testing.T) {
	for _, tc := range []struct {
		name, header, want string
	}{
		{"seconds", "3600", "Retry-After 1h0m0s"},
		{"HTTP-date", time.Now().Add(2*time.Hour + time.Second).UTC().Format(http.TimeFormat), "Retry-After 2h0m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, users := throttling(t, 5, http.StatusTooManyRequests, tc.header)
			r := newReader(t, url, "tok", true)
			var mu sync.Mutex
			var slept []time.Duration
			r.sleep = func(_ context.Context, d time.Duration) error {
				mu.Lock()
				defer mu.Unlock()
				slept = append(slept, d)
				return nil
			}
			_, err := r.Read(context.Background())
			if !errors.Is(err, ErrWaitTooLong) || !strings.Contains(err.Error(), "HTTP 429") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read = %v, want ErrWaitTooLong (HTTP 429) saying %q", err, tc.want)
			}
			if users.Load() != 1 || len(slept) != 0 {
				t.Errorf("%d user requests and waits %v: want one request and no retry", users.Load(), slept)
			}
		})
	}
}

// TestRetryAfterWithinCap: a short Retry-After is waited for, then the
// request is retried.
func TestRetryAfterWithinCap(t *testing.T) {
	url, users := throttling(t, 2, http.StatusServiceUnavailable, "2")
	r := newReader(t, url, "tok", true)
	var slept []time.Duration
	r.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	if _, err := r.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if users.Load() != 3 || len(slept) != 2 || slept[0] != 2*time.Second {
		t.Errorf("%d user requests, waits %v; want 3 requests after two waits of 2s", users.Load(), slept)
	}
}
