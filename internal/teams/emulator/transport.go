package emulator

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// Transport returns a RoundTripper that serves requests in-process,
// without a socket, so the emulator can be embedded in another process
// (the quick start's emulator:SEED.json URL). Any host name is accepted.
func (e *Emulator) Transport() http.RoundTripper { return roundTripper{e} }

type roundTripper struct{ e *Emulator }

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer req.Body.Close() // a RoundTripper must close the body
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec := &recorder{header: http.Header{}}
	rt.e.ServeHTTP(rec, req)
	if err := ctx.Err(); err != nil {
		return nil, err // the caller gave up while the answer was delayed
	}
	return rec.response(req), nil
}

// recorder keeps an answer in memory as a client would receive it: the
// header as it stood when the status was written, then the body. It is
// ours rather than net/http/httptest's so that a binary embedding the
// emulator does not link a testing package.
type recorder struct {
	header http.Header
	sent   http.Header // header at the time the status was written
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status != 0 {
		return // as a server does, the first status stands
	}
	r.status, r.sent = code, r.header.Clone()
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		// An implicit 200: without a Content-Type, net/http sniffs one.
		if _, ok := r.header["Content-Type"]; !ok {
			r.header.Set("Content-Type", http.DetectContentType(b))
		}
		r.WriteHeader(http.StatusOK)
	}
	return r.body.Write(b)
}

func (r *recorder) response(req *http.Request) *http.Response {
	r.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200
	return &http.Response{
		Status:        fmt.Sprintf("%03d %s", r.status, http.StatusText(r.status)),
		StatusCode:    r.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        r.sent,
		Body:          io.NopCloser(bytes.NewReader(r.body.Bytes())),
		ContentLength: int64(r.body.Len()),
		Request:       req,
	}
}
