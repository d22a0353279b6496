package faultproxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"
)

// Status answers code with no body, without forwarding: a 5xx from a
// gateway in front of the API, or a 429.
func Status(code int) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.WriteHeader(code)
	}
}

// Answer answers status with a fixed body, without forwarding; an empty
// contentType sends none.
func Answer(status int, contentType, body string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// EmptyBody answers 200 application/json with no body, without forwarding.
func EmptyBody() Fault { return Answer(http.StatusOK, "application/json", "") }

// Redirect answers a 3xx to location, without forwarding.
func Redirect(code int, location string) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Location", location)
		w.WriteHeader(code)
	}
}

// Reset drops the connection without an answer and without forwarding
// (TCP RST where the connection allows it).
func Reset() Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		_, _ = io.Copy(io.Discard, r.Body)
		reset(w)
	}
}

// Applied forwards the request, so that a write lands, throws the API's
// answer away and lets f answer instead: Applied(Status(502)) is a gateway
// that lost the answer, Applied(Answer(201, "application/json", "")) an
// empty one, Applied(Hang()) one that never comes.
func Applied(f Fault) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(httptest.NewRecorder(), r)
		f(w, r, next)
	}
}

// LoseAnswer is Applied(Reset()): the write lands, the connection drops.
func LoseAnswer() Fault { return Applied(Reset()) }

// Hang never answers and never forwards: the client sees its own timeout.
func Hang() Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}
}

// Hold forwards the request only once release is closed, whether the
// client is still waiting or not: a write that lands late. Proxy.Wait
// tells when it has landed.
func Hold(release <-chan struct{}) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		<-release
		next.ServeHTTP(w, r)
	}
}

// Delay forwards the request after d, whether the client is still
// waiting or not.
func Delay(d time.Duration) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		time.Sleep(d)
		next.ServeHTTP(w, r)
	}
}

// Before calls fn, then forwards the request: fn may change the API's
// data between two page reads.
func Before(fn func()) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		fn()
		next.ServeHTTP(w, r)
	}
}

// Insert POSTs body to the request's path with the request's
// Authorization, then forwards the request: on GET /user-groups, a group
// created in the UI while a listing is being read.
func Insert(body string) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		ins := httptest.NewRequestWithContext(r.Context(), http.MethodPost, r.URL.Path, strings.NewReader(body))
		ins.Header.Set("Authorization", r.Header.Get("Authorization"))
		ins.Header.Set("Content-Type", "application/json")
		next.ServeHTTP(httptest.NewRecorder(), ins)
		next.ServeHTTP(w, r)
	}
}

// Hide deletes the items with these ids from the collection at the
// request's path, from this request on: every later list answer of that
// path leaves them out and is cut into pages again, so the items after
// them move one page position up, as when a group is deleted in the UI
// while a listing is being read. Only list answers see the deletion.
func Hide(ids ...int) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if v, ok := next.(view); ok {
			v.p.hide(r.URL.Path, ids)
		}
		next.ServeHTTP(w, r)
	}
}

// Huge answers 200 with a list page (also a JSON object) whose one item
// has a description of n bytes, streamed without holding it in memory.
func Huge(n int64) Fault {
	return func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"totalCount":1,"pageSize":100,"page":1,"totalPages":1,"items":[{"id":1,"name":"huge","description":"`)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for left := n; left > 0; left -= int64(len(chunk)) {
			if _, err := w.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
				return // the client gave up
			}
		}
		io.WriteString(w, `","users":[]}]}`)
	}
}

// Rewrite forwards the request and lets fn change a 2xx JSON object
// answer before it is sent on; other answers pass unchanged.
func Rewrite(fn func(doc map[string]any)) Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var doc map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if rec.Code/100 == 2 && dec.Decode(&doc) == nil {
			fn(doc)
			body, _ = json.Marshal(doc)
		}
		copyHeader(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(body)
	}
}

// NullItems answers the page with "items": null.
func NullItems() Fault { return Rewrite(func(d map[string]any) { d["items"] = nil }) }

// EmptyItems answers the page with "items": [] and its totalCount as it was.
func EmptyItems() Fault { return Rewrite(func(d map[string]any) { d["items"] = []any{} }) }

// NoItems answers the page without its "items" member.
func NoItems() Fault { return Rewrite(func(d map[string]any) { delete(d, "items") }) }

// DropItems leaves the last n items out of the page (a short page); its
// totalCount stays as it was.
func DropItems(n int) Fault {
	return Rewrite(func(d map[string]any) {
		if items, ok := d["items"].([]any); ok {
			d["items"] = items[:max(0, len(items)-n)]
		}
	})
}

// AddTotal adds delta to the page's totalCount, leaving its items and
// totalPages as they were.
func AddTotal(delta int) Fault {
	return Rewrite(func(d map[string]any) {
		if n, ok := d["totalCount"].(json.Number); ok {
			if v, err := n.Int64(); err == nil {
				d["totalCount"] = v + int64(delta)
			}
		}
	})
}

// NoContentType forwards the request and drops the answer's Content-Type
// header, as some real API answers come.
func NoContentType() Fault {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		copyHeader(w.Header(), rec.Header())
		w.Header().Del("Content-Type")
		w.Header()["Content-Type"] = nil // keep net/http from sniffing one
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}
}

// reset closes the connection under w, with a TCP RST when it can.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: a connection fault needs a real server (httptest.NewServer)")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// copyHeader copies src into dst, leaving out Content-Length: a changed
// body gets its own.
func copyHeader(dst, src http.Header) {
	for k, v := range src {
		if k != "Content-Length" {
			dst[k] = append([]string(nil), v...)
		}
	}
}
