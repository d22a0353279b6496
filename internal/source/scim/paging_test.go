package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// misbehaving serves /Users and /Groups from n resources each, paged by 10
// (or by size(start) when set), with a defect injected by page(start) ->
// (start to serve, totalResults).
func misbehaving(t *testing.T, n int, page func(start int) (int, int), size func(start int) int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		// Only the attributes syncd uses are asked for (the full schema
		// of 10,000 users would be several times larger).
		want := groupAttributes
		if strings.HasSuffix(r.URL.Path, "/Users") {
			want = userAttributes
		}
		if got := r.URL.Query().Get("attributes"); got != want {
			w.WriteHeader(400)
			_, _ = fmt.Fprintf(w, `{"status": "400", "detail": "attributes=%s, want %s"}`, got, want)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		from, total := page(start)
		per := 10
		if size != nil {
			per = size(start)
		}
		var res []map[string]any
		for i := from; i < from+per && i <= n; i++ {
			if strings.HasSuffix(r.URL.Path, "/Users") {
				res = append(res, map[string]any{"id": fmt.Sprintf("u%d", i), "userName": fmt.Sprintf("u%d@x.com", i)})
			} else {
				res = append(res, map[string]any{"id": fmt.Sprintf("g%d", i), "displayName": fmt.Sprintf("g%d", i)})
			}
		}
		w.Header().Set("Content-Type", "application/scim+json")
		_ = json.NewEncoder(w).Encode(map[string]any{"totalResults": total, "itemsPerPage": len(res), "startIndex": start, "Resources": res})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/scim/v2"
}

func TestPagingDefects(t *testing.T) {
	for _, tc := range []struct {
		name string
		page func(start int) (int, int)
		want string
	}{
		{"honest", func(s int) (int, int) { return s, 25 }, ""},
		{"ignores startIndex", func(int) (int, int) { return 1, 25 }, "returned twice"},
		{"total grows", func(s int) (int, int) { return s, 25 + s }, "totalResults changed"},
		{"total too small", func(s int) (int, int) { return s, 5 }, "totalResults is 5"},
		{"total too large", func(s int) (int, int) { return s, 40 }, "empty page"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReader(t, misbehaving(t, 25, tc.page, nil), "tok", true)
			dir, err := r.Read(context.Background())
			if tc.want == "" {
				if err != nil || len(dir.Users) != 25 || len(dir.Groups) != 25 {
					t.Fatalf("Read = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Read = %v, want ErrInconsistent saying %q", err, tc.want)
			}
		})
	}
}

// TestUnevenPages: after a first page of 10, the pages fetched in parallel
// come back short or long; the gaps are read after them, overlaps skipped,
// and every resource is read exactly once.
func TestUnevenPages(t *testing.T) {
	sizes := map[int]int{1: 10, 11: 4, 21: 13, 31: 10, 41: 1, 51: 10, 61: 10}
	var mu sync.Mutex
	var starts []int
	url := misbehaving(t, 67, func(s int) (int, int) {
		mu.Lock()
		starts = append(starts, s)
		mu.Unlock()
		return s, 67
	}, func(s int) int {
		if n, ok := sizes[s]; ok {
			return n
		}
		return 3 // gap fills
	})
	r := newReader(t, url, "tok", true)
	dir, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(dir.Users) != 67 || len(dir.Groups) != 67 {
		t.Fatalf("read %d users, %d groups, want 67 each", len(dir.Users), len(dir.Groups))
	}
	t.Logf("startIndex requested: %v", starts)
}

// TestRandomPagesNeverLoseAResource serves 67 users and 67 groups in pages
// of random sizes, some pages lying in one way per read: starting one
// late, one early or at the beginning, with a totalResults one off, or
// empty. 300 reads: each must fail or read every resource exactly once (a
// resource left out without a word would have syncd remove its people).
// An honest server, however uneven its pages, must be read whole.
func TestRandomPagesNeverLoseAResource(t *testing.T) {
	const n = 67
	lies := []func(s int) (int, int){
		nil, // honest
		func(s int) (int, int) { return s + 1, n },
		func(s int) (int, int) { return max(1, s-1), n },
		func(int) (int, int) { return 1, n },
		func(s int) (int, int) { return s, n + 1 },
		func(s int) (int, int) { return s, n - 1 },
		nil, // empty pages
	}
	failed := 0
	for i := range 300 {
		rng := rand.New(rand.NewPCG(uint64(i), 9))
		kind := rng.IntN(len(lies))
		var mu sync.Mutex
		draw := func(k int) int { mu.Lock(); defer mu.Unlock(); return rng.IntN(k) }
		url := misbehaving(t, n, func(s int) (int, int) {
			if lies[kind] == nil || draw(6) > 0 {
				return s, n
			}
			return lies[kind](s)
		}, func(int) int {
			if kind == len(lies)-1 && draw(6) == 0 {
				return 0
			}
			return 1 + draw(15)
		})
		dir, err := newReader(t, url, "tok", true).Read(context.Background())
		if err != nil {
			failed++
		}
		switch {
		case err != nil && kind == 0:
			t.Errorf("read %d: an honest server with uneven pages: %v", i, err)
		case err == nil && (len(dir.Users) != n || len(dir.Groups) != n):
			t.Errorf("read %d (lie %d): %d users and %d groups, want %d each and no error", i, kind, len(dir.Users), len(dir.Groups), n)
		}
	}
	t.Logf("%d of 300 reads failed", failed)
}
