package teams

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestLimitsFloor(t *testing.T) {
	d := Documented
	for _, tc := range []struct {
		n, left int
		want    time.Duration
	}{
		{0, 5000, 0}, {1, 5000, 0}, {50, 5000, 0}, {51, 5000, 2 * time.Second},
		{2253, 5000, 90 * time.Second},  // 45 more windows after the first
		{12503, 5000, 76 * time.Minute}, // 7,503 calls past the bucket: 76 refills
		{150, 0, 2 * time.Minute},       // an empty bucket: refills only
	} {
		if got := d.Floor(tc.n, tc.left); got != tc.want {
			t.Errorf("Floor(%d, %d) = %v, want %v", tc.n, tc.left, got, tc.want)
		}
	}
}

// TimeFor counts from the bucket the last answer stated, less pacing's
// reserve; before any answer it does not guess.
func TestTimeFor(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Token-Bucket-Calls-Left", "120")
		w.Header().Set("X-Token-Bucket-Seconds-Until-Next-Refill", "30")
		writeJSON(w, 200, map[string]any{"totalCount": 0, "pageSize": 100, "page": 1, "totalPages": 1, "items": []any{}})
	}))
	if _, ok := c.TimeFor(10); ok {
		t.Error("TimeFor before any answer: ok")
	}
	if _, err := c.ListAccounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 120 left, 2 kept in reserve: 500 calls wait for 4 refills of 100.
	if got, ok := c.TimeFor(500); !ok || got != 4*time.Minute {
		t.Errorf("TimeFor(500) = %v, %v; want 4m0s", got, ok)
	}
	if got, _ := c.TimeFor(100); got != 2*time.Second {
		t.Errorf("TimeFor(100) = %v, want 2s (a second burst window)", got)
	}
}
