// Package spectest checks HTTP traffic against the official Teams API v3
// OpenAPI document (openapi.json) with kin-openapi. It is for tests only
// and is kept out of the syncd binary.
package spectest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// SpecPath returns $SYNCD_OPENAPI, else <repo root>/../shared/teams-api-v3/openapi.json,
// the repo root being the nearest directory above the working directory
// that holds go.mod. When the file is missing the test is skipped with one
// line saying where to get it, unless SYNCD_REQUIRE_SERVERS is set (CI),
// where it fails.
func SpecPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("SYNCD_OPENAPI"); p != "" {
		if _, err := os.Stat(p); err != nil {
			unavailable(tb, fmt.Sprintf("SYNCD_OPENAPI: %v", err))
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("spectest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "..", "shared", "teams-api-v3", "openapi.json")
			if _, err := os.Stat(p); err != nil {
				unavailable(tb, "no ../shared/teams-api-v3/openapi.json beside the repository")
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			unavailable(tb, "no go.mod above the working directory")
		}
		dir = parent
	}
}

// unavailable skips a test that needs the OpenAPI document, or fails it
// where every test must run.
func unavailable(tb testing.TB, why string) {
	tb.Helper()
	msg := "spectest: the Teams API OpenAPI document is not available (" + why +
		"); set SYNCD_OPENAPI to a copy of openapi.json (API v3, from StackExchange/StackOverflowSDK) to run this test"
	if os.Getenv("SYNCD_REQUIRE_SERVERS") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// specHost is the server every checked request is mapped to: the spec's
// own server is a real Enterprise site, so doc.Servers is rewritten to a
// fixed base and each request's URL to match it.
const specHost = "spectest.invalid"

type spec struct {
	doc     *openapi3.T
	router  routers.Router
	problem *openapi3.Schema
}

var (
	specsMu sync.Mutex
	specs   = map[string]*spec{} // by path: loading the 475 kB document once
)

func load(tb testing.TB) *spec {
	tb.Helper()
	path := SpecPath(tb)
	specsMu.Lock()
	defer specsMu.Unlock()
	if s, ok := specs[path]; ok {
		return s
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		tb.Fatalf("spectest: load %s: %v", path, err)
	}
	// doc.Validate is skipped on purpose: the document's own examples
	// (zone-less date-times) fail it, and the schemas are what matter.
	doc.Servers = openapi3.Servers{{URL: "http://" + specHost + "/api/v3"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatalf("spectest: router: %v", err)
	}
	ref := doc.Components.Schemas["ProblemDetails"]
	if ref == nil || ref.Value == nil {
		tb.Fatalf("spectest: %s has no ProblemDetails schema", path)
	}
	s := &spec{doc: doc, router: router, problem: ref.Value}
	specs[path] = s
	return s
}

// Wrap returns h wrapped so that every request and every response is
// validated against openapi.json; violations are reported with tb.Errorf
// naming the method, the path and the violation. Use it where the
// requests are meant to be valid (a client under test).
func Wrap(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	return &validator{tb: tb, spec: load(tb), next: h, checkRequests: true}
}

// WrapResponses is Wrap without the request checks, for tests that send
// invalid requests on purpose to see the server refuse them. Responses are
// still validated; a request to a path or method the spec does not have
// must be answered 404 or 405.
func WrapResponses(tb testing.TB, h http.Handler) http.Handler {
	tb.Helper()
	return &validator{tb: tb, spec: load(tb), next: h}
}

// Transport returns next wrapped so that every exchange through it (a
// client's requests and the answers) is validated against openapi.json,
// as Wrap does on the server side; for servers reached without a handler
// to wrap, such as the emulator's in-process Transport or a separate
// process. Violations are reported with tb.Errorf.
func Transport(tb testing.TB, next http.RoundTripper) http.RoundTripper {
	tb.Helper()
	load(tb)
	return &checkedTransport{tb: tb, next: next}
}

type checkedTransport struct {
	tb   testing.TB
	next http.RoundTripper
}

func (t *checkedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	res, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(data))
	for _, msg := range Check(t.tb, req, body, res.StatusCode, res.Header, data, true) {
		t.tb.Errorf("spectest: %s %s: %s", req.Method, req.URL.RequestURI(), msg)
	}
	return res, nil
}

type validator struct {
	tb            testing.TB
	spec          *spec
	next          http.Handler
	checkRequests bool
}

func (v *validator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		v.tb.Errorf("spectest: %s %s: reading the request body: %v", r.Method, r.URL.Path, err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w}
	v.next.ServeHTTP(rec, r)
	for _, msg := range v.check(r, body, rec) {
		v.tb.Errorf("spectest: %s %s: %s", r.Method, r.URL.RequestURI(), msg)
	}
}

// Check validates one exchange and returns the violations; Wrap and
// WrapResponses report them. Exported for tests that hold a request and
// response already (for instance through a RoundTripper).
func Check(tb testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte, checkRequest bool) []string {
	tb.Helper()
	v := &validator{tb: tb, spec: load(tb), checkRequests: checkRequest}
	return v.check(req, reqBody, &recorder{code: status, header: header, body: *bytes.NewBuffer(respBody)})
}

func (v *validator) check(r *http.Request, reqBody []byte, rec *recorder) []string {
	if r.Method == http.MethodOptions {
		return nil // a CORS preflight, not an API operation
	}
	ctx := context.Background()
	specReq, route, pathParams, err := v.findRoute(r, reqBody)
	if err != nil {
		if v.checkRequests {
			return []string{fmt.Sprintf("no such operation in the spec (%v)", err)}
		}
		if rec.status() != http.StatusNotFound && rec.status() != http.StatusMethodNotAllowed {
			return []string{fmt.Sprintf("answered %d to an operation the spec does not have (%v); want 404 or 405", rec.status(), err)}
		}
		return nil
	}
	opts := &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerAuth}
	opts.WithCustomSchemaErrorFunc(schemaMessage)
	respOpts := &openapi3filter.Options{MultiError: true}
	respOpts.WithCustomSchemaErrorFunc(schemaMessage)
	in := &openapi3filter.RequestValidationInput{Request: specReq, PathParams: pathParams, Route: route, Options: opts}
	var out []string
	if v.checkRequests {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			out = append(out, "request: "+oneLine(err))
		}
	}
	respIn := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.status(),
		Header:                 rec.headers(),
		Body:                   io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		Options:                respOpts,
	}
	if err := openapi3filter.ValidateResponse(ctx, respIn); err != nil {
		out = append(out, fmt.Sprintf("response %d: %s", rec.status(), oneLine(err)))
	}
	out = append(out, v.checkUndeclared(route, rec)...)
	return out
}

// findRoute maps the request onto the spec and finds its operation. When
// only responses are checked, a path in another letter case or with a
// trailing slash (which ASP.NET routing accepts) is retried in its
// canonical form.
func (v *validator) findRoute(r *http.Request, body []byte) (*http.Request, *routers.Route, map[string]string, error) {
	specReq, err := specRequest(r, r.URL.EscapedPath(), body)
	if err == nil {
		var route *routers.Route
		var params map[string]string
		if route, params, err = v.spec.router.FindRoute(specReq); err == nil {
			return specReq, route, params, nil
		}
	}
	if v.checkRequests {
		return nil, nil, nil, err
	}
	canon := strings.TrimSuffix(strings.ToLower(r.URL.EscapedPath()), "/")
	specReq, err2 := specRequest(r, canon, body)
	if err2 != nil {
		return nil, nil, nil, err
	}
	route, params, err2 := v.spec.router.FindRoute(specReq)
	if err2 != nil {
		return nil, nil, nil, err
	}
	return specReq, route, params, nil
}

// checkUndeclared covers statuses the operation does not list (429 on
// most operations, 404 on PUT, 415): kin-openapi lets those through, so an
// error body is checked against ProblemDetails here, and 401 must stay
// text/plain everywhere.
func (v *validator) checkUndeclared(route *routers.Route, rec *recorder) []string {
	status := rec.status()
	if route.Operation.Responses.Status(status) != nil || status < 400 || status >= 500 {
		return nil
	}
	ct, _, _ := mime.ParseMediaType(rec.headers().Get("Content-Type"))
	if status == http.StatusUnauthorized {
		if ct != "text/plain" {
			return []string{fmt.Sprintf("response 401: Content-Type %q, want text/plain", ct)}
		}
		return nil
	}
	if rec.body.Len() == 0 {
		return nil // ASP.NET's 405 and bare 404 have no body
	}
	if ct != "application/json" && !strings.HasSuffix(ct, "+json") {
		return []string{fmt.Sprintf("response %d: Content-Type %q, want application/json ProblemDetails", status, ct)}
	}
	var body any
	if err := json.Unmarshal(rec.body.Bytes(), &body); err != nil {
		return []string{fmt.Sprintf("response %d: body is not JSON: %v", status, err)}
	}
	if err := v.spec.problem.VisitJSON(body, openapi3.MultiErrors(), openapi3.SetSchemaErrorMessageCustomizer(schemaMessage)); err != nil {
		return []string{fmt.Sprintf("response %d: not a ProblemDetails: %s", status, oneLine(err))}
	}
	return nil
}

// specRequest maps a request on any of the three base URL forms onto the
// spec's server: /api/v3/... and /api/v3/teams/{team}/... are the spec's
// own paths; the Business form /v3/teams/{team}/... is the same operation
// as /api/v3/teams/{team}/....
func specRequest(r *http.Request, p string, body []byte) (*http.Request, error) {
	switch {
	case strings.HasPrefix(p, "/api/v3/"):
	case strings.HasPrefix(p, "/v3/teams/"):
		p = "/api" + p
	default:
		return nil, fmt.Errorf("path is on none of the base URL forms /api/v3, /api/v3/teams/{team}, /v3/teams/{team}")
	}
	u := &url.URL{Scheme: "http", Host: specHost, RawQuery: r.URL.RawQuery}
	path, err := url.PathUnescape(p)
	if err != nil {
		return nil, fmt.Errorf("bad path escaping: %v", err)
	}
	u.Path, u.RawPath = path, p
	req, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = r.Header.Clone()
	// The spec lists text/json, which kin-openapi cannot decode, and the
	// media range application/*+json, which it only matches literally:
	// check such bodies as application/json (the same schema).
	if mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type")); err == nil &&
		(mt == "text/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json") && mt != "application/json-patch+json") {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// bearerAuth satisfies the spec's oauth2 requirement with any bearer token
// (the emulator, not the spec, decides whether it is valid).
func bearerAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, tok, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// schemaMessage says where and what, without kin-openapi's dump of the
// whole schema and value.
func schemaMessage(err *openapi3.SchemaError) string {
	return fmt.Sprintf("at /%s: %s", strings.Join(err.JSONPointer(), "/"), err.Reason)
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// recorder passes the response through while keeping a copy.
type recorder struct {
	http.ResponseWriter
	code   int
	header http.Header // set when no ResponseWriter (Check)
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (r *recorder) headers() http.Header {
	if r.ResponseWriter != nil {
		return r.ResponseWriter.Header()
	}
	return r.header
}
