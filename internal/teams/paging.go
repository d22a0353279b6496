package teams

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxListReads is how many times a listing that changes while it is read
// is read from page 1 before it is given up as incomplete.
const maxListReads = 3

// lister reads one list endpoint and proves the pages add up.
type lister[T any] struct {
	route    string
	query    url.Values // besides page and pageSize; optional
	pageSize int        // asked for; default pageSize
	id       func(*T) int
	// check says what an item lacks ("" when it is usable), e.g. a group
	// without its members; optional.
	check func(*T) string
	// decode reads one item; optional (default: decodeValue).
	decode func(*scanner, *T) error
}

// changed is a listing that moved while it was read: read it again.
type changed struct{ *IncompleteError }

// each reads the listing, handing each page's items to visit in order;
// visit returns stop to end early. begin is called before each read from
// page 1, so that what a previous read handed over can be dropped.
func (l *lister[T]) each(ctx context.Context, c *Client, begin func(), visit func([]T) (stop bool)) error {
	for read := 1; ; read++ {
		begin()
		err := l.readOnce(ctx, c, visit)
		ch, ok := err.(changed)
		if !ok {
			return err
		}
		if read == maxListReads {
			ch.Reads = read
			ch.Reason += "; it changed at every read"
			return ch.IncompleteError
		}
	}
}

// shape is what the first page announced, which every page must repeat.
type shape struct{ total, pages, size int }

// diff says how b differs from a.
func (a shape) diff(b shape) string {
	var out []string
	for _, f := range []struct {
		name     string
		was, now int
	}{{"totalCount", a.total, b.total}, {"totalPages", a.pages, b.pages}, {"pageSize", a.size, b.size}} {
		if f.was != f.now {
			out = append(out, fmt.Sprintf("%s changed from %d to %d", f.name, f.was, f.now))
		}
	}
	return strings.Join(out, ", ")
}

// readOnce reads the listing from page 1.
func (l *lister[T]) readOnce(ctx context.Context, c *Client, visit func([]T) bool) error {
	var first shape
	seen := map[int]bool{}
	got := 0
	for n := 1; ; n++ {
		items, s, err := l.page(ctx, c, n)
		if err != nil {
			return err
		}
		if n == 1 {
			first = s
		} else if s != first {
			return l.changed(n, "%s between page 1 and page %d", first.diff(s), n)
		}
		if err := l.checkItems(n, items, seen); err != nil {
			return err
		}
		if err := l.checkCount(n, len(items), got, first); err != nil {
			return err
		}
		got += len(items)
		if visit(items) {
			return nil
		}
		if n >= first.pages {
			if got != first.total {
				return l.incomplete(n, "read %d items, totalCount is %d", got, first.total)
			}
			return nil
		}
	}
}

// page reads page n and checks its envelope.
func (l *lister[T]) page(ctx context.Context, c *Client, n int) ([]T, shape, error) {
	size := l.pageSize
	if size == 0 {
		size = pageSize
	}
	q := url.Values{}
	for k, v := range l.query {
		q[k] = v
	}
	q.Set("page", strconv.Itoa(n))
	q.Set("pageSize", strconv.Itoa(size))
	var env envelope
	var items []T
	k := &call{method: http.MethodGet, route: l.route, path: l.route, query: q, retry: true}
	if err := c.do(ctx, k, readPage(&env, &items, l.decode)); err != nil {
		if inc := (*IncompleteError)(nil); errors.As(err, &inc) {
			inc.Page = n
		}
		return nil, shape{}, err
	}
	s, err := l.shapeOf(n, env, size)
	return items, s, err
}

// shapeOf checks page n's envelope and returns its announced shape.
func (l *lister[T]) shapeOf(n int, env envelope, asked int) (shape, error) {
	switch {
	case env.items == "missing":
		return shape{}, l.incomplete(n, "the answer has no items")
	case env.items == "null":
		return shape{}, l.incomplete(n, "items is null")
	case env.TotalCount == nil || env.TotalPages == nil:
		return shape{}, l.incomplete(n, "the answer has no totalCount or totalPages")
	case env.Page != nil && *env.Page != n:
		return shape{}, l.incomplete(n, "asked for page %d, got page %d", n, *env.Page)
	}
	s := shape{total: *env.TotalCount, pages: *env.TotalPages, size: asked}
	if env.PageSize != nil && *env.PageSize > 0 {
		s.size = *env.PageSize // the page size the server used
	}
	want := (s.total + s.size - 1) / s.size
	switch {
	case s.total < 0:
		return shape{}, l.incomplete(n, "totalCount is %d", s.total)
	case s.total == 0 && (s.pages == 0 || s.pages == 1):
		// An empty list: totalPages 0 or 1, as servers differ.
	case s.pages != want:
		return shape{}, l.incomplete(n, "totalPages %d does not match totalCount %d at pageSize %d", s.pages, s.total, s.size)
	}
	return s, nil
}

// checkItems checks each item; an id seen before means the items moved
// between pages while they were read.
func (l *lister[T]) checkItems(n int, items []T, seen map[int]bool) error {
	for i := range items {
		it := &items[i]
		id := l.id(it)
		if l.check != nil {
			if missing := l.check(it); missing != "" {
				return l.incomplete(n, "item %d (id %d) has %s", i+1, id, missing)
			}
		}
		if id <= 0 {
			return l.incomplete(n, "item %d has no id", i+1)
		}
		if seen[id] {
			return l.changed(n, "item id %d came on two pages (items moved between pages)", id)
		}
		seen[id] = true
	}
	return nil
}

// checkCount checks the number of items on page n; got is the number on
// the pages before it.
func (l *lister[T]) checkCount(n, count, got int, s shape) error {
	switch {
	case count > s.size:
		return l.incomplete(n, "page %d has %d items, more than pageSize %d", n, count, s.size)
	case got+count > s.total:
		return l.incomplete(n, "more items than totalCount %d", s.total)
	case n < s.pages && count < s.size:
		return l.incomplete(n, "page %d of %d has %d items, not %d (a short page before the last)", n, s.pages, count, s.size)
	}
	return nil
}

func (l *lister[T]) incomplete(page int, format string, a ...any) *IncompleteError {
	return &IncompleteError{Method: http.MethodGet, Route: l.route, Listing: listingOf(l.route),
		Page: page, Reason: fmt.Sprintf(format, a...), Reads: 1}
}

func (l *lister[T]) changed(page int, format string, a ...any) error {
	return changed{l.incomplete(page, format, a...)}
}

// listAll reads every item of a list endpoint.
func listAll[T any](ctx context.Context, c *Client, l *lister[T]) ([]T, error) {
	var all []T
	begin := func() { all = []T{} }
	err := l.each(ctx, c, begin, func(items []T) bool {
		all = append(all, items...)
		return false
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}
