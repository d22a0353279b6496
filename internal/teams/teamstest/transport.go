package teamstest

import (
	"net/http"
	"net/http/httptest"
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
	rec := httptest.NewRecorder()
	rt.e.ServeHTTP(rec, req)
	if err := ctx.Err(); err != nil {
		return nil, err // the caller gave up while the answer was delayed
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
