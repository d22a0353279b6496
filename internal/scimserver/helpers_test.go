package scimserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/zap/zaptest"
)

const testToken = "receiver-token-4f1c"

// receiver is a receiver served on a real HTTP server, mounted the way
// the daemon mounts it.
type receiver struct {
	t        testing.TB
	srv      *httptest.Server
	store    *Store
	stateDir string
	changes  atomic.Int64
	base     string // .../scim/entra/v2
}

func newReceiver(tb testing.TB) *receiver {
	tb.Helper()
	dir := tb.TempDir()
	return newReceiverAt(tb, dir)
}

func newReceiverAt(tb testing.TB, dir string) *receiver {
	tb.Helper()
	store, err := OpenStore(StorePath(dir, "entra"))
	if err != nil {
		tb.Fatal(err)
	}
	rc := &receiver{t: tb, store: store, stateDir: dir}
	mux := http.NewServeMux()
	mux.Handle("/scim/entra/v2/", NewHandler("entra", store, testToken, func() { rc.changes.Add(1) }, zaptest.NewLogger(tb)))
	rc.srv = httptest.NewServer(mux)
	tb.Cleanup(rc.srv.Close)
	rc.base = rc.srv.URL + "/scim/entra/v2"
	return rc
}

type response struct {
	status int
	header http.Header
	body   object
	raw    string
}

// do sends one request with the token; path is relative to the SCIM base.
func (rc *receiver) do(method, path, body string) response {
	rc.t.Helper()
	return rc.doAuth(method, path, body, "Bearer "+testToken)
}

func (rc *receiver) doAuth(method, path, body, auth string) response {
	rc.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rc.base+path, rd)
	if err != nil {
		rc.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		rc.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &r.body); err != nil {
			rc.t.Fatalf("%s %s: body is not JSON: %v: %s", method, path, err, data)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/scim+json" {
			rc.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return r
}

// must checks the status and returns the response.
func (rc *receiver) must(status int, method, path, body string) response {
	rc.t.Helper()
	r := rc.do(method, path, body)
	if r.status != status {
		rc.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, status, r.raw)
	}
	return r
}

// wantError checks an RFC 7644 §3.12 error body.
func wantError(tb testing.TB, r response, status int, scimType string) {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	schemas, _ := r.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != errorSchema {
		tb.Errorf("error schemas = %v", r.body["schemas"])
	}
	if r.body["status"] != itoa(status) {
		tb.Errorf("error status = %v, want string %q", r.body["status"], itoa(status))
	}
	if got, _ := r.body["scimType"].(string); got != scimType {
		tb.Errorf("scimType = %q, want %q (%s)", got, scimType, r.raw)
	}
	if d, _ := r.body["detail"].(string); d == "" {
		tb.Error("error without detail")
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// str digs a string out of a decoded body: str(o, "name", "familyName").
func str(o object, path ...string) string {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(object)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	s, _ := cur.(string)
	return s
}

func memberValues(o object) []string {
	var out []string
	for _, m := range elements(o["members"]) {
		if k, ok := valueKey(m); ok {
			out = append(out, k)
		}
	}
	return out
}

func listTotal(tb testing.TB, r response) int {
	tb.Helper()
	schemas, _ := r.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != listSchema {
		tb.Fatalf("not a ListResponse: %s", r.raw)
	}
	n, _ := r.body["totalResults"].(float64)
	return int(n)
}

func resources(r response) []object {
	var out []object
	for _, x := range elements(r.body["Resources"]) {
		if m, ok := x.(object); ok {
			out = append(out, m)
		}
	}
	return out
}

func q(filter string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22").Replace(filter)
}
