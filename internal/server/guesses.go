package server

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Wrong sync tokens are rationed, so that a weak token cannot be guessed
// through the console's sign-in form or a bearer header at network speed.
// A burst of guessBurst wrong tokens is allowed, then one per guessEvery;
// while none is left, every token presented (right or wrong) is answered
// 429 unchecked: answering a right one would tell a guesser it was right.
// Requests that present no token, and browsers already signed in (their
// session cookie is not a guess), are not affected. The ration is the
// server's, not per address: behind a proxy every caller has its address.
const (
	guessBurst = 10
	guessEvery = 6 * time.Second
)

type guessRation struct {
	mu     sync.Mutex
	now    func() time.Time
	left   float64 // wrong tokens that may still be tried
	filled time.Time
}

func newGuessRation(now func() time.Time) *guessRation {
	return &guessRation{now: now, left: guessBurst, filled: now()}
}

// refill adds what the time since the last refill earned; g.mu is held.
func (g *guessRation) refill() {
	t := g.now()
	g.left = math.Min(guessBurst, g.left+t.Sub(g.filled).Seconds()/guessEvery.Seconds())
	g.filled = t
}

// wait is how long until a token may be checked again; 0: now.
func (g *guessRation) wait() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refill()
	if g.left >= 1 {
		return 0
	}
	return time.Duration((1 - g.left) * float64(guessEvery))
}

// wrong spends one guess; it reports whether that was the last one left.
func (g *guessRation) wrong() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refill()
	g.left = math.Max(g.left-1, -guessBurst) // concurrent guesses may overdraw; bounded
	return g.left < 1 && g.left >= 0
}

// rationed answers 429 when no token may be checked now and reports
// whether it did.
func (s *Server) rationed(w http.ResponseWriter, r *http.Request, route string) bool {
	d := s.guesses.wait()
	if d == 0 {
		return false
	}
	secs := int(math.Ceil(d.Seconds()))
	s.refused(r, route, "too many wrong sync tokens: token not checked")
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	plain(w, http.StatusTooManyRequests, "too many wrong sync tokens were tried: tokens are checked again in "+strconv.Itoa(secs)+" s")
	return true
}

// wrongToken records a wrong token, warning once when the ration runs out.
func (s *Server) wrongToken(r *http.Request, route string) {
	if s.guesses.wrong() {
		s.o.Logger.Warn("too many wrong sync tokens: tokens are checked at most once per "+guessEvery.String()+" until they stop",
			zap.String("route", route), zap.String("remote", r.RemoteAddr), zap.Int("allowed_burst", guessBurst))
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
	case r.Header.Get("Authorization") == "":
		return bearerNone
	case s.rationed(w, r, route):
		return bearerRationed
	case bearerMatches(r, &want.hash):
		return bearerRight
	}
	s.wrongToken(r, route)
	return bearerWrong
}
