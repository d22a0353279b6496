package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/ration"
)

// Who may use the routes that name people or start a run.
//
// With a sync token configured, the bearer token is the whole rule: a web
// page cannot make a browser send an Authorization header to another site
// without a CORS preflight, which syncd never grants.
//
// Without one, only a loopback listener serves them, to "local users". A
// web page open in a local user's browser is local too, so two more rules
// keep it out:
//   - DNS rebinding: the page's own host name is made to resolve to
//     127.0.0.1, and the browser then lets the page read the answers. The
//     request still carries that name in Host, so only loopback names and
//     addresses are served.
//   - Cross-site writes: a page may send a POST anywhere (a form, or fetch
//     in no-cors mode) without reading the answer. Browsers mark such
//     requests with Sec-Fetch-Site or Origin, and a form can only send
//     form or text content types; POST therefore needs no cross-site mark
//     and Content-Type: application/json, which a form cannot send and a
//     script can only send after a preflight.
//
// The probes and /metrics carry no personal data and stay open to any Host,
// as Kubernetes and Prometheus address the pod by IP or service name.

// guard lets a request through to h when it may have it (see above).
func (s *Server) guard(route string, h http.Handler) http.Handler {
	local := s.localNames(route, s.sameSiteWrites(route, h))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := s.creds.Load()
		switch {
		case want == nil && s.loopback:
			local.ServeHTTP(w, r)
		case want == nil:
			plain(w, http.StatusForbidden, route+" is disabled: "+s.remote+" and no "+
				"server.sync_token is set. Set server.sync_token_file to enable it (requests then send "+
				"\"Authorization: Bearer <token>\").")
		case route == sessionRoute && s.hasSession(r):
			// The console's session cookie (session.go) opens what it
			// links to; writes and the profiler keep to the bearer token.
			h.ServeHTTP(w, r)
		default:
			switch s.checkBearer(w, r, route, want) {
			case ration.None:
				s.unauthorized(w, r, route, "missing bearer token")
			case ration.Wrong:
				s.unauthorized(w, r, route, "invalid bearer token")
			case ration.Right:
				h.ServeHTTP(w, r)
			}
		}
	})
}

// sessionRoute is the one guarded route the console links to.
const sessionRoute = "GET /reports/latest"

func (s *Server) unauthorized(w http.ResponseWriter, r *http.Request, route, why string) {
	s.refused(r, route, why)
	w.Header().Set("WWW-Authenticate", `Bearer realm="syncd"`)
	plain(w, http.StatusUnauthorized, "a valid bearer token is required")
}

// localNames serves h only to requests whose Host is a loopback name or
// address while the server listens on loopback without a token; with a
// token, or on another address, guard's other rules apply instead.
func (s *Server) localNames(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.loopback && s.creds.Load() == nil && forwarded(r) {
			s.refused(r, route, "request came through a proxy")
			plain(w, http.StatusForbidden, "refused: the request came through a proxy (it carries Forwarded or "+
				"X-Forwarded-For), so it may come from anywhere; without server.sync_token syncd serves only "+
				"clients on this machine. Set server.sync_token_file (and server.public_url).")
			return
		}
		if s.loopback && s.creds.Load() == nil && !loopbackHost(r.Host) {
			s.refused(r, route, "Host is not a loopback name", zap.String("host", quote(r.Host)))
			plain(w, http.StatusMisdirectedRequest, "Host "+quote(r.Host)+" refused: without server.sync_token, syncd "+
				"answers only requests for localhost, 127.0.0.1 or [::1] (another name may be a web page's, "+
				"resolved to this machine to read the report). Use http://127.0.0.1:PORT/, or set server.sync_token_file.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

var crossOrigin = http.NewCrossOriginProtection()

// sameSiteWrites refuses a state-changing request that a web page of
// another site may have sent (see above); reads pass.
func (s *Server) sameSiteWrites(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			h.ServeHTTP(w, r)
			return
		}
		if err := crossOrigin.Check(r); err != nil {
			s.refused(r, route, "cross-site request", zap.String("origin", quote(r.Header.Get("Origin"))),
				zap.String("sec_fetch_site", quote(r.Header.Get("Sec-Fetch-Site"))))
			plain(w, http.StatusForbidden, "cross-site request refused: "+route+" may not be sent by a web page of another site")
			return
		}
		if !isJSON(r.Header.Get("Content-Type")) {
			s.refused(r, route, "not application/json", zap.String("content_type", quote(r.Header.Get("Content-Type"))))
			plain(w, http.StatusUnsupportedMediaType, route+" needs the header \"Content-Type: application/json\" "+
				"(which a web page's form cannot send), e.g. curl -X POST -H 'Content-Type: application/json' "+
				"http://"+r.Host+r.URL.Path+" (with server.sync_token set, \"Authorization: Bearer <token>\" instead)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func isRead(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func (s *Server) refused(r *http.Request, route, why string, fields ...zap.Field) {
	s.o.Logger.Info("request refused: "+why,
		append([]zap.Field{zap.String("route", route), zap.String("remote", r.RemoteAddr)}, fields...)...)
}

// bearerMatches compares the bearer token in constant time; hashing first
// keeps the comparison independent of the token's length too.
func bearerMatches(r *http.Request, want *[sha256.Size]byte) bool {
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	h := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(h[:], want[:]) == 1
}

// forwarded tells a request a proxy passed on: it may come from anywhere,
// though it reaches syncd from loopback.
func forwarded(r *http.Request) bool {
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return false
}

// LocalOnly reports whether the server, listening on listen and reached
// at publicURL (server.public_url, "" when unset), serves local users
// only, and when not, why not. A public URL naming another host than this
// one means a proxy passes requests on from elsewhere: they would all come
// from loopback, with the Host the proxy sets (nginx sends its upstream's,
// 127.0.0.1:PORT, unless told otherwise).
func LocalOnly(listen, publicURL string) (bool, string) {
	if !IsLoopback(listen) {
		return false, "server.listen is not a loopback address"
	}
	if publicURL == "" {
		return true, ""
	}
	if u, err := url.Parse(publicURL); err == nil && loopbackName(u.Hostname()) {
		return true, ""
	}
	return false, "server.public_url names another host, so syncd is reached through a proxy"
}

// IsLoopback reports whether listen (HOST:PORT) accepts connections from
// this host only: a loopback IP or "localhost". Any other host name counts
// as reachable from elsewhere, since it may resolve to anything.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	host, _, _ = strings.Cut(host, "%") // an IPv6 zone
	return loopbackName(host)
}

// loopbackHost reports whether a Host header (HOST, HOST:PORT, [IPv6] or
// [IPv6]:PORT) names this machine by a loopback name or address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return loopbackName(host)
}

// loopbackName: "localhost" (any case, a trailing dot allowed) or a
// loopback IP (127.0.0.0/8, ::1, ::ffff:127.x.y.z).
func loopbackName(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
