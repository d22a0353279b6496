package teams

import (
	"context"
	"errors"
	"fmt"
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
		items := []User{}
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
			users, err := c.ListAccounts(context.Background())
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

// An empty page before the last is not the end of the list: it is an
// incomplete listing.
func TestPagingEmptyPageIsIncomplete(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		p := Page[UserGroup]{TotalCount: 500, PageSize: 100, Page: page, TotalPages: 5, Items: []UserGroup{}}
		if page == 1 {
			for i := 1; i <= 100; i++ {
				p.Items = append(p.Items, UserGroup{ID: i, Name: "a", Users: []UserSummary{}})
			}
		}
		writeJSON(w, 200, p)
	})
	c, _ := newTestClient(t, h)
	groups, err := c.ListUserGroups(context.Background())
	var inc *IncompleteError
	if !errors.As(err, &inc) || inc.Page != 2 || !strings.Contains(err.Error(), "page 2 of 5 has 0 items") || groups != nil {
		t.Errorf("got %d groups, err %v; want an IncompleteError at page 2", len(groups), err)
	}
	if calls.Load() != 2 {
		t.Errorf("%d calls, want 2", calls.Load())
	}
}

// A server that never settles (a list growing at every page) is read
// three times from page 1, then given up.
func TestPagingGrowingListGivesUp(t *testing.T) {
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1))
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		p := Page[User]{TotalCount: 200 + 100*n, PageSize: 100, Page: page, TotalPages: 2 + n}
		for i := 1; i <= 100; i++ {
			p.Items = append(p.Items, User{UserSummary: UserSummary{ID: 1000*n + i}})
		}
		writeJSON(w, 200, p)
	})
	c, _ := newTestClient(t, h)
	_, err := c.ListAccounts(context.Background())
	var inc *IncompleteError
	if !errors.As(err, &inc) || inc.Reads != maxListReads || !strings.Contains(err.Error(), "totalCount changed from") {
		t.Fatalf("err = %v, want the listing given up after %d reads", err, maxListReads)
	}
	if got := calls.Load(); got != 2*maxListReads {
		t.Errorf("calls = %d, want %d", got, 2*maxListReads)
	}
}

func TestPagingRejectsWrongPage(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server ignoring the page parameter.
		p := Page[User]{TotalCount: 300, Page: 1, TotalPages: 3}
		for i := 1; i <= 100; i++ {
			p.Items = append(p.Items, User{UserSummary: UserSummary{ID: i}})
		}
		writeJSON(w, 200, p)
	})
	c, _ := newTestClient(t, h)
	if _, err := c.ListAccounts(context.Background()); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "asked for page 2, got page 1") {
		t.Fatalf("err = %v, want a page mismatch", err)
	}
}

// A server that pages by fewer items than asked says so in pageSize:
// the pages are checked against what it used.
func TestPagingFollowsEchoedPageSize(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		p := Page[User]{TotalCount: 70, PageSize: 50, Page: page, TotalPages: 2}
		for i := (page-1)*50 + 1; i <= min(70, page*50); i++ {
			p.Items = append(p.Items, User{UserSummary: UserSummary{ID: i}})
		}
		writeJSON(w, 200, p)
	})
	c, _ := newTestClient(t, h)
	users, err := c.ListUsers(context.Background())
	if err != nil || len(users) != 70 {
		t.Fatalf("got %d users, %v; want 70", len(users), err)
	}
}

func TestFindTagExactMatchAcrossPages(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("partialName") != "go" {
			writeJSON(w, 200, Page[Tag]{Page: 1, TotalPages: 1, Items: []Tag{}})
			return
		}
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		p := Page[Tag]{TotalCount: 150, Page: page, TotalPages: 2}
		for i := (page-1)*100 + 1; i <= min(150, page*100); i++ {
			p.Items = append(p.Items, Tag{ID: i, Name: fmt.Sprintf("golang-%d", i)})
		}
		if page == 2 {
			p.Items[49].Name = "Go"
		}
		writeJSON(w, 200, p)
	})
	c, _ := newTestClient(t, h)
	tag, err := c.FindTag(context.Background(), "go")
	if err != nil || tag.ID != 150 {
		t.Fatalf("FindTag = %+v, %v; want tag 150", tag, err)
	}
	if _, err := c.FindTag(context.Background(), "gopher"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FindTag(gopher) err = %v, want ErrNotFound", err)
	}
}
