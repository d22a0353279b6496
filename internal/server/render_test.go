package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/report"
)

// bigReport is a report of the size of a first apply's, smaller: 2,000
// groups of 100 people (about 15 MB as JSON).
func bigReport() *report.Report {
	r := sampleReport()
	r.Changes = nil
	for g := range 2000 {
		c := report.Change{Kind: report.KindAddMembers, Group: fmt.Sprintf("Team %04d", g), Status: report.StatusApplied}
		for u := range 100 {
			c.Users = append(c.Users, report.User{ID: g*100 + u + 2, Email: fmt.Sprintf("person.%d@example.com", g*100+u), Name: fmt.Sprintf("Person %d", g*100+u)})
		}
		r.Changes = append(r.Changes, c)
	}
	return r
}

// Reports are rendered one at a time: while a client that stopped reading
// holds a large render, another view waits for it instead of rendering a
// second copy beside it; once the first is read, the second is served.
func TestReportRendersOneAtATime(t *testing.T) {
	f := &fakeScheduler{ready: true, latest: bigReport()}
	ts := newServer(t, f, "")
	u, _ := url.Parse(ts.URL)

	// A client that asks for the JSON report and reads only its headers.
	slow, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET /reports/latest?format=json HTTP/1.1\r\nHost: %s\r\n\r\n", u.Host)
	br := bufio.NewReader(slow)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("first view: %v %v", resp, err)
	}

	// A second view cannot be rendered while the first is held.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/reports/latest?format=text", nil)
	if second, err := http.DefaultClient.Do(req); err == nil {
		second.Body.Close()
		t.Fatalf("a second view was served (%s) while the first render was held", second.Status)
	}

	// Once the first is read, the next is served.
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n < 10<<20 {
		t.Fatalf("first view: %d bytes, %v", n, err)
	}
	code, _, body := do(t, http.MethodGet, ts.URL+"/reports/latest?format=text", "")
	if code != http.StatusOK || len(body) < 10<<20 {
		t.Errorf("the view after: %d, %d bytes", code, len(body))
	}
}
