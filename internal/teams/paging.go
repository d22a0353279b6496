package teams

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// pageLimit is the most pages a listing may take, from the first page's
// totalCount: the pages it announces plus room for items added while we
// read. A server that keeps returning items past that is not followed.
func pageLimit(totalCount int) int {
	pages := (max(0, totalCount) + pageSize - 1) / pageSize
	return pages + 2 + pages/10
}

// eachPage reads a list endpoint page by page (pageSize=100) and hands
// each page to fn, until the last page, an empty page, or fn returns
// stop. An empty collection may announce totalPages 0 or 1.
func eachPage[T any](ctx context.Context, c *Client, route string, query url.Values, fn func(*Page[T]) (stop bool)) error {
	limit := 1
	for page := 1; ; page++ {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(page))
		q.Set("pageSize", strconv.Itoa(pageSize))
		var p Page[T]
		k := &call{method: "GET", route: route, path: route, query: q, retry: true}
		if err := c.do(ctx, k, &p); err != nil {
			return err
		}
		if p.Page != 0 && p.Page != page {
			return fmt.Errorf("teams: GET %s: asked for page %d, got page %d", route, page, p.Page)
		}
		if page == 1 {
			limit = pageLimit(p.TotalCount)
		}
		if len(p.Items) == 0 || fn(&p) || page >= p.TotalPages {
			return nil
		}
		if page >= limit {
			return fmt.Errorf("teams: GET %s: still more pages after %d (totalCount was %d): listing abandoned",
				route, page, p.TotalCount)
		}
	}
}

// listAll reads every page of a list endpoint, dropping an item seen
// twice (items shift between pages when the collection changes meanwhile).
func listAll[T any](ctx context.Context, c *Client, route string, id func(T) int) ([]T, error) {
	var all []T
	seen := map[int]bool{}
	err := eachPage(ctx, c, route, nil, func(p *Page[T]) bool {
		if all == nil {
			all = make([]T, 0, min(max(p.TotalCount, len(p.Items)), 1<<20))
		}
		for _, it := range p.Items {
			if k := id(it); !seen[k] {
				seen[k] = true
				all = append(all, it)
			}
		}
		return false
	})
	if err != nil {
		return nil, err
	}
	if all == nil {
		all = []T{}
	}
	return all, nil
}
