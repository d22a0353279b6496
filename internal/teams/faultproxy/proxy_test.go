package faultproxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// list serves n items with ids 1..n, paged as API v3 pages them.
func list(n int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		num, size := queryInt(r, "page", 1), queryInt(r, "pageSize", 15)
		items := []map[string]int{}
		for id := (num-1)*size + 1; id <= min(n, num*size); id++ {
			items = append(items, map[string]int{"id": id})
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"totalCount": n, "pageSize": size, "page": num,
			"totalPages": max(1, (n+size-1)/size), "items": items})
	})
}

type listPage struct {
	TotalCount int              `json:"totalCount"`
	TotalPages int              `json:"totalPages"`
	Items      []map[string]int `json:"items"`
}

func get(t *testing.T, url string) (int, listPage) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p listPage
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &p)
	return resp.StatusCode, p
}

func ids(p listPage) []int {
	var out []int
	for _, it := range p.Items {
		out = append(out, it["id"])
	}
	return out
}

func TestRulesPickRequestsByOrdinalAndPage(t *testing.T) {
	cases := []struct {
		rule Rule
		want []int // status of requests 1..5 to /api/v3/things?page=2
	}{
		{Rule{Path: "/things", Fault: Status(503)}, []int{503, 200, 200, 200, 200}},
		{Rule{Path: "/things", Nth: 2, Times: 2, Fault: Status(502)}, []int{200, 502, 502, 200, 200}},
		{Rule{Path: "/things", Times: -1, Fault: Status(500)}, []int{500, 500, 500, 500, 500}},
		{Rule{Method: "POST", Path: "/things", Fault: Status(500)}, []int{200, 200, 200, 200, 200}},
		{Rule{Path: "/things", Page: 1, Fault: Status(500)}, []int{200, 200, 200, 200, 200}},
		{Rule{Path: "/things", Page: 2, Fault: Status(504)}, []int{504, 200, 200, 200, 200}},
		{Rule{Path: "/*/things", Nth: 5, Fault: Status(500)}, []int{200, 200, 200, 200, 500}},
		{Rule{Path: "/other", Fault: Status(500)}, []int{200, 200, 200, 200, 200}},
	}
	for i, tc := range cases {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			p := New(list(40), tc.rule)
			srv := httptest.NewServer(p)
			defer srv.Close()
			var got []int
			for range 5 {
				code, _ := get(t, srv.URL+"/api/v3/things?page=2&pageSize=15")
				got = append(got, code)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("statuses %v, want %v (log %v)", got, tc.want, p.Log())
			}
		})
	}
}

// Hiding an item on page 1 moves the first item of page 2 onto page 1.
func TestHideShiftsLaterPages(t *testing.T) {
	p := New(list(20), Rule{Path: "/things", Page: 2, Fault: Hide(3)})
	srv := httptest.NewServer(p)
	defer srv.Close()
	_, p1 := get(t, srv.URL+"/api/v3/things?page=1&pageSize=15")
	_, p2 := get(t, srv.URL+"/api/v3/things?page=2&pageSize=15")
	if len(p1.Items) != 15 || p1.TotalCount != 20 {
		t.Fatalf("page 1 before the deletion: %+v", p1)
	}
	if want := []int{17, 18, 19, 20}; !slices.Equal(ids(p2), want) || p2.TotalCount != 19 || p2.TotalPages != 2 {
		t.Errorf("page 2 after hiding 3: ids %v total %d pages %d; want %v, 19, 2", ids(p2), p2.TotalCount, p2.TotalPages, want)
	}
	_, again := get(t, srv.URL+"/api/v3/things?page=1&pageSize=15")
	if slices.Contains(ids(again), 3) || !slices.Contains(ids(again), 16) {
		t.Errorf("page 1 read again: %v", ids(again))
	}
}

func TestEnvelopeFaults(t *testing.T) {
	cases := []struct {
		f     Fault
		check func(p listPage, raw string) bool
	}{
		{NullItems(), func(p listPage, raw string) bool { return p.Items == nil && p.TotalCount == 40 }},
		{EmptyItems(), func(p listPage, raw string) bool { return p.Items != nil && len(p.Items) == 0 && p.TotalCount == 40 }},
		{DropItems(2), func(p listPage, raw string) bool { return len(p.Items) == 13 && p.TotalCount == 40 }},
		{AddTotal(-1), func(p listPage, raw string) bool { return len(p.Items) == 15 && p.TotalCount == 39 }},
		{EmptyBody(), func(p listPage, raw string) bool { return raw == "" }},
	}
	for i, tc := range cases {
		p := New(list(40), Rule{Path: "/things", Fault: tc.f})
		srv := httptest.NewServer(p)
		resp, err := http.Get(srv.URL + "/api/v3/things?pageSize=15")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var pg listPage
		_ = json.Unmarshal(b, &pg)
		if !tc.check(pg, string(b)) {
			t.Errorf("fault %d: answer %s", i, b)
		}
		srv.Close()
	}
}

func TestConnectionFaults(t *testing.T) {
	var applied atomic.Int32
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { applied.Add(1); fmt.Fprint(w, "{}") })
	for _, f := range []Fault{Reset(), LoseAnswer()} {
		applied.Store(0)
		p := New(api, Rule{Fault: f})
		srv := httptest.NewServer(p)
		resp, err := http.Post(srv.URL+"/x", "application/json", nil)
		if err == nil {
			resp.Body.Close()
			t.Errorf("got an answer %d, want a dropped connection", resp.StatusCode)
		}
		srv.Close()
	}
	if n := applied.Load(); n != 1 {
		t.Errorf("LoseAnswer forwarded %d requests, want 1", n)
	}
}

// Delay and Hold forward the request late; Wait tells when it has landed.
func TestLateForwarding(t *testing.T) {
	var applied atomic.Int32
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { applied.Add(1); fmt.Fprint(w, "{}") })
	release := make(chan struct{})
	p := New(api, Rule{Path: "/slow", Fault: Delay(time.Millisecond)}, Rule{Path: "/held", Fault: Hold(release)})
	srv := httptest.NewServer(p)
	defer srv.Close()
	if code, _ := get(t, srv.URL+"/slow"); code != 200 || applied.Load() != 1 {
		t.Fatalf("delayed request: %d, %d applied", code, applied.Load())
	}
	done := make(chan int)
	go func() {
		resp, err := http.Get(srv.URL + "/held")
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("held request: %d", code)
	}
	p.Wait()
	if applied.Load() != 2 {
		t.Errorf("%d applied, want 2", applied.Load())
	}
}
