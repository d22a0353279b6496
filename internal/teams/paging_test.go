package teams

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// pagedUsers serves n users in pages, with totalPages for an empty list
// set by emptyTotal (0 or 1), as the real API might.
func pagedUsers(n, emptyTotal int, calls *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		if size != 100 || page < 1 {
			problem(w, 400, "bad paging", r.URL.RawQuery)
			return
		}
		total := (n + size - 1) / size
		if n == 0 {
			total = emptyTotal
		}
		var items []User
		for i := (page-1)*size + 1; i <= min(n, page*size); i++ {
			items = append(items, User{UserSummary: UserSummary{ID: i}})
		}
		writeJSON(w, 200, Page[User]{TotalCount: n, PageSize: size, Page: page, TotalPages: total, Items: items})
	})
}

func TestListUsersPaging(t *testing.T) {
	cases := []struct {
		n, emptyTotal, wantCalls int
	}{
		{0, 0, 1}, {0, 1, 1}, {1, 1, 1}, {100, 1, 1}, {101, 1, 2}, {250, 1, 3},
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.n)+"/"+strconv.Itoa(tc.emptyTotal), func(t *testing.T) {
			var calls atomic.Int32
			c, _ := newTestClient(t, pagedUsers(tc.n, tc.emptyTotal, &calls))
			users, err := c.ListUsers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != tc.n || users == nil {
				t.Errorf("got %d users (nil: %v), want %d", len(users), users == nil, tc.n)
			}
			for i, u := range users {
				if u.ID != i+1 {
					t.Fatalf("users[%d].ID = %d", i, u.ID)
				}
			}
			if int(calls.Load()) != tc.wantCalls || c.Calls() != tc.wantCalls {
				t.Errorf("server saw %d calls, client counted %d, want %d", calls.Load(), c.Calls(), tc.wantCalls)
			}
		})
	}
}

func TestPagingStopsOnEmptyPage(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		p := Page[UserGroup]{TotalCount: 500, PageSize: 100, Page: page, TotalPages: 5}
		if page == 1 {
			p.Items = []UserGroup{{ID: 1, Name: "a"}}
		}
		writeJSON(w, 200, p)
	})
	c, _ := newTestClient(t, h)
	groups, err := c.ListUserGroups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || calls.Load() != 2 {
		t.Errorf("got %d groups in %d calls, want 1 group in 2 calls", len(groups), calls.Load())
	}
}

// A server that never stops (totalPages growing, items on every page) is
// followed only as far as its first totalCount justifies.
func TestPagingNeverLoopsForever(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		writeJSON(w, 200, Page[User]{TotalCount: 150 + 100*n, Page: page, TotalPages: page + 1,
			Items: []User{{UserSummary: UserSummary{ID: n}}}})
	})
	c, _ := newTestClient(t, h)
	_, err := c.ListUsers(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listing abandoned") {
		t.Fatalf("err = %v, want the listing abandoned", err)
	}
	if got := calls.Load(); got != int32(pageLimit(250)) {
		t.Errorf("calls = %d, want %d", got, pageLimit(250))
	}
}

func TestPagingRejectsWrongPage(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server ignoring the page parameter.
		writeJSON(w, 200, Page[User]{TotalCount: 300, Page: 1, TotalPages: 3,
			Items: []User{{UserSummary: UserSummary{ID: 1}}}})
	})
	c, _ := newTestClient(t, h)
	if _, err := c.ListUsers(context.Background()); err == nil || !strings.Contains(err.Error(), "got page 1") {
		t.Fatalf("err = %v, want a page mismatch", err)
	}
}

func TestFindTagExactMatchAcrossPages(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.URL.Query().Get("partialName") != "go" {
			writeJSON(w, 200, Page[Tag]{Page: 1, TotalPages: 1, Items: []Tag{}})
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		p := Page[Tag]{TotalCount: 150, Page: page, TotalPages: 2}
		if page == 1 {
			p.Items = []Tag{{ID: 1, Name: "golang"}, {ID: 2, Name: "go-modules"}}
		} else {
			p.Items = []Tag{{ID: 3, Name: "mongo"}, {ID: 4, Name: "Go"}}
		}
		writeJSON(w, 200, p)
	})
	c, _ := newTestClient(t, h)
	tag, err := c.FindTag(context.Background(), "go")
	if err != nil || tag.ID != 4 {
		t.Fatalf("FindTag = %+v, %v; want tag 4", tag, err)
	}
	if _, err := c.FindTag(context.Background(), "gopher"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FindTag(gopher) err = %v, want ErrNotFound", err)
	}
}
