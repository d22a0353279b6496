package server

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/ration"
)

// Wrong sync tokens, through a bearer header or the console's sign-in
// form, are rationed (package ration). Requests that present no token, and
// browsers already signed in (a session cookie is not a guess), are not
// affected.

// rationed answers 429 when no token may be checked now and reports
// whether it did.
func (s *Server) rationed(w http.ResponseWriter, r *http.Request, route string) bool {
	d := s.guesses.Wait()
	if d == 0 {
		return false
	}
	secs := ration.RetryAfter(d)
	s.refused(r, route, "too many wrong sync tokens: token not checked")
	w.Header().Set("Retry-After", secs)
	plain(w, http.StatusTooManyRequests, "too many wrong sync tokens were tried: tokens are checked again in "+secs+" s")
	return true
}

// wrongToken records a wrong token, warning once when the ration runs out.
func (s *Server) wrongToken(r *http.Request, route string) {
	if s.guesses.Wrong() {
		s.o.Logger.Warn("too many wrong sync tokens: tokens are checked at most once per "+ration.Every.String()+" until they stop",
			zap.String("route", route), zap.String("remote", r.RemoteAddr), zap.Int("allowed_burst", ration.Burst))
	}
}

// bearer is what checkBearer found.
type bearer int

const (
	bearerNone     bearer = iota // no Authorization header: not a guess
	bearerRationed               // not checked; the 429 was sent
	bearerWrong                  // counted against the ration
	bearerRight
)

// checkBearer checks r's bearer token against want, within the ration.
func (s *Server) checkBearer(w http.ResponseWriter, r *http.Request, route string, want *credentials) bearer {
	switch {
	case strings.TrimSpace(r.Header.Get("Authorization")) == "":
		return bearerNone
	case s.rationed(w, r, route):
		return bearerRationed
	case bearerMatches(r, &want.hash):
		return bearerRight
	}
	s.wrongToken(r, route)
	return bearerWrong
}
