package server_test

import (
	"context"
	"net/http"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/report"
)

// blockingScheduler is a fakeScheduler whose Latest waits for release,
// counting its callers: a render that takes its time.
type blockingScheduler struct {
	*fakeScheduler
	release chan struct{}
	calls   atomic.Int32
}

func (b *blockingScheduler) Latest() *report.Report {
	b.calls.Add(1)
	<-b.release
	return b.fakeScheduler.Latest()
}

// Reports are rendered one at a time: while one view is being rendered
// (a first apply's JSON form takes about 200 MB until its client has read
// it), another waits for it instead of rendering a second copy beside it,
// and gives up when its client does; once the first is done, the next is
// served.
func TestReportRendersOneAtATime(t *testing.T) {
	b := &blockingScheduler{fakeScheduler: &fakeScheduler{ready: true, latest: sampleReport()}, release: make(chan struct{})}
	ts, _, _ := newServerWith(t, b, "127.0.0.1:9184", "")
	var once gosync.Once
	release := func() { once.Do(func() { close(b.release) }) }
	t.Cleanup(release) // before the server closes, whatever failed

	first := make(chan int)
	go func() {
		resp, err := http.Get(ts.URL + "/reports/latest?format=json")
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	for b.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/reports/latest?format=text", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a second view was served (%s) while the first was rendered", resp.Status)
	}
	if n := b.calls.Load(); n != 1 {
		t.Fatalf("%d renders at once, want 1", n)
	}

	release()
	if code := <-first; code != http.StatusOK {
		t.Fatalf("first view: %d", code)
	}
	if code, _, body := do(t, http.MethodGet, ts.URL+"/reports/latest?format=text", ""); code != http.StatusOK || body == "" {
		t.Errorf("the view after: %d %q", code, body)
	}
}
