package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// misbehaving serves /Users and /Groups from n resources each, paged by 10,
// with a defect injected by page(start) -> (start to serve, totalResults).
func misbehaving(t *testing.T, n int, page func(start int) (int, int)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			return
		}
		start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
		from, total := page(start)
		var res []map[string]any
		for i := from; i < from+10 && i <= n; i++ {
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
			r := newReader(t, misbehaving(t, 25, tc.page), "tok", true)
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
