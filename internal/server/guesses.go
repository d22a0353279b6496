package server

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/ration"
)

// checkBearer checks r's bearer token against want within the ration of
// wrong tokens (package ration), answering 429 itself when it is
// rationed. Requests that present no token, and browsers already signed
// in (a session cookie is not a guess), are not rationed.
func (s *Server) checkBearer(w http.ResponseWriter, r *http.Request, route string, want *credentials) ration.Verdict {
	presented := strings.TrimSpace(r.Header.Get("Authorization")) != ""
	return s.checkToken(w, r, route, presented, func() bool { return bearerMatches(r, &want.hash) })
}

// checkToken is checkBearer for any token presented, e.g. in a form.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request, route string, presented bool, right func() bool) ration.Verdict {
	v, wait, spent := s.guesses.Check(presented, right)
	switch {
	case v == ration.Rationed:
		secs := ration.RetryAfter(wait)
		s.refused(r, route, "too many wrong sync tokens: token not checked")
		w.Header().Set("Retry-After", secs)
		plain(w, http.StatusTooManyRequests, "too many wrong sync tokens were tried: tokens are checked again in "+secs+" s")
	case spent:
		s.o.Logger.Warn("too many wrong sync tokens: tokens are checked at most once per "+ration.Every.String()+" until they stop",
			zap.String("route", route), zap.String("remote", r.RemoteAddr), zap.Int("allowed_burst", ration.Burst))
	}
	return v
}
