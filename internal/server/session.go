package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/ration"
)

// How a browser uses the web console where the sync token is required.
//
// A browser cannot send "Authorization: Bearer": the console asks for the
// token once (POST /login, a form) and answers with a session cookie,
// HttpOnly (no script reads it) and SameSite=Strict (no other site's page
// makes the browser send it), Secure when the request came over HTTPS.
// The cookie holds an expiry and an HMAC of it under a key derived from
// the token: nothing to store, and rotating the token (a reload) ends
// every session at once.
//
// The console's forms (approve, run now, log out) also carry a CSRF token,
// an HMAC under a per-process secret of a random cookie of their own, so
// that a write needs both what only the console's page can read and what
// only the browser holds; and, as every write here, no cross-site marks
// (http.CrossOriginProtection). Without a token, on loopback, the same
// form token guards the forms.

const (
	sessionCookie = "syncd_session"
	csrfCookie    = "syncd_csrf"
	sessionLife   = 12 * time.Hour
)

// credentials is what the server derives from the sync token.
type credentials struct {
	hash       [sha256.Size]byte // what a bearer token is compared with
	sessionKey []byte            // signs session cookies
}

func newCredentials(token string) *credentials {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("syncd console session v1"))
	return &credentials{hash: sha256.Sum256([]byte(token)), sessionKey: mac.Sum(nil)}
}

// tokenMatches compares a token typed into the login form in constant time.
func (c *credentials) tokenMatches(got string) bool {
	h := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return subtle.ConstantTimeCompare(h[:], c.hash[:]) == 1
}

func (c *credentials) sign(msg string) string {
	mac := hmac.New(sha256.New, c.sessionKey)
	mac.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// session is a cookie value valid until expires.
func (c *credentials) session(expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	return exp + "." + c.sign(exp)
}

// validSession checks a session cookie's signature and expiry.
func (c *credentials) validSession(value string, now time.Time) bool {
	exp, sig, ok := strings.Cut(value, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(c.sign(exp))) {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && now.Before(time.Unix(n, 0))
}

// hasSession reports whether r carries a valid session cookie for the
// token in force.
func (s *Server) hasSession(r *http.Request) bool {
	c := s.creds.Load()
	if c == nil {
		return false
	}
	ck, err := r.Cookie(sessionCookie)
	return err == nil && c.validSession(ck.Value, time.Now())
}

// secure tells whether the browser reached us over HTTPS (directly, or
// through a proxy that says so): cookies are then marked Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r)})
}

// login checks the token typed into the login form and starts a session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	c := s.creds.Load()
	if c == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther) // no token: nothing to log in to
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	err := r.ParseForm()
	right := func() bool { return err == nil && c.tokenMatches(r.PostFormValue("token")) }
	if v := s.checkToken(w, r, "POST /login", true, right); v != ration.Right {
		if v == ration.Wrong {
			s.refused(r, "POST /login", "wrong sync token")
			s.renderLogin(w, r, http.StatusUnauthorized, "That is not the sync token.")
		}
		return // or answered 429
	}
	setCookie(w, r, sessionCookie, c.session(time.Now().Add(sessionLife)), int(sessionLife/time.Second))
	s.o.Logger.Info("console session started", zap.String("remote", r.RemoteAddr))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the browser's session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// csrfToken returns the form token for r, setting the browser's CSRF
// cookie first if it has none.
func (s *Server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(csrfCookie)
	value := ""
	if err == nil && len(ck.Value) >= 32 {
		value = ck.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		value = base64.RawURLEncoding.EncodeToString(b)
		setCookie(w, r, csrfCookie, value, 0)
	}
	return s.formMAC(value)
}

func (s *Server) formMAC(cookie string) string {
	mac := hmac.New(sha256.New, s.formKey[:])
	mac.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// validForm checks a console form's CSRF token against the cookie.
func (s *Server) validForm(r *http.Request) bool {
	ck, err := r.Cookie(csrfCookie)
	if err != nil || ck.Value == "" {
		return false
	}
	got := r.PostFormValue("csrf")
	return got != "" && hmac.Equal([]byte(got), []byte(s.formMAC(ck.Value)))
}

// consoleGuard lets a request through to a console route when it may see
// the console: as guard does for /reports/latest, and with a session
// cookie besides; a browser without one gets the login form.
func (s *Server) consoleGuard(route string, h http.Handler) http.Handler {
	local := s.localNames(route, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := s.creds.Load()
		switch {
		case want == nil && s.loopback:
			local.ServeHTTP(w, r)
		case want == nil:
			s.render(w, http.StatusForbidden, &consolePage{Title: "syncd", Disabled: true})
		case s.hasSession(r):
			h.ServeHTTP(w, r)
		default:
			switch s.checkBearer(w, r, route, want) {
			case ration.Right:
				h.ServeHTTP(w, r)
			case ration.Rationed: // answered 429
			case ration.None, ration.Wrong:
				if isRead(r) {
					s.renderLogin(w, r, http.StatusUnauthorized, "")
					return
				}
				s.refused(r, route, "no session")
				plain(w, http.StatusUnauthorized, "sign in first: open / in the browser")
			}
		}
	})
}

// consoleForm checks a console form post: no cross-site marks, and the
// form's CSRF token.
func (s *Server) consoleForm(route string, h http.Handler) http.Handler {
	return s.sameSite(route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil || !s.validForm(r) {
			s.refused(r, route, "missing or stale form token")
			plain(w, http.StatusForbidden, "this form has expired or did not come from the console: reload the page and try again")
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// sameSite refuses a write a browser marks as sent by another site.
func (s *Server) sameSite(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := crossOrigin.Check(r); err != nil {
			s.refused(r, route, "cross-site request", zap.String("origin", quote(r.Header.Get("Origin"))),
				zap.String("sec_fetch_site", quote(r.Header.Get("Sec-Fetch-Site"))))
			plain(w, http.StatusForbidden, "cross-site request refused: "+route+" may not be sent by a web page of another site")
			return
		}
		h.ServeHTTP(w, r)
	})
}
